"""ReLU and max: y = max(x, 0) from the sign bit of a signed range check, y = sign * x.
Cost: bits + 2 constraints per element (bits booleanity, recomposition, the product)."""

from __future__ import annotations

import numpy as np

from zkml.circuit.builder import LC, CircuitBuilder, Signal
from zkml.circuit.gadgets.range_check import range_check_signed


def relu(b: CircuitBuilder, x: Signal, bits: int) -> Signal:
    """max(x, 0) for x known to lie in [-2^(bits-1), 2^(bits-1))."""
    sign_bits = range_check_signed(b, x, bits)
    yv = np.maximum(x.values, 0)
    y = b.signal(yv)
    if not b.emit:
        b.n_constraints += yv.size
        return y
    positive = LC.of_wires(sign_bits[:, bits - 1])  # top bit of x + 2^(bits-1): 1 iff x >= 0
    b.enforce(positive, x.lc, y.lc)
    return y


def maximum(b: CircuitBuilder, x: Signal, y: Signal, bits: int) -> Signal:
    """Elementwise max(x, y) = y + relu(x - y), with x - y in [-2^(bits-1), 2^(bits-1))."""
    diff = Signal(x.lc - y.lc if b.emit else None, x.values - y.values)
    r = relu(b, diff.reshape(-1), bits)
    return Signal(y.lc + r.lc if b.emit else None, (y.values.ravel() + r.values).reshape(x.shape))
