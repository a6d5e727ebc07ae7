"""Exact division and square root (no table), the fixed-point rules in fixedpoint.divide/isqrt.

``divide``: q = floor((2n + d) / (2d)) for d >= 1, enforced as 2n + d = 2 d q + r with q range-
checked to its width (so q is an integer and q * d cannot wrap), 0 <= r and 2d - 1 - r >= 0
(both range-checked; together they also force d >= 1, so a zero divisor has no witness).
Cost: one product and three range checks per element.
``isqrt``: y = floor(sqrt(X)) for X >= 0: y range-checked, p = y * y, X - p >= 0 and
p + 2y - X >= 0 range-checked, so y^2 <= X < (y + 1)^2. Cost: one product, three range checks.
"""

from __future__ import annotations

import numpy as np

from zkml.circuit import fixedpoint
from zkml.circuit.builder import LC, CircuitBuilder, Signal
from zkml.circuit.gadgets.range_check import range_check_signed, range_check_unsigned
from zkml.errors import ZkmlError


def _product(b: CircuitBuilder, x: Signal, y: Signal) -> Signal:
    p = b.signal(x.values.ravel() * y.values.ravel())
    if b.emit:
        b.enforce(x.lc, y.lc, p.lc)
    else:
        b.n_constraints += p.values.size
    return p


def _lin(b: CircuitBuilder, parts, const=None, values=None) -> Signal:
    """sum of coeff * signal (+ const) as a Signal (no constraint)."""
    lc = None
    if b.emit:
        for c, s in parts:
            t = s.lc.scale(c)
            lc = t if lc is None else lc + t
        if const is not None:
            lc = lc + LC.constant(np.asarray(const, np.int64).ravel())
    return Signal(lc, values)


def divide(b: CircuitBuilder, n: Signal, d: Signal, q_bits: int, d_bits: int) -> Signal:
    """q = fixedpoint.divide(n, d) elementwise, for d >= 1 (refused at witness time otherwise);
    q must fit ``q_bits`` signed bits, d below 2^d_bits."""
    n, d = n.reshape(-1), d.reshape(-1)
    nv, dv = n.values, d.values
    if b.emit and (dv <= 0).any():  # compiling on a stand-in input: values only need to be consistent
        nv, dv = np.where(dv <= 0, 0, nv), np.where(dv <= 0, 1, dv)
    if (dv <= 0).any():
        i = int(np.flatnonzero(dv <= 0)[0])
        raise ZkmlError(f"node '{b.where}': divisor {int(dv[i])} (element {i}) is not positive: the division "
                        "has no value there (a zero variance or sum); the input is outside what the circuit allows")
    qv = fixedpoint.divide(nv, dv)
    q = b.signal(qv)
    range_check_signed(b, q, q_bits)
    p = _product(b, q, d)
    rv = 2 * nv + dv - 2 * p.values
    r = _lin(b, [(2, n), (1, d), (-2, p)], values=rv)
    range_check_unsigned(b, r, d_bits + 1)
    range_check_unsigned(b, _lin(b, [(2, d), (-1, r)], const=np.full(rv.size, -1), values=2 * dv - 1 - rv), d_bits + 1)
    return q


def isqrt(b: CircuitBuilder, x: Signal, x_bits: int) -> Signal:
    """y = floor(sqrt(x)) elementwise for 0 <= x < 2^x_bits (x >= 0 refused otherwise)."""
    x = x.reshape(-1)
    xv = x.values
    if (xv < 0).any():
        i = int(np.flatnonzero(xv < 0)[0])
        raise ZkmlError(f"node '{b.where}': square root of a negative value ({int(xv[i])} on the integer grid, element "
                        f"{i}): it has no real value (onnx gives NaN); the input is outside the square root's domain")
    yv = fixedpoint.isqrt(xv)
    y = b.signal(yv)
    range_check_unsigned(b, y, max((x_bits + 1) // 2 + 1, 1))
    p = _product(b, y, y)
    range_check_unsigned(b, _lin(b, [(1, x), (-1, p)], values=xv - p.values), x_bits)
    range_check_unsigned(b, _lin(b, [(1, p), (2, y), (-1, x)], values=p.values + 2 * yv - xv), x_bits + 1)
    return y
