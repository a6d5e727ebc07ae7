"""Range checks, the one place gadgets ask for them. Without lookups, by bit decomposition:
x in [0, 2^b) costs b booleanity constraints and one recomposition constraint. With lookups
(``b.lookups``), deferred: recorded now, turned into w-bit limbs looked up in one table when the
circuit is complete (zkml/circuit/range_limbs.py). A signed check shifts by 2^(b-1) first."""

from __future__ import annotations

import numpy as np

from zkml.circuit.builder import LC, CircuitBuilder, Signal


def to_bits(b: CircuitBuilder, x: Signal, bits: int, offset: int = 0) -> np.ndarray:
    """Wires of the ``bits`` bits of (x + offset), which must lie in [0, 2^bits); returns (n, bits)."""
    if not 0 < bits <= 62:
        raise ValueError(f"range check of {bits} bits: supported widths are 1..62")
    v = x.values.ravel() + offset
    if b.emit and ((v < 0).any() or (v >> bits).any()):
        bad = int(np.flatnonzero((v < 0) | ((v >> bits) != 0))[0])
        raise OverflowError(f"value {int(v[bad]) - offset} at element {bad} does not fit the {bits}-bit range check")
    bit_values = (v[:, None] >> np.arange(bits)) & 1
    wires = b.alloc(bit_values)
    if not b.emit:
        b.n_constraints += bit_values.size + v.size
        return wires
    flat = LC.of_wires(wires.ravel())
    b.enforce(flat, flat, flat)  # bit * bit = bit
    n = v.size
    weights = np.tile(np.int64(1) << np.arange(bits, dtype=np.int64), n)
    recomposed = LC(np.repeat(np.arange(n, dtype=np.int64), bits), wires.ravel(), weights, n)
    b.enforce_linear(recomposed - x.lc - LC.constant(np.full(n, offset, np.int64)))
    return wires


def range_check_unsigned(b: CircuitBuilder, x: Signal, bits: int) -> np.ndarray | None:
    """Enforce 0 <= x < 2^bits; returns the bit wires (None with lookups: the check is deferred)."""
    b.pin(x)
    if b.lookups:
        b.request_range(x, bits)
        return None
    return to_bits(b, x, bits)


def range_check_signed(b: CircuitBuilder, x: Signal, bits: int) -> np.ndarray | None:
    """Enforce -2^(bits-1) <= x < 2^(bits-1); returns the bits of x + 2^(bits-1) (top = sign),
    None with lookups (the check is deferred)."""
    b.pin(x)
    if b.lookups:
        n = x.values.size
        offset = 1 << (bits - 1)
        lc = x.lc + LC.constant(np.full(n, offset, np.int64)) if b.emit else None
        b.request_range(Signal(lc, x.values.ravel() + offset), bits)
        return None
    return to_bits(b, x, bits, offset=1 << (bits - 1))
