"""The fixed-point contract shared by the quantizer, the witness and the constraints.

A real number x is represented by an integer q with scale 2^-f: x ~ q / 2^f. Products of two
such numbers carry scale 2^-(f1+f2) and are brought back by ``rescale``, which rounds half up:

    rescale(v, s) = floor((v + 2^(s-1)) / 2^s)      (s > 0; s = 0 is the identity)

The constraint that enforces it (gadgets/rescale.py) is v + 2^(s-1) = q * 2^s + rem with
0 <= rem < 2^s. Every function here works on Python ints and on int64/object numpy arrays.
"""

from __future__ import annotations

import numpy as np


def rescale(v, s: int):
    """Round v / 2^s half up (towards +infinity on ties); exact on negative values too."""
    if s == 0:
        return v
    if isinstance(v, np.ndarray):
        return (v + (1 << (s - 1))) >> s  # arithmetic shift = floor division for signed ints
    return (v + (1 << (s - 1))) >> s


def remainder(v, s: int):
    """The rem of the rescale constraint: v + 2^(s-1) - rescale(v, s) * 2^s, in [0, 2^s)."""
    if s == 0:
        return v * 0
    return (v + (1 << (s - 1))) - (rescale(v, s) << s)


def quantize(x: np.ndarray, f: int) -> np.ndarray:
    """Real values to integers at scale 2^-f, rounding half away from zero (numpy's rint is
    half-to-even; we want ties to go the same way everywhere, so round explicitly)."""
    y = np.asarray(x, dtype=np.float64) * float(1 << f) if f >= 0 else np.asarray(x, np.float64) / float(1 << -f)
    return (np.sign(y) * np.floor(np.abs(y) + 0.5)).astype(np.int64)


def dequantize(q: np.ndarray, f: int) -> np.ndarray:
    return np.asarray(q, dtype=np.float64) / float(1 << f) if f >= 0 else np.asarray(q, np.float64) * float(1 << -f)


def bits_for(lo: int, hi: int) -> int:
    """Bits of a two's-complement range check that holds every integer in [lo, hi]."""
    m = max(abs(int(lo)), abs(int(hi)) + 1, 1)
    return int(m - 1).bit_length() + 1
