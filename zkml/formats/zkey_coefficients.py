"""The zkey's coefficient encoding (c * R^2 mod r, see zkml.formats.zkey) in the engine, kept out
of zkey.py so that a malformed file is refused before any kernel is loaded."""

from __future__ import annotations

import numpy as np

from zkml.engines.cpu import threads
from zkml.engines.cpu.native import kernels


def scale_all(vals: np.ndarray, to_file: bool, out: np.ndarray | None = None) -> np.ndarray:
    """Coefficients between standard form and the file's c * R^2 mod r; values must be < r.
    ``out`` (n, 4) uint64, possibly a strided field of a record array, receives them if given."""
    vals = np.ascontiguousarray(vals, np.uint64).reshape(-1, 4)
    dest = out if out is not None and out.flags.c_contiguous else np.empty_like(vals)
    threads.run_ranges(kernels().zkey_scale_range, len(vals), vals, dest, to_file, min_chunk=1 << 14)
    if out is not None and dest is not out:
        out[...] = dest
        return out
    return dest
