"""Function tables: y = f(x) for any integer function on a bounded range, as one lookup of the
row (x, y) in the two-column table {(x, f(x)) : lo <= x <= hi}. The lookup proves both that x
lies in [lo, hi] and that y is f's value there. Cost: two constraints per element (the folding
product and the LogUp inverse), the table's hi - lo + 1 rows once per circuit. For the
non-linear ops (Sigmoid, Tanh, Exp, ...) the caller computes fn_values in fixed point."""

from __future__ import annotations

import hashlib

import numpy as np

from zkml.circuit.builder import CircuitBuilder, Signal
from zkml.errors import ZkmlError


def lookup_function(b: CircuitBuilder, x: Signal, lo: int, hi: int, fn_values, name: str | None = None) -> Signal:
    """y with y[i] = fn_values[x[i] - lo]; x must lie in [lo, hi] (refused by the witness otherwise)."""
    fn_values = np.asarray(fn_values, np.int64).ravel()
    if len(fn_values) != hi - lo + 1:
        raise ValueError(f"function table over [{lo}, {hi}] needs {hi - lo + 1} values, got {len(fn_values)}")
    if not b.lookups:
        raise ZkmlError(f"node '{b.where}': this op needs a function table, which needs lookups; "
                        "compile with --lookups on")
    xs = np.arange(lo, hi + 1, dtype=np.int64)
    if name is None:
        name = "fn:" + hashlib.sha256(np.int64(lo).tobytes() + fn_values.tobytes()).hexdigest()[:16]
    table = b.table(name, np.stack([xs, fn_values], axis=1))
    xv = np.asarray(x.values, np.int64).ravel()
    outside = (xv < lo) | (xv > hi)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise ZkmlError(f"node '{b.where}': value {int(xv[i])} (element {i}) is outside the function table "
                        f"[{lo}, {hi}] of '{name}'; the input is outside what the circuit was built for")
    y = b.signal(fn_values[xv - lo].reshape(x.shape))
    b.lookup(table, x.reshape(-1), y.reshape(-1))
    return y
