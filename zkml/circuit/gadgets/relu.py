"""ReLU and max: y = max(x, 0) = s * x with s the sign bit of x (1 iff x >= 0).

Without lookups s is the top bit of a signed range check: bits + 2 constraints per element.
With lookups s is a boolean wire and x + 2^(bits-1) - s * 2^(bits-1) is range-checked to
bits - 1 bits: for x in [-2^(bits-1), 2^(bits-1)) (the compiler's bound) that holds for s = 1
exactly when x >= 0 and for s = 0 exactly when x < 0, so s is the sign. Cost: the booleanity,
the product and one or two lookups.
"""

from __future__ import annotations

import numpy as np

from zkml.circuit.builder import LC, CircuitBuilder, Signal
from zkml.circuit.gadgets.range_check import range_check_signed, range_check_unsigned


def nonnegative(b: CircuitBuilder, x: Signal, bits: int) -> np.ndarray:
    """Wires of the bits [x >= 0] for x in [-2^(bits-1), 2^(bits-1)), each constrained."""
    if not b.lookups:
        return range_check_signed(b, x, bits)[:, bits - 1]  # top bit of x + 2^(bits-1)
    b.pin(x)  # the check below bounds x itself
    sv = (x.values.ravel() >= 0).astype(np.int64)
    s = b.alloc(sv)
    n = sv.size
    half = 1 << (bits - 1)
    if b.emit:
        slc = LC.of_wires(s)
        b.enforce(slc, slc, slc)  # s * s = s
        shifted = x.lc + LC.constant(np.full(n, half, np.int64)) - slc.scale(half)
    else:
        b.n_constraints += n
        shifted = None
    range_check_unsigned(b, Signal(shifted, x.values.ravel() + half - sv * half), bits - 1)
    return s


def relu(b: CircuitBuilder, x: Signal, bits: int) -> Signal:
    """max(x, 0) for x known to lie in [-2^(bits-1), 2^(bits-1))."""
    positive_w = nonnegative(b, x, bits)
    yv = np.maximum(x.values, 0)
    y = b.signal(yv)
    if not b.emit:
        b.n_constraints += yv.size
        return y
    b.enforce(LC.of_wires(positive_w), x.lc, y.lc)
    return y


def maximum(b: CircuitBuilder, x: Signal, y: Signal, bits: int) -> Signal:
    """Elementwise max(x, y) = y + relu(x - y), with x - y in [-2^(bits-1), 2^(bits-1))."""
    diff = Signal(x.lc - y.lc if b.emit else None, x.values - y.values)
    r = relu(b, diff.reshape(-1), bits)
    return Signal(y.lc + r.lc if b.emit else None, (y.values.ravel() + r.values).reshape(x.shape))
