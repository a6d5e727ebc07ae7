"""Poseidon (circomlib parameters, zkml.crypto.poseidon) inside the circuit, and commitments
to tensors built from it.

Per round: add the round constants (free), the x^5 S-box as x2 = x*x, x4 = x2*x2, y = x4*x
(three constraints each; t of them in full rounds, one in partial rounds), the MDS product
(free), and the new state bound to fresh wires (t linear constraints) so linear combinations
stay short. ``commit`` hashes a tensor and a private salt in chunks of 15 values plus a chain
value, so the commitment of any length is one field element.
"""

from __future__ import annotations

import numpy as np

from zkml.circuit.builder import LC, CircuitBuilder
from zkml.crypto.bn254 import R
from zkml.crypto.poseidon import FULL_ROUNDS, PARTIAL_ROUNDS, constants, poseidon

CHUNK = 15  # values per hash call, plus the running chain value: t = 17


def _lc_obj(rows, wires, coeffs, k) -> LC:
    return LC(np.asarray(rows, np.int64), np.asarray(wires, np.int64), np.asarray(coeffs, dtype=object), k)


def hash_wires(b: CircuitBuilder, wires: list[int], values: list[int]) -> tuple[int, int]:
    """(wire, value) of Poseidon(values) where wire i holds values[i]."""
    t = len(wires) + 1
    rc, mds = constants(t)
    rp = PARTIAL_ROUNDS[t - 2]
    half = FULL_ROUNDS // 2
    # state: list of (list of (wire, coeff)), constant term, value
    state_w = [[] ] + [[(w, 1)] for w in wires]
    state_c = [0] * t
    state_v = [0] + [int(v) % R for v in values]
    for r in range(FULL_ROUNDS + rp):
        state_c = [(c + rc[r * t + i]) % R for i, c in enumerate(state_c)]
        state_v = [(v + rc[r * t + i]) % R for i, v in enumerate(state_v)]
        full = r < half or r >= half + rp
        for i in (range(t) if full else [0]):
            x = state_v[i]
            x2, x4 = x * x % R, pow(x, 4, R)
            x5 = x4 * x % R
            w2, w4, w5 = b.alloc(np.array([x2, x4, x5], dtype=object))
            if b.emit:
                terms = state_w[i] + [(0, state_c[i])]
                lc_x = _lc_obj([0] * len(terms), [w for w, _ in terms], [c for _, c in terms], 1)
                one = lambda w: _lc_obj([0], [w], [1], 1)  # noqa: E731
                b.enforce(lc_x, lc_x, one(w2))
                b.enforce(one(w2), one(w2), one(w4))
                b.enforce(one(w4), lc_x, one(w5))
            else:
                b.n_constraints += 3
            state_w[i], state_c[i], state_v[i] = [(w5, 1)], 0, x5
        new_v = [sum(m * v for m, v in zip(row, state_v)) % R for row in mds]
        new_w = b.alloc(np.array(new_v, dtype=object))
        if b.emit:
            rows, ws, cs = [], [], []
            for i, row in enumerate(mds):
                const = sum(m * c for m, c in zip(row, state_c)) % R
                for j, m in enumerate(row):
                    for w, c in state_w[j]:
                        rows.append(i), ws.append(w), cs.append(m * c % R)
                rows.append(i), ws.append(0), cs.append(const)
                rows.append(i), ws.append(int(new_w[i])), cs.append(R - 1)
            b.enforce_linear(_lc_obj(rows, ws, cs, t))
        else:
            b.n_constraints += t
        state_w = [[(int(w), 1)] for w in new_w]
        state_c = [0] * t
        state_v = new_v
    return state_w[0][0][0], state_v[0]


def chain_value(items: list[int]) -> int:
    """Poseidon over any number of values: chain = H(chain, next 15 values), from chain = 0."""
    chain = 0
    items = [int(v) % R for v in items]
    for i in range(0, len(items), CHUNK):
        chain = poseidon([chain] + items[i:i + CHUNK])
    return chain


def commitment_value(values: list[int], salt: int) -> int:
    """The commitment ``commit`` enforces, computed outside the circuit."""
    return chain_value(list(values) + [salt])


def commit(b: CircuitBuilder, wires: np.ndarray, values: np.ndarray, salt: int) -> tuple[int, int]:
    """(wire, value) of the commitment to a tensor's wires and a private salt."""
    salt_wire = int(b.alloc(np.array([int(salt) % R], dtype=object))[0])
    ws = [int(w) for w in np.asarray(wires).ravel()] + [salt_wire]
    vs = [int(v) % R for v in np.asarray(values).ravel()] + [int(salt) % R]
    return chain_hash(b, ws, vs)


def chain_hash(b: CircuitBuilder, ws: list[int], vs: list[int]) -> tuple[int, int]:
    """(wire, value) of ``chain_value`` over the given wires."""
    chain_w, chain_v = None, 0
    for i in range(0, len(ws), CHUNK):
        if chain_w is None:
            chain_w = int(b.alloc(np.array([0], dtype=object))[0])
            if b.emit:
                b.enforce_linear(_lc_obj([0], [chain_w], [1], 1))  # the chain starts at 0
            else:
                b.n_constraints += 1
        chain_w, chain_v = hash_wires(b, [chain_w] + ws[i:i + CHUNK], [chain_v] + vs[i:i + CHUNK])
    return chain_w, chain_v
