"""Decisions the compiler takes from floats, made so that the same model, calibration data and
options give a byte-identical R1CS on any machine (issue 18, "deterministic compile").

- Powers of two of a float (the scale of a weight tensor, of an activation) come from its
  exponent (``math.frexp``), never from ``log2``, whose last bit differs between libm and SIMD
  implementations.
- A float measured by onnxruntime (a tensor's peak on the calibration data) is rounded to
  ``STABLE_BITS`` significant bits before a scale is chosen from it: its last bits depend on the
  CPU's kernels and thread split, and must not move a scale. (A rebuild does not even measure:
  it uses the scales the manifest recorded, see ``zkml/bundle/rebuild.py``.)
- Tables of smooth functions (sigmoid and tanh knots) are computed with ``decimal`` at 40
  digits and rounded once to float64, so they do not depend on numpy's vectorised exp/tanh.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import numpy as np

STABLE_BITS = 20  # significant bits of a measured float kept before a scale is chosen from it


def ceil_log2(x: float) -> int:
    """ceil(log2 x) for x > 0, exactly."""
    m, e = math.frexp(float(x))  # x = m 2^e, 0.5 <= m < 1
    return e - 1 if m == 0.5 else e


def floor_log2(x: float) -> int:
    """floor(log2 x) for x > 0, exactly."""
    return math.frexp(float(x))[1] - 1


def stable(x: float, bits: int = STABLE_BITS) -> float:
    """x rounded to ``bits`` significant bits (ties to even): a float whose last bits are noise."""
    x = float(x)
    if x == 0.0 or not math.isfinite(x):
        return x
    m, e = math.frexp(x)
    return math.ldexp(round(math.ldexp(m, bits)), e - bits)


def _decimal_map(fn, xs) -> np.ndarray:
    with localcontext() as ctx:
        ctx.prec = 40
        return np.array([float(fn(Decimal(float(v)))) for v in np.ravel(xs)], np.float64).reshape(np.shape(xs))


def sigmoid(xs) -> np.ndarray:
    """1 / (1 + e^-x), correctly rounded to float64 (for a table's few knots, not bulk data)."""
    return _decimal_map(lambda d: 1 / (1 + (-d).exp()), xs)


def tanh(xs) -> np.ndarray:
    """tanh x = (e^2x - 1) / (e^2x + 1), correctly rounded to float64."""
    return _decimal_map(lambda d: ((2 * d).exp() - 1) / ((2 * d).exp() + 1), xs)
