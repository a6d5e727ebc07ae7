"""The ``.r1cs`` constraints section walked in numba: each constraint holds three
variable-length term lists, so finding them is a sequential scan that a Python loop makes
take seconds on a large circuit. Kept out of r1cs.py so the header is checked before numba
is imported."""

from __future__ import annotations

import numpy as np
from numba import njit

import zkml.engines.cpu  # noqa: F401 (sets numba's cache folder before anything compiles)

_TERM_BYTES = 36  # u32 wire, 32-byte coefficient


@njit(cache=True, nogil=True)
def _u32(raw, p):
    return np.int64(raw[p]) | (np.int64(raw[p + 1]) << 8) | (np.int64(raw[p + 2]) << 16) | (np.int64(raw[p + 3]) << 24)


@njit(cache=True, nogil=True)
def _count(raw, n_constraints, totals):
    """Terms per matrix into ``totals``; the end offset, or -1 - c when constraint c runs
    past the end of the section."""
    pos = 0
    n = raw.shape[0]
    for c in range(n_constraints):
        for m in range(3):
            if pos + 4 > n:
                return -1 - c
            k = _u32(raw, pos)
            pos += 4 + _TERM_BYTES * k
            if pos > n:
                return -1 - c
            totals[m] += k
    return pos


@njit(cache=True, nogil=True)
def _fill(raw, n_constraints, starts, rows, wires, coefs):
    """Terms of matrix m at [starts[m], starts[m + 1]) of rows, wires, coefs."""
    at = starts.copy()
    pos = 0
    for c in range(n_constraints):
        for m in range(3):
            k = _u32(raw, pos)
            pos += 4
            for _ in range(k):
                t = at[m]
                rows[t] = c
                wires[t] = _u32(raw, pos)
                for limb in range(4):
                    v = np.uint64(0)
                    base = pos + 4 + 8 * limb
                    for b in range(8):
                        v |= np.uint64(raw[base + b]) << np.uint64(8 * b)
                    coefs[t, limb] = v
                pos += _TERM_BYTES
                at[m] = t + 1


def scan_constraints(raw, n_constraints: int):
    """((rows, wires, coefs) for A, B and C, end offset), or (None, -1 - c) when constraint c
    is truncated. rows and wires are uint32, coefs (nnz, 4) uint64 as stored (standard form)."""
    data = np.frombuffer(raw, np.uint8)
    totals = np.zeros(3, np.int64)
    end = _count(data, n_constraints, totals)
    if end < 0:
        return None, end
    starts = np.concatenate([[0], np.cumsum(totals)]).astype(np.int64)
    total = int(starts[-1])
    rows = np.empty(total, np.uint32)
    wires = np.empty(total, np.uint32)
    coefs = np.empty((total, 4), np.uint64)
    _fill(data, n_constraints, starts, rows, wires, coefs)
    return [(rows[a:b], wires[a:b], coefs[a:b]) for a, b in zip(starts[:-1], starts[1:])], end
