"""Packing public values into few field elements (DESIGN.md, "Public signals: few and packed").

Each value v with known bounds lo <= v <= hi occupies ``width = bits(hi - lo)`` bits as v - lo;
values are laid out greedily into 253-bit field elements. Packing is a linear combination, so
it costs one linear constraint per packed element. It is sound because every packed value is
bounded inside the circuit: inputs by their range check, outputs because they are determined
by the range-checked input through fully constrained gadgets whose worst-case bounds the
compiler computed. Verifiers re-pack the values stated in a claim and compare.
"""

from __future__ import annotations

import numpy as np

from zkml.circuit.builder import LC, CircuitBuilder, Signal

CAPACITY = 253  # bits per field element, below r's 254 so no packing can wrap


def widths(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    span = np.asarray(hi, dtype=object) - np.asarray(lo, dtype=object)
    return np.array([max(int(s), 1).bit_length() for s in span.ravel()], np.int64)


def layout(ws: np.ndarray) -> list[list[tuple[int, int]]]:
    """Groups of (value index, bit offset), each group fitting in CAPACITY bits."""
    groups, cur, used = [], [], 0
    for i, w in enumerate(ws.tolist()):
        if w > CAPACITY:
            raise ValueError(f"a public value needs {w} bits, more than a field element holds")
        if used + w > CAPACITY:
            groups.append(cur)
            cur, used = [], 0
        cur.append((i, used))
        used += w
    if cur:
        groups.append(cur)
    return groups


def pack_values(values, lo, ws) -> list[int]:
    """The packed field elements for integer values (outside the circuit: verifiers)."""
    vals = [int(v) - int(l) for v, l in zip(np.asarray(values, dtype=object).ravel(), np.asarray(lo, dtype=object).ravel())]
    out = []
    for group in layout(np.asarray(ws)):
        out.append(sum(vals[i] << off for i, off in group))
    return out


def publish_packed(b: CircuitBuilder, x: Signal, lo: np.ndarray, hi: np.ndarray, kind: int) -> list[tuple[int, int]]:
    """Wires (public for a public ``kind``) holding the packed values of x: [(wire, value)]."""
    flat_lo = np.asarray(lo, dtype=object).ravel()
    ws = widths(flat_lo, np.asarray(hi, dtype=object).ravel())
    packed = pack_values(x.values.ravel(), flat_lo, ws)
    result = []
    for group, value in zip(layout(ws), packed):
        wire = int(b.alloc(np.array([value], dtype=object), kind)[0])
        result.append((wire, value))
        if not b.emit:
            b.n_constraints += 1
            continue
        idx = np.array([i for i, _ in group], np.int64)
        shifts = [1 << off for _, off in group]
        part = x.lc.take(idx)
        coeffs = np.array([int(c) * shifts[r] for c, r in zip(part.coeffs.tolist(), part.rows.tolist())], dtype=object)
        const = -sum(int(flat_lo[i]) << off for i, off in group)
        lc = LC(np.zeros(len(part.rows), np.int64), part.wires, coeffs, 1)
        lc = lc + LC(np.array([0, 0], np.int64), np.array([0, wire], np.int64), np.array([const, -1], dtype=object), 1)
        b.enforce_linear(lc)
    return result
