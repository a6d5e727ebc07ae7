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


def mean_multiplier(count, s: int):
    """The integer m = round(2^s / count) with which a mean is computed: mean(v) =
    rescale(sum(v) * m, s). Exact when count is a power of two (up to 2^s); otherwise the
    relative error of m is at most 2^-(s+1) * count, so s is chosen with count's bits plus margin."""
    return np.round(np.float64(1 << s) / np.asarray(count, np.float64)).astype(np.int64)


def mean_shift(wfrac: int, count_max: int) -> int:
    """The s of ``mean_multiplier``: at least ``wfrac`` and 8 bits more than the count has."""
    return max(wfrac, (max(int(count_max), 1) - 1).bit_length() + 8)  # ceil(log2 count) + 8, in integers


def greater_threshold(c: float, f: int) -> int:
    """x > c for x = q / 2^f exactly when q >= this integer: floor(c 2^f) + 1."""
    return int(np.floor(c * float(2.0**f))) + 1


def less_threshold(c: float, f: int) -> int:
    """x < c for x = q / 2^f exactly when q <= this integer: ceil(c 2^f) - 1."""
    return int(np.ceil(c * float(2.0**f))) - 1


def equal_value(c: float, f: int) -> int | None:
    """x == c for x = q / 2^f exactly when q is this integer; None when c is off the grid."""
    v = c * float(2.0**f)
    return int(v) if v == np.floor(v) else None


def divide(n, d):
    """The quotient rule of the division gadget: n / d rounded half up, for d >= 1:
    floor((2n + d) / (2d)); a negative divisor divides by |d| and negates (-divide(n, |d|))."""
    n = np.asarray(n, np.int64)
    d = np.asarray(d, np.int64)
    a = np.abs(d)
    q = (2 * n + a) // (2 * a)
    return np.where(d < 0, -q, q)


def isqrt(x):
    """floor(sqrt(x)) of non-negative int64 integers, exactly (the square-root gadget's rule)."""
    x = np.asarray(x, np.int64)
    y = np.floor(np.sqrt(x.astype(np.float64))).astype(np.int64)
    for _ in range(3):  # float sqrt is within one of the answer below 2^62
        y = np.where(y * y > x, y - 1, y)
        y = np.where((y + 1) * (y + 1) <= x, y + 1, y)
    return y
