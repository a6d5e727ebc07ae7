"""snarkjs's phase-2 contribution records (zkey section 10), recomputed so that ``key_check``
can verify keys contributed to by ``snarkjs zkey contribute``.

The transcript of contribution i is blake2b-512 over the circuit hash, every earlier record
(delta after, s, x s in G1, x sp in G2, its transcript; points uncompressed, big-endian, G2 as
c1 then c0) and this record's s and x s (zkey_utils.js ``hashPubKey``,
zkey_verify_frominit.js). sp is ``hashToG2(transcript)`` (keypair.js): ffjavascript's ChaCha20
seeded with the first 32 bytes of the transcript as big-endian u32s, then ``G2.fromRng``: an Fq2
x drawn coefficient by coefficient (four u64 words, high word first, masked to 254 bits, below q,
taken as a Montgomery representation), one bit for the sign, until x^3 + b is a square; y is
the root whose sign (wasmcurves' ``isNegative``: c1 > (q-1)/2, or c0 when c1 = 0) is that bit;
the point is multiplied by the G2 cofactor. Slow readable Python: one call per contribution.
"""

from __future__ import annotations

import hashlib

import numpy as np

from zkml.crypto.bn254 import B2, Q, g2_to_array

_MASK32 = 0xFFFFFFFF
_R_INV = pow(1 << 256, -1, Q)
COFACTOR_G2 = 0x30644E72E131A029B85045B68181585E06CEECDA572A2489345F2299C0F9FA8D


def _be(v: int) -> bytes:
    return (v % Q).to_bytes(32, "big")


def g1_uncompressed(p) -> bytes:
    return b"\x40" + bytes(63) if p is None else _be(p[0]) + _be(p[1])


def g2_uncompressed(p) -> bytes:
    if p is None:
        return b"\x40" + bytes(127)
    (x0, x1), (y0, y1) = p
    return _be(x1) + _be(x0) + _be(y1) + _be(y0)


def _pub_key(c) -> bytes:
    return (g1_uncompressed(c.delta_after) + g1_uncompressed(c.g1_s) + g1_uncompressed(c.g1_sx)
            + g2_uncompressed(c.g2_spx) + c.transcript)


def transcript(csh: bytes, before: list, c) -> bytes:
    """The transcript snarkjs would record for ``c`` after the records ``before``."""
    h = hashlib.blake2b(digest_size=64)
    h.update(csh)
    for b in before:
        h.update(_pub_key(b))
    h.update(g1_uncompressed(c.g1_s) + g1_uncompressed(c.g1_sx))
    return h.digest()


class ChaCha:
    """ffjavascript's ChaCha20 generator (chacha.js), word for word."""

    def __init__(self, seed: list[int]):
        self.state = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574, *seed, 0, 0, 0, 0]
        self.idx = 16
        self.buff = [0] * 16

    @staticmethod
    def _quarter(st, a, b, c, d):
        def rotl(v, n):
            return ((v << n) | (v >> (32 - n))) & _MASK32

        st[a] = (st[a] + st[b]) & _MASK32
        st[d] = rotl(st[d] ^ st[a], 16)
        st[c] = (st[c] + st[d]) & _MASK32
        st[b] = rotl(st[b] ^ st[c], 12)
        st[a] = (st[a] + st[b]) & _MASK32
        st[d] = rotl(st[d] ^ st[a], 8)
        st[c] = (st[c] + st[d]) & _MASK32
        st[b] = rotl(st[b] ^ st[c], 7)

    def _update(self):
        b = list(self.state)
        for _ in range(10):
            for q in ((0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15),
                      (0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14)):
                self._quarter(b, *q)
        self.buff = [(x + s) & _MASK32 for x, s in zip(b, self.state)]
        self.idx = 0
        for i in range(12, 16):
            self.state[i] = (self.state[i] + 1) & _MASK32
            if self.state[i]:
                break

    def u32(self) -> int:
        if self.idx == 16:
            self._update()
        v = self.buff[self.idx]
        self.idx += 1
        return v

    def u64(self) -> int:
        hi = self.u32()
        return (hi << 32) + self.u32()


def _fq_from_rng(rng: ChaCha) -> int:
    mask = (1 << Q.bit_length()) - 1
    while True:
        v = 0
        for i in range(4):
            v += rng.u64() << (64 * i)
        v &= mask
        if v < Q:
            return v * _R_INV % Q  # the words are the Montgomery representation


def _f2_mul(a, b):
    return ((a[0] * b[0] - a[1] * b[1]) % Q, (a[0] * b[1] + a[1] * b[0]) % Q)


def _f2_pow(a, e: int):
    out = (1, 0)
    while e:
        if e & 1:
            out = _f2_mul(out, a)
        a = _f2_mul(a, a)
        e >>= 1
    return out


def _f2_is_square(a) -> bool:
    norm = (a[0] * a[0] + a[1] * a[1]) % Q
    return norm == 0 or pow(norm, (Q - 1) // 2, Q) == 1


def _f2_sqrt(a):
    """A square root in Fq2 = Fq[u]/(u^2 + 1), q = 3 mod 4 (Adj and Rodriguez-Henriquez, alg. 9)."""
    a1 = _f2_pow(a, (Q - 3) // 4)
    alpha = _f2_mul(_f2_mul(a1, a1), a)
    x0 = _f2_mul(a1, a)
    if alpha == (Q - 1, 0):
        x = _f2_mul((0, 1), x0)
    else:
        x = _f2_mul(_f2_pow(((1 + alpha[0]) % Q, alpha[1]), (Q - 1) // 2), x0)
    assert _f2_mul(x, x) == (a[0] % Q, a[1] % Q)
    return x


def _is_negative(a) -> bool:
    c = a[1] if a[1] else a[0]
    return c > (Q - 1) // 2


def hash_to_g2_point(h: bytes):
    """snarkjs's ``hashToG2(curve, h)`` as an affine int point."""
    from py_ecc import optimized_bn128 as bn

    from zkml.crypto.bn254 import g2_from_pyecc, g2_to_pyecc

    rng = ChaCha([int.from_bytes(h[4 * i: 4 * i + 4], "big") for i in range(8)])
    while True:
        x = (_fq_from_rng(rng), _fq_from_rng(rng))
        greatest = rng.u32() & 1 == 1
        x3b = _f2_mul(_f2_mul(x, x), x)
        x3b = ((x3b[0] + B2[0]) % Q, (x3b[1] + B2[1]) % Q)
        if _f2_is_square(x3b):
            break
    y = _f2_sqrt(x3b)
    if greatest != _is_negative(y):
        y = ((-y[0]) % Q, (-y[1]) % Q)
    return g2_from_pyecc(bn.multiply(g2_to_pyecc((x, y)), COFACTOR_G2))


def hash_to_g2(h: bytes) -> np.ndarray:
    """``hash_to_g2_point`` as an engine (2, 2, 4) array."""
    return g2_to_array(hash_to_g2_point(h))
