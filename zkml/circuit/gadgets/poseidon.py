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

from functools import lru_cache

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


def chain_hash(b: CircuitBuilder, ws: list[int], vs: list[int], lean: bool = False) -> tuple[int, int]:
    """(wire, value) of ``chain_value`` over the given wires (``lean``: with ``hash_wires_lean``)."""
    permute = hash_wires_lean if lean else hash_wires
    chain_w, chain_v = None, 0
    for i in range(0, len(ws), CHUNK):
        if chain_w is None:
            chain_w = int(b.alloc(np.array([0], dtype=object))[0])
            if b.emit:
                b.enforce_linear(_lc_obj([0], [chain_w], [1], 1))  # the chain starts at 0
            else:
                b.n_constraints += 1
        chain_w, chain_v = permute(b, [chain_w] + ws[i:i + CHUNK], [chain_v] + vs[i:i + CHUNK])
    return chain_w, chain_v


# --- the lean permutation: S-box constraints only ----------------------------------------------
#
# The permutation is linear between S-boxes, and R1CS linear combinations are free, so only the
# S-boxes need constraints (3 each: 8 t + R_P of them, 612 constraints at t = 17 against 1,904
# with every state bound to fresh wires). Each S-box input is a fixed linear combination of the
# constant wire, the permutation's inputs and the earlier S-box outputs; the coefficients depend
# on t alone and are worked out once per process (``_lean_plan``).


@lru_cache(maxsize=None)
def _lean_plan(t: int):
    """(S-box inputs, output, full flags): each input and the output as (variables, coeffs),
    variables numbered 0 = the constant 1, 1..t-1 = the inputs, t + k = the output of S-box k."""
    rc, mds = constants(t)
    rp = PARTIAL_ROUNDS[t - 2]
    half = FULL_ROUNDS // 2
    state = [{}] + [{i: 1} for i in range(1, t)]  # state[i]: variable -> coefficient; the capacity starts at 0
    sboxes, n_var = [], t
    for r in range(FULL_ROUNDS + rp):
        for i in range(t):
            state[i][0] = (state[i].get(0, 0) + rc[r * t + i]) % R
        full = r < half or r >= half + rp
        for i in (range(t) if full else [0]):
            sboxes.append(state[i])
            state[i] = {n_var: 1}
            n_var += 1
        new = []
        for row in mds:
            acc: dict = {}
            for m, s in zip(row, state):
                for v, c in s.items():
                    acc[v] = (acc.get(v, 0) + m * c) % R
            new.append({v: c for v, c in acc.items() if c})
        state = new
    as_arrays = lambda d: (np.array(list(d), np.int64), np.array(list(d.values()), dtype=object))  # noqa: E731
    return [as_arrays(s) for s in sboxes], as_arrays(state[0])


def _lean_values(t: int, values: list[int]) -> list[int]:
    """The S-box inputs' values in order, and the output last (a copy: callers pop)."""
    return list(_lean_values_cached(t, tuple(int(v) % R for v in values)))


@lru_cache(maxsize=8192)  # a committed model's weights hash to the same values at every proof
def _lean_values_cached(t: int, values: tuple) -> tuple:
    rc, mds = constants(t)
    rp = PARTIAL_ROUNDS[t - 2]
    half = FULL_ROUNDS // 2
    state = [0] + [int(v) % R for v in values]
    ins = []
    for r in range(FULL_ROUNDS + rp):
        state = [(v + rc[r * t + i]) % R for i, v in enumerate(state)]
        full = r < half or r >= half + rp
        for i in (range(t) if full else [0]):
            ins.append(state[i])
            state[i] = pow(state[i], 5, R)
        state = [sum(m * v for m, v in zip(row, state)) % R for row in mds]
    return tuple(ins + [state[0]])


def hash_wires_lean(b: CircuitBuilder, wires: list[int], values: list[int]) -> tuple[int, int]:
    """(wire, value) of Poseidon(values) where wire i holds values[i]: ``hash_wires`` in a third
    of the constraints (S-boxes only; the output bound to one wire)."""
    t = len(wires) + 1
    ins = _lean_values(t, values)
    out_v = ins.pop()
    m = len(ins)
    x2 = [v * v % R for v in ins]
    x4 = [v * v % R for v in x2]
    x5 = [v * u % R for v, u in zip(x4, ins)]
    w2 = b.alloc(np.array(x2, dtype=object))
    w4 = b.alloc(np.array(x4, dtype=object))
    w5 = b.alloc(np.array(x5, dtype=object))
    out_w = int(b.alloc(np.array([out_v], dtype=object))[0])
    if not b.emit:
        b.n_constraints += 3 * m + 1
        return out_w, out_v
    sboxes, output = _lean_plan(t)
    var_wire = np.concatenate([[0], np.asarray(wires, np.int64), w5]).astype(np.int64)  # variable -> builder wire
    rows = np.concatenate([np.full(len(v), k, np.int64) for k, (v, _) in enumerate(sboxes)])
    lc_x = LC(rows, var_wire[np.concatenate([v for v, _ in sboxes])], np.concatenate([c for _, c in sboxes]), m)
    one = lambda ws: LC.of_wires(np.asarray(ws, np.int64))  # noqa: E731
    b.enforce(lc_x, lc_x, one(w2))
    b.enforce(one(w2), one(w2), one(w4))
    b.enforce(one(w4), lc_x, one(w5))
    v, c = output
    b.enforce_linear(_lc_obj(np.zeros(len(v) + 1, np.int64), np.append(var_wire[v], out_w),
                             np.append(c, R - 1).astype(object), 1))
    return out_w, out_v
