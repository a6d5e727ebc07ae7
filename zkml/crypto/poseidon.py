"""Poseidon over BN254's scalar field with circomlib's parameters (x^5, 8 full rounds, the
partial rounds of circomlib's N_ROUNDS_P, width t = inputs + 1, initial state 0).

The round constants and the Cauchy MDS matrix are regenerated here from their algorithm: the
Grain LFSR of the Poseidon reference (``generate_parameters_grain.sage``: field 1, S-box 0,
n = 254, t, R_F, R_P, then thirty 1s; 160 warm-up clocks; self-shrinking output), round
constants by rejection below r, then 2t further draws as x_i, y_j with M[i][j] = 1/(x_i + y_j).
tests/test_poseidon.py checks them, and the hash, against circomlibjs.
"""

from __future__ import annotations

from functools import lru_cache

from zkml.crypto.bn254 import R

FULL_ROUNDS = 8
PARTIAL_ROUNDS = [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68]  # t = 2..17
FIELD_BITS = 254


class _Grain:
    def __init__(self, t: int, rounds_f: int, rounds_p: int):
        bits: list[int] = []
        for value, width in ((1, 2), (0, 4), (FIELD_BITS, 12), (t, 12), (rounds_f, 10), (rounds_p, 10)):
            bits += [(value >> (width - 1 - i)) & 1 for i in range(width)]
        bits += [1] * 30
        self.state = bits
        for _ in range(160):
            self._clock()

    def _clock(self) -> int:
        s = self.state
        bit = s[62] ^ s[51] ^ s[38] ^ s[23] ^ s[13] ^ s[0]
        s.pop(0)
        s.append(bit)
        return bit

    def bit(self) -> int:
        """Self-shrinking: read pairs, keep the second bit when the first is 1."""
        while True:
            first = self._clock()
            second = self._clock()
            if first:
                return second

    def field_element(self, reject: bool) -> int:
        while True:
            x = 0
            for _ in range(FIELD_BITS):
                x = (x << 1) | self.bit()
            if not reject:
                return x % R
            if x < R:
                return x


@lru_cache(maxsize=None)
def constants(t: int) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]:
    """(round constants, flattened round by round; MDS matrix) for width t."""
    if not 2 <= t <= len(PARTIAL_ROUNDS) + 1:
        raise ValueError(f"Poseidon width {t} is outside 2..{len(PARTIAL_ROUNDS) + 1}")
    rp = PARTIAL_ROUNDS[t - 2]
    g = _Grain(t, FULL_ROUNDS, rp)
    rc = tuple(g.field_element(reject=True) for _ in range((FULL_ROUNDS + rp) * t))
    while True:
        xy = [g.field_element(reject=False) for _ in range(2 * t)]
        if len(set(xy)) == 2 * t and all((x + y) % R for x in xy[:t] for y in xy[t:]):
            break
    xs, ys = xy[:t], xy[t:]
    mds = tuple(tuple(pow((x + y) % R, -1, R) for y in ys) for x in xs)
    return rc, mds


def permutation(state: list[int]) -> list[int]:
    t = len(state)
    rc, mds = constants(t)
    rp = PARTIAL_ROUNDS[t - 2]
    half = FULL_ROUNDS // 2
    state = [s % R for s in state]
    for r in range(FULL_ROUNDS + rp):
        state = [(s + rc[r * t + i]) % R for i, s in enumerate(state)]
        if r < half or r >= half + rp:
            state = [pow(s, 5, R) for s in state]
        else:
            state[0] = pow(state[0], 5, R)
        state = [sum(m * s for m, s in zip(row, state)) % R for row in mds]
    return state


def poseidon(inputs: list[int]) -> int:
    """circomlib's Poseidon hash of 1..16 field elements."""
    if not 1 <= len(inputs) <= len(PARTIAL_ROUNDS):
        raise ValueError(f"Poseidon takes 1..{len(PARTIAL_ROUNDS)} inputs, got {len(inputs)}")
    return permutation([0] + [int(x) % R for x in inputs])[0]
