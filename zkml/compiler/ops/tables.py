"""Function-table ops: Exp, Log, Erf, Gelu (erf and tanh forms), Softplus, Elu, Celu, Selu, Mish,
Pow with a fractional exponent, and Sigmoid/Tanh, each as relu_coef * relu(x) + a table of its
residual (zkml/circuit/fixed_functions.py holds the rules): the input rescaled to the table's
grid, clamped (max gadgets) where the residual is flat, looked up (a 2-column LogUp table
(x, f(x))), and brought to the node's output scale. Each node's worst-case error bound is
recorded in the manifest ("approximations"). Cost per element: the rescale's range check (when
the grid is coarser than the input), one max gadget per clamped side, two constraints for the
lookup, a ReLU and a rescale when f has a linear part; the table's rows once per circuit.

With --lookups off these ops are refused, naming the node, except Sigmoid and Tanh, which keep
their piecewise-linear interpolation through ReLUs (33 knots; interpolation error recorded)."""

from __future__ import annotations

import numpy as np

from zkml.circuit import fixedpoint
from zkml.circuit.builder import LC, Signal
from zkml.compiler import deterministic
from zkml.circuit import fixed_functions as ff
from zkml.circuit.gadgets.function_table import lookup_function
from zkml.compiler.ops.common import OpError, _const_lc, normalize, weight_frac
from zkml.compiler.ops.elementwise import _max_const, op_relu
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
    if ctx.b.lookups:
        return apply_function(ctx, node, x, ff.function("Sigmoid"))
    return _pwl(ctx, node, x, lambda v: 1.0 / (1.0 + np.exp(-v)), deterministic.sigmoid)


def op_tanh(ctx, node, x):
    if ctx.b.lookups:
        return apply_function(ctx, node, x, ff.function("Tanh"))
    return _pwl(ctx, node, x, np.tanh, deterministic.tanh)


# --- function tables ----------------------------------------------------------------------------


def needs_lookups(ctx, node, what: str) -> None:
    if not ctx.b.lookups:
        raise OpError(f"{ctx.graph.source}: {node.op} node '{node.name}' needs lookups ({what} is a function table); "
                      "compile with --lookups on")


def record(ctx, node, **info) -> None:
    """The node's approximation record in the manifest (its worst-case error bound first)."""
    ctx.output_transforms.setdefault("_approximations", {})[node.name] = {"op": node.op, **info}


def _range_bounds(values: np.ndarray, lo: np.ndarray, hi: np.ndarray, j_lo: int):
    """Per element, min and max of the table column over the rows [lo, hi] it can read."""
    pairs, inverse = np.unique(np.stack([lo.ravel(), hi.ravel()], axis=1), axis=0, return_inverse=True)
    mins = np.array([values[a - j_lo:b - j_lo + 1].min() for a, b in pairs], np.int64)
    maxs = np.array([values[a - j_lo:b - j_lo + 1].max() for a, b in pairs], np.int64)
    inverse = inverse.ravel()
    return mins[inverse].reshape(lo.shape), maxs[inverse].reshape(lo.shape)


