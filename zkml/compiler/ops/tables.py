"""Smooth activations (Sigmoid, Tanh) as piecewise-linear interpolation through ReLUs; the
interpolation error is recorded in the manifest. (Lookup tables will replace these.)"""

from __future__ import annotations

import numpy as np

from zkml.circuit import fixedpoint
from zkml.circuit.builder import LC, Signal
from zkml.compiler import deterministic
from zkml.compiler.ops.common import _const_lc, normalize, weight_frac
from zkml.compiler.ops.elementwise import op_relu
from zkml.compiler.qtensor import QTensor

# Interpolation ranges and knot spacing: 33 knots each; constant outside the range.
PWL = {"Sigmoid": (8.0, 0.5), "Tanh": (4.0, 0.25)}


def pwl_error(fn, lo: float, hi: float, step: float) -> float:
    """max |fn - its interpolation| over the real line (dense grid; tails are flat)."""
    knots = np.arange(lo, hi + step / 2, step)
    grid = np.linspace(lo - 4 * (hi - lo), hi + 4 * (hi - lo), 400_001)
    approx = np.interp(grid, knots, fn(knots))
    return float(np.max(np.abs(fn(grid) - approx)))


def _pwl(ctx, node, x: QTensor, fn, exact_fn) -> QTensor:
    """f(b_0) + sum_k (m_k - m_(k-1)) relu(x - b_k): exact interpolation of fn at the knots."""
    half, step = PWL[node.op]
    knots = np.arange(-half, half + step / 2, step)
    kq = fixedpoint.quantize(knots, x.frac)
    vals_at = exact_fn(knots)  # correctly rounded: the same table on every machine (fn: the error estimate)
    slopes = np.diff(vals_at) / np.diff(knots)
    deltas = np.diff(np.concatenate([[0.0], slopes, [0.0]]))  # change of slope at each knot
    wf = weight_frac(ctx, deltas)
    dq = fixedpoint.quantize(deltas, wf)
    n = x.values.size
    flat = x.signal.reshape(-1)
    acc_vals = np.zeros(n, np.int64)
    acc_lc = None
    lo = np.zeros(n, object)
    hi = np.zeros(n, object)
    for k, (bk, d) in enumerate(zip(kq, dq)):
        if d == 0:
            continue
        shifted = QTensor(Signal(flat.lc - _const_lc(ctx, n, bk) if ctx.b.emit else None, flat.values - bk),
                          x.frac, x.lo.ravel() - bk, x.hi.ravel() - bk)
        r = op_relu(ctx, node, shifted)
        acc_vals = acc_vals + int(d) * r.values
        term = r.signal.lc.scale(int(d)) if ctx.b.emit else None
        acc_lc = term if acc_lc is None else (acc_lc + term if ctx.b.emit else None)
        lo = lo + np.minimum(int(d) * r.lo.astype(object), int(d) * r.hi.astype(object))
        hi = hi + np.maximum(int(d) * r.lo.astype(object), int(d) * r.hi.astype(object))
    # the constant f(b_0) at the accumulator's scale x.frac + wf
    c0 = int(fixedpoint.quantize(np.array([vals_at[0]]), x.frac + wf)[0])
    if ctx.b.emit:
        acc_lc = acc_lc + LC.constant(np.full(n, c0, np.int64))
    t = QTensor(Signal(acc_lc, (acc_vals + c0).reshape(x.shape)), x.frac + wf,
                (lo + c0).reshape(x.shape), (hi + c0).reshape(x.shape))
    ctx.output_transforms.setdefault("_approximations", {})[node.name] = {
        "op": node.op, "interpolation_error": pwl_error(fn, -half, half, step),
        "knots": f"[-{half:g}, {half:g}] step {step:g}"}
    return normalize(ctx, t)


def op_sigmoid(ctx, node, x):
    return _pwl(ctx, node, x, lambda v: 1.0 / (1.0 + np.exp(-v)), deterministic.sigmoid)


def op_tanh(ctx, node, x):
    return _pwl(ctx, node, x, np.tanh, deterministic.tanh)
