"""The zkey's coefficient encoding (c * R^2 mod r, see zkml.formats.zkey) in numba, kept out of
zkey.py so that a malformed file is refused before numba is imported."""

from __future__ import annotations

import numpy as np
from numba import njit

from zkml.engines.cpu import threads
from zkml.engines.cpu.field import fr_from_mont, fr_to_mont


@njit(cache=True, nogil=True)
def _scale_range(vals, out, to_file, lo, hi):
    for i in range(lo, hi):
        v = (vals[i, 0], vals[i, 1], vals[i, 2], vals[i, 3])
        # Montgomery steps by R and 1/R: twice gives c * R^2 (to the file) or v / R^2 (from it)
        v = fr_to_mont(fr_to_mont(v)) if to_file else fr_from_mont(fr_from_mont(v))
        for k in range(4):
            out[i, k] = v[k]


def scale_all(vals: np.ndarray, to_file: bool, out: np.ndarray | None = None) -> np.ndarray:
    """Coefficients between standard form and the file's c * R^2 mod r; values must be < r.
    ``out`` (n, 4) uint64, possibly a strided field of a record array, receives them if given."""
    vals = np.ascontiguousarray(vals, np.uint64).reshape(-1, 4)
    dest = out if out is not None and out.flags.c_contiguous else np.empty_like(vals)
    threads.run_ranges(_scale_range, len(vals), vals, dest, to_file, min_chunk=1 << 14)
    if out is not None and dest is not out:
        out[...] = dest
        return out
    return dest