def table_function(ctx, node, x: QTensor, fn: ff.Function, out_frac: int, rows: int | None = None):
    """(the residual of fn at x, as a tensor at ``out_frac``; its worst-case error bound)."""
    needs_lookups(ctx, node, fn.key)
    rows = ff.TABLE_ROWS if rows is None else rows
    b = ctx.b
    f = x.frac
    x_lo, x_hi = float(x.lo.min()) * 2.0 ** -f, float(x.hi.max()) * 2.0 ** -f
    a, c = ff.clamp_points(fn, out_frac)
    lo_r = x_lo if a is None else min(max(x_lo, a), x_hi)
    hi_r = x_hi if c is None else max(min(x_hi, c), lo_r)
    if fn.domain_lo is not None:
        lo_r = max(lo_r, fn.domain_lo)
        hi_r = max(hi_r, lo_r)
    k = ff.choose_grid(fn, f, out_frac, lo_r, hi_r, rows)
    s = f - k
    jx_lo, jx_hi = ff.grid_index(x.lo, f, k), ff.grid_index(x.hi, f, k)
    j_lo, j_hi = int(jx_lo.min()), int(jx_hi.max())
    if a is not None:
        j_lo = max(j_lo, int(np.floor(a * 2.0 ** k)))
    if c is not None:
        j_hi = min(j_hi, int(np.ceil(c * 2.0 ** k)))
    dom = ff.domain_row(fn, k)
    if dom is not None:
        j_lo = max(j_lo, dom)
    j_hi = max(j_hi, j_lo)
    if j_hi - j_lo + 1 > 4 * rows:
        raise OpError(f"{ctx.graph.source}: {node.op} node '{node.name}': its input can reach [{x_lo:.4g}, {x_hi:.4g}], "
                      f"too wide for a {fn.key} table of {rows:,} rows; the input's range must be narrower")
    values = ff.table_values(fn, k, j_lo, j_hi, out_frac)
    if int(np.abs(values).max()) >= 1 << 48:
        raise OpError(f"{ctx.graph.source}: {node.op} node '{node.name}': its input can reach {x_hi:.4g}, where "
                      f"{fn.key} is too large for a fixed-point value; the input's range must be narrower")
    t = x
    if s > 0:
        from zkml.circuit.gadgets.rescale import rescale

        q = rescale(b, x.signal.reshape(-1), s, fixedpoint.bits_for(int(jx_lo.min()), int(jx_hi.max())))
        t = QTensor(q.reshape(x.shape), k, jx_lo, jx_hi)
    if int(t.lo.min()) < j_lo:
        t = _max_const(ctx, t, j_lo)
    if int(t.hi.max()) > j_hi:
        t = _min_const(ctx, t, j_hi)
    if s > 0:
        b.pin(q)  # the first clamp's range check, or the lookup itself, bounds q
    y = lookup_function(b, t.signal.reshape(-1), j_lo, j_hi, values,
                        name=f"fn:{fn.key}:k{k}:o{out_frac}:[{j_lo},{j_hi}]")
    lo, hi = _range_bounds(values, np.clip(t.lo, j_lo, j_hi), np.clip(t.hi, j_lo, j_hi), j_lo)
    err = ff.table_error(fn, k, s, j_lo, j_hi, out_frac, x_lo, x_hi)
    info = {"grid": f"2^-{k}" if k >= 0 else f"2^{-k}", "rows": j_hi - j_lo + 1,
            "range": [j_lo * 2.0 ** -k, j_hi * 2.0 ** -k]}
    return QTensor(y.reshape(x.shape), out_frac, lo, hi), err, info


def _min_const(ctx, x: QTensor, c: int) -> QTensor:
    from zkml.compiler.ops.common import _negate

    return _negate(ctx, _max_const(ctx, _negate(ctx, x), -c))


def apply_function(ctx, node, x: QTensor, fn: ff.Function) -> QTensor:
    """fn(x) at the node's output scale: relu_coef * relu(x) + the residual's table."""
    from zkml.circuit.builder import Signal

    o = ctx.frac
    y, err, info = table_function(ctx, node, x, fn, o)
    if fn.relu_coef == 0:
        record(ctx, node, error_bound=err, function=fn.key, **info)
        return y
    r = op_relu(ctx, node, x)
    if fn.relu_coef == 1.0:
        wf, cq = 0, 1
    else:
        wf = weight_frac(ctx, np.array([fn.relu_coef]))
        cq = int(fixedpoint.quantize(np.array([fn.relu_coef]), wf)[0])
    fr = x.frac + wf
    big = max(fr, o)
    m_r, m_y = cq << (big - fr), 1 << (big - o)
    vals = m_r * r.values + m_y * y.values
    lc = (r.signal.lc.scale(m_r) + y.signal.lc.scale(m_y)) if ctx.b.emit else None
    lo = m_r * r.lo.astype(object) + m_y * y.lo.astype(object)
    hi = m_r * r.hi.astype(object) + m_y * y.hi.astype(object)
    err += abs(fn.relu_coef - cq * 2.0 ** -wf) * max(abs(float(x.lo.min())), abs(float(x.hi.max()))) * 2.0 ** -x.frac
    err += 2.0 ** -(o + 1) if big > o else 0.0
    record(ctx, node, error_bound=err, function=fn.key, **info)
    return normalize(ctx, QTensor(Signal(lc, vals.reshape(x.shape)), big, lo.reshape(x.shape), hi.reshape(x.shape)))


def _op(name):
    def op(ctx, node, x):
        return apply_function(ctx, node, x, ff.function(name, **_attrs(node)))
    op.__name__ = f"op_{name.lower()}"
    return op


def _attrs(node) -> dict:
    out = {}
    for k in ("alpha", "gamma"):
        if k in node.attrs:
            out[k] = float(node.attrs[k])
    if "approximate" in node.attrs:
        a = node.attrs["approximate"]
        out["approximate"] = a.decode() if isinstance(a, bytes) else a
    return out


op_exp = _op("Exp")
op_log = _op("Log")
op_erf = _op("Erf")
op_gelu = _op("Gelu")
op_softplus = _op("Softplus")
op_elu = _op("Elu")
op_celu = _op("Celu")
op_selu = _op("Selu")
op_mish = _op("Mish")
