"""Comparisons as boolean wires, built on the range-check interface only (so a lookup-based
range check replaces their cost too).

``sign_bit``: s = [x >= 0] for x in [-2^(bits-1), 2^(bits-1)): s is boolean (one constraint),
p = s * x (one constraint), and z = 2p - x - 1 + s is range-checked to [0, 2^(bits-1)):
s = 1 leaves z = x (so x >= 0), s = 0 leaves z = -x - 1 (so x < 0); no other s passes.
``is_zero``: e = [d == 0] from an inverse hint: d * inv = 1 - e and d * e = 0 (two constraints;
d != 0 forces e = 0, d = 0 forces e = 1, so e is boolean without its own constraint).
"""

from __future__ import annotations

import numpy as np

from zkml.circuit.builder import LC, CircuitBuilder, Signal
from zkml.circuit.gadgets.range_check import range_check_unsigned
from zkml.crypto.bn254 import R


def sign_bit(b: CircuitBuilder, x: Signal, bits: int) -> Signal:
    """[x >= 0] as a 0/1 Signal, for x known to lie in [-2^(bits-1), 2^(bits-1))."""
    x = x.reshape(-1)
    sv = (x.values >= 0).astype(np.int64)
    s = b.signal(sv)
    p = b.signal(sv * x.values)
    n = sv.size
    zv = 2 * p.values - x.values - 1 + sv
    z = Signal((p.lc.scale(2) - x.lc + s.lc - LC.constant(np.ones(n, np.int64))) if b.emit else None, zv)
    if b.emit:
        b.enforce(s.lc, s.lc, s.lc)
        b.enforce(s.lc, x.lc, p.lc)
    else:
        b.n_constraints += 2 * n
    range_check_unsigned(b, z, max(bits - 1, 1))
    return s


def is_zero(b: CircuitBuilder, d: Signal) -> Signal:
    """[d == 0] as a 0/1 Signal."""
    d = d.reshape(-1)
    ev = (d.values == 0).astype(np.int64)
    inv = b.signal(np.array([0 if v == 0 else pow(int(v) % R, -1, R) for v in d.values.tolist()], dtype=object))
    e = b.signal(ev)
    n = ev.size
    if b.emit:
        b.enforce(d.lc, inv.lc, LC.constant(np.ones(n, np.int64)) - e.lc)
        b.enforce(d.lc, e.lc, LC.constant(np.zeros(n, np.int64)))
    else:
        b.n_constraints += 2 * n
    return e
