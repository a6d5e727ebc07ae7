"""Rescale after a fixed-point product: q = rescale(x, s) (fixedpoint.py), enforced as
x + 2^(s-1) = q * 2^s + rem with rem in [0, 2^s). Among integers that fixes q, but not in the
field: rem - d and q + d / 2^s satisfy it too, and quotients that only feed linear layers can
carry such fractions into a sum that moves by a small integer (an output, the next layer's
input). So q is range-checked to ``bits`` (the compiler's bound) unless a later range check of
q itself (a ReLU, a max) comes first: ``CircuitBuilder.bound_later``.
Cost: s + 1 constraints for the remainder bits plus the linear relation folded into them.
With lookups the remainder is not a wire: x + 2^(s-1) - q * 2^s, a linear combination, is
range-checked to s bits directly (one or two lookups, no other constraint)."""

from __future__ import annotations

import numpy as np

from zkml.circuit import fixedpoint
from zkml.circuit.builder import LC, CircuitBuilder, Signal
from zkml.circuit.gadgets.range_check import range_check_unsigned


def rescale(b: CircuitBuilder, x: Signal, s: int, bits: int | None = None) -> Signal:
    """q = rescale(x, s); ``bits``: q's signed width from the compiler's bounds (None only for
    callers that range-check q themselves)."""
    if s == 0:
        return x
    qv = fixedpoint.rescale(x.values, s)
    rv = fixedpoint.remainder(x.values, s)
    q = b.signal(qv)
    if bits is not None:
        b.bound_later(q, bits)
    if b.lookups:
        n = qv.size
        rem_lc = x.lc + LC.constant(np.full(n, 1 << (s - 1), np.int64)) - q.lc.scale(1 << s) if b.emit else None
        range_check_unsigned(b, Signal(rem_lc, rv.ravel()), s)
        return q
    rem = b.signal(rv)
    range_check_unsigned(b, rem, s)
    n = qv.size
    if not b.emit:
        b.n_constraints += n
        return q
    # x + 2^(s-1) - q * 2^s - rem = 0
    b.enforce_linear(x.lc + LC.constant(np.full(n, 1 << (s - 1), np.int64)) - q.lc.scale(1 << s) - rem.lc)
    return q
