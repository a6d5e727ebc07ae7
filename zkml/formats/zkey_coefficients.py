"""The zkey's coefficient encoding (c * R^2 mod r, see zkml.formats.zkey) in numba, kept out of
zkey.py so that a malformed file is refused before numba is imported."""

from __future__ import annotations

import numpy as np
from numba import njit

from zkml.engines.cpu.field import _JIT, fr_from_mont, fr_to_mont


@njit(**_JIT)
def _scale_kernel(vals, out, to_file):
    for i in range(vals.shape[0]):
        v = (vals[i, 0], vals[i, 1], vals[i, 2], vals[i, 3])
        # Montgomery steps by R and 1/R: twice gives c * R^2 (to the file) or v / R^2 (from it)
        v = fr_to_mont(fr_to_mont(v)) if to_file else fr_from_mont(fr_from_mont(v))
        for k in range(4):
            out[i, k] = v[k]


def scale_all(vals: np.ndarray, to_file: bool) -> np.ndarray:
    """Coefficients between standard form and the file's c * R^2 mod r; values must be < r."""
    vals = np.ascontiguousarray(vals, np.uint64).reshape(-1, 4)
    out = np.empty_like(vals)
    if len(vals):
        _scale_kernel(vals, out, to_file)
    return out


