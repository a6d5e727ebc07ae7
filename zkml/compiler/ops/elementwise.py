"""Elementwise ops: Add/Sub/Mul/Div (by constants: linear; Mul of two tensors: one product
constraint each), the max-gadget activations Relu, LeakyRelu, PRelu, Clip, Abs, Max/Min, the
n-ary Sum and Mean, Neg and Sign, comparisons with constant or tensor operands (0/1 tensors,
thresholds from fixedpoint's rules), boolean Not/And/Or, and Where."""

from __future__ import annotations

import numpy as np

from zkml.circuit import fixedpoint
from zkml.circuit.builder import LC, Signal
from zkml.circuit.gadgets.compare import is_zero, sign_bit
from zkml.circuit.gadgets.relu import maximum, relu
from zkml.compiler.ops.common import (OpError, _affine, _broadcast, _channel_affine, _concat_flat, _gather, _negate,
                                      _scale_to, normalize, operand, products, weight_frac)
from zkml.compiler.qtensor import QTensor


def op_add(ctx, node, x, y=None, sub=False):
    out_shape = tuple(ctx.graph.shapes.get(node.outputs[0]) or np.broadcast_shapes(*(ctx.graph.shapes.get(i, ()) for i in node.inputs)))
    if y is None:  # one constant operand
        ci = node.inputs[1] if ctx.is_const(node.inputs[1]) else node.inputs[0]
        c = ctx.const(ci) * (-1 if sub and ci == node.inputs[1] else 1)
        if sub and ci == node.inputs[0]:  # c - x
            x = _negate(ctx, x)
        x = _broadcast(ctx, x, out_shape)
        n = x.values.size
        cq = np.broadcast_to(fixedpoint.quantize(c, x.frac), out_shape).ravel()
        t = _affine(ctx, x, np.arange(n), np.arange(n), np.ones(n, np.int64), cq, out_shape)
        return QTensor(t.signal, x.frac, t.lo, t.hi)
    f = max(x.frac, y.frac)
    x, y = _broadcast(ctx, _scale_to(ctx, x, f), out_shape), _broadcast(ctx, _scale_to(ctx, y, f), out_shape)
    if sub:
        y = _negate(ctx, y)
    lc = (x.signal.lc + y.signal.lc) if ctx.b.emit else None
    sig = Signal(lc, x.values + y.values)
    return normalize(ctx, QTensor(sig, f, x.lo + y.lo, x.hi + y.hi))


def op_sub(ctx, node, x, y=None):
    return op_add(ctx, node, x, y, sub=True)


def op_mul(ctx, node, x, y=None, divide=False):
    out_shape = tuple(ctx.graph.shapes.get(node.outputs[0]) or x.shape)
    if y is None:
        c = ctx.const(node.inputs[1] if ctx.is_const(node.inputs[1]) else node.inputs[0])
        if divide:
            c = 1.0 / c
        x = _broadcast(ctx, x, out_shape)
        return _channel_affine(ctx, x, np.broadcast_to(c, out_shape), np.zeros(out_shape))
    if divide:
        raise OpError(f"{ctx.graph.source}: Div node '{node.name}' divides by a tensor; only division by constants is supported")
    x, y = _broadcast(ctx, x, out_shape), _broadcast(ctx, y, out_shape)
    zv = x.values * y.values
    z = ctx.b.signal(zv)
    if ctx.b.emit:
        ctx.b.enforce(x.signal.lc, y.signal.lc, z.lc)
    else:
        ctx.b.n_constraints += zv.size
    cands = [x.lo.astype(object) * y.lo, x.lo.astype(object) * y.hi, x.hi.astype(object) * y.lo, x.hi.astype(object) * y.hi]
    lo = np.minimum.reduce(cands)
    hi = np.maximum.reduce(cands)
    return normalize(ctx, QTensor(z.reshape(out_shape), x.frac + y.frac, lo, hi))


def op_div(ctx, node, x, y=None):
    return op_mul(ctx, node, x, y, divide=True)


def op_relu(ctx, node, x):
    bits = fixedpoint.bits_for(int(x.lo.min()), int(x.hi.max()))
    y = relu(ctx.b, x.signal.reshape(-1), bits).reshape(x.shape)
    return QTensor(y, x.frac, np.maximum(x.lo, 0), np.maximum(x.hi, 0))


def op_leaky_relu(ctx, node, x):
    alpha = float(node.attrs.get("alpha", 0.01))
    r = op_relu(ctx, node, x)
    # y = alpha * x + (1 - alpha) * relu(x), weights quantized, then one rescale
    wf = weight_frac(ctx, np.array([alpha, 1 - alpha]), per_element=True)
    a, c = fixedpoint.quantize(np.array([alpha, 1 - alpha]), wf)
    vals = a * x.values.ravel() + c * r.values.ravel()
    lc = (x.signal.lc.scale(int(a)) + r.signal.lc.scale(int(c))) if ctx.b.emit else None
    lo = np.minimum(a * x.lo.astype(object), 0) + c * r.lo.astype(object)
    hi = np.maximum(a * x.hi.astype(object), 0) + c * r.hi.astype(object)
    if a < 0 or c < 0:
        raise OpError(f"{ctx.graph.source}: LeakyRelu node '{node.name}': alpha must be in [0, 1]")
    t = QTensor(Signal(lc, vals.reshape(x.shape)), x.frac + wf, lo.reshape(x.shape), hi.reshape(x.shape))
    return normalize(ctx, t)


def op_clip(ctx, node, x):
    lo_v = node.attrs.get("min")
    hi_v = node.attrs.get("max")
    if len(node.inputs) > 1 and node.inputs[1]:
        lo_v = float(ctx.const(node.inputs[1]))
    if len(node.inputs) > 2 and node.inputs[2]:
        hi_v = float(ctx.const(node.inputs[2]))
    t = x
    if lo_v is not None:
        c = int(fixedpoint.quantize(np.array([lo_v]), x.frac)[0])
        t = _max_const(ctx, t, c)
    if hi_v is not None:
        c = int(fixedpoint.quantize(np.array([hi_v]), x.frac)[0])
        t = _negate(ctx, _max_const(ctx, _negate(ctx, t), -c))
    return t


def _max_const(ctx, x: QTensor, c: int) -> QTensor:
    const = ctx.b.constant(np.full(x.shape, c, np.int64))
    bits = fixedpoint.bits_for(int(x.lo.min()) - c, int(x.hi.max()) - c)
    y = maximum(ctx.b, x.signal, const, bits)
    return QTensor(y.reshape(x.shape), x.frac, np.maximum(x.lo, c), np.maximum(x.hi, c))


# --- exact piecewise-linear and sign ops --------------------------------------------------------


def op_neg(ctx, node, x):
    return _negate(ctx, x)


def absolute(ctx, x: QTensor) -> QTensor:
    """|x| = 2 relu(x) - x: one ReLU per element, exact."""
    bits = fixedpoint.bits_for(int(x.lo.min()), int(x.hi.max()))
    r = relu(ctx.b, x.signal.reshape(-1), bits)
    vals = 2 * r.values - x.values.ravel()
    lc = (r.lc.scale(2) - x.signal.lc) if ctx.b.emit else None
    lo_abs = np.where((x.lo <= 0) & (x.hi >= 0), 0, np.minimum(np.abs(x.lo), np.abs(x.hi)))
    hi_abs = np.maximum(np.abs(x.lo), np.abs(x.hi))
    return QTensor(Signal(lc, vals.reshape(x.shape)), x.frac, lo_abs, hi_abs)


def op_abs(ctx, node, x):
    return absolute(ctx, x)


def _bool(sig: Signal, shape) -> QTensor:
    """A 0/1 tensor (fraction bits 0: 1 means 1.0, as a Cast to float reads it)."""
    return QTensor(sig.reshape(shape), 0, np.zeros(shape, np.int64), np.ones(shape, np.int64))


def at_least(ctx, t: QTensor, threshold) -> Signal:
    """[t >= threshold] (integers, one per element) as a 0/1 Signal: the sign bit of t - threshold."""
    thr = np.broadcast_to(np.asarray(threshold, np.int64), t.shape).ravel()
    lc = (t.signal.lc - LC.constant(thr)) if ctx.b.emit else None
    d = Signal(lc, t.values.ravel() - thr)
    return sign_bit(ctx.b, d, fixedpoint.bits_for(int((t.lo.ravel() - thr).min()), int((t.hi.ravel() - thr).max())))


def op_sign(ctx, node, x):
    pos = at_least(ctx, x, 1)  # x > 0
    neg = at_least(ctx, _negate(ctx, x), 1)  # x < 0
    lc = (pos.lc - neg.lc) if ctx.b.emit else None
    return QTensor(Signal(lc, (pos.values - neg.values).reshape(x.shape)), 0,
                   np.where(x.lo > 0, 1, np.where(x.lo < 0, -1, 0)), np.where(x.hi > 0, 1, np.where(x.hi < 0, -1, 0)))


def op_prelu(ctx, node, x):
    """y = slope x + (1 - slope) relu(x), slope a constant broadcast to x (per channel): exact,
    one ReLU per element, then one rescale."""
    slope = np.broadcast_to(_per_channel_slope(ctx.const(node.inputs[1]), x.shape), x.shape).ravel()
    coeffs = np.concatenate([slope, 1 - slope])
    wf = weight_frac(ctx, coeffs, per_element=True)
    a = fixedpoint.quantize(slope, wf)
    c = fixedpoint.quantize(1 - slope, wf)
    bits = fixedpoint.bits_for(int(x.lo.min()), int(x.hi.max()))
    r = relu(ctx.b, x.signal.reshape(-1), bits)
    vals = a * x.values.ravel() + c * r.values
    lc = (x.signal.lc.scale(a) + r.lc.scale(c)) if ctx.b.emit else None

    def f(v):
        v = v.astype(object)
        return np.where(v < 0, a.astype(object) * v, (a + c).astype(object) * v)

    lo, hi = x.lo.ravel(), x.hi.ravel()
    ends = [f(lo), f(hi), np.where((lo <= 0) & (hi >= 0), 0, f(lo))]
    t = QTensor(Signal(lc, vals.reshape(x.shape)), x.frac + wf, np.minimum.reduce(ends).reshape(x.shape),
                np.maximum.reduce(ends).reshape(x.shape))
    return normalize(ctx, t)


def _per_channel_slope(v, shape):
    v = np.asarray(v, np.float64)
    if v.ndim == 1 and len(shape) >= 2 and v.size == shape[1] and v.size != shape[-1]:
        return v.reshape((1, -1) + (1,) * (len(shape) - 2))
    return v


# --- n-ary sums, means, max/min -----------------------------------------------------------------


def _out_shape(ctx, node, *ts):
    return tuple(ctx.graph.shapes.get(node.outputs[0]) or np.broadcast_shapes(*(t.shape for t in ts)))


def _operands(ctx, node, frac=None):
    ts = [operand(ctx, n, frac) for n in node.inputs if n]
    runtime = [t for n, t in zip([n for n in node.inputs if n], ts) if n in ctx.tensors]
    f = max(t.frac for t in runtime) if runtime else max(t.frac for t in ts)
    return [operand(ctx, n, f) if n not in ctx.tensors else ctx.tensors[n] for n in node.inputs if n], f


def sum_tensors(ctx, node) -> QTensor:
    ts, f = _operands(ctx, node)
    shape = _out_shape(ctx, node, *ts)
    ts = [_broadcast(ctx, _scale_to(ctx, t, f), shape) for t in ts]
    lc = None
    if ctx.b.emit:
        lc = ts[0].signal.lc
        for t in ts[1:]:
            lc = lc + t.signal.lc
    vals = sum(t.values for t in ts)
    return QTensor(Signal(lc, vals), f, sum(t.lo.astype(object) for t in ts), sum(t.hi.astype(object) for t in ts))


def op_sum(ctx, node, *xs):
    return normalize(ctx, sum_tensors(ctx, node))


def op_mean(ctx, node, *xs):
    t = sum_tensors(ctx, node)
    n = len([i for i in node.inputs if i])
    return scale_by_mean(ctx, t, n)


def scale_by_mean(ctx, t: QTensor, count: int) -> QTensor:
    """t / count as fixedpoint's mean rule: times round(2^s / count), rescaled."""
    s = fixedpoint.mean_shift(ctx.wfrac, count)
    m = int(fixedpoint.mean_multiplier(count, s))
    lc = t.signal.lc.scale(m) if ctx.b.emit else None
    return normalize(ctx, QTensor(Signal(lc, t.values * m), t.frac + s, t.lo.astype(object) * m,
                                  t.hi.astype(object) * m))


def op_max(ctx, node, *xs, minimum_=False):
    ts, f = _operands(ctx, node)
    shape = _out_shape(ctx, node, *ts)
    ts = [_broadcast(ctx, _scale_to(ctx, t, f), shape) for t in ts]
    if minimum_:
        ts = [_negate(ctx, t) for t in ts]
    cur = ts[0]
    for t in ts[1:]:
        bits = fixedpoint.bits_for(int((cur.lo - t.hi).min()), int((cur.hi - t.lo).max()))
        sig = maximum(ctx.b, cur.signal, t.signal, bits).reshape(shape)
        cur = QTensor(sig, f, np.maximum(cur.lo, t.lo), np.maximum(cur.hi, t.hi))
    return _negate(ctx, cur) if minimum_ else cur


def op_min(ctx, node, *xs):
    return op_max(ctx, node, minimum_=True)


# --- comparisons and boolean logic (0/1 tensors at fraction bits 0) ------------------------------

_MIRROR = {"Greater": "Less", "Less": "Greater", "GreaterOrEqual": "LessOrEqual", "LessOrEqual": "GreaterOrEqual",
           "Equal": "Equal"}


def op_compare(ctx, node, *xs):
    an, bn = node.inputs[:2]
    op = node.op
    if an not in ctx.tensors:  # c op x  ==  x mirror(op) c
        an, bn, op = bn, an, _MIRROR[op]
    x = ctx.tensors[an]
    shape = _out_shape(ctx, node, x, operand(ctx, bn, x.frac))
    if bn in ctx.tensors:
        y = ctx.tensors[bn]
        f = max(x.frac, y.frac)
        x, y = _broadcast(ctx, _scale_to(ctx, x, f), shape), _broadcast(ctx, _scale_to(ctx, y, f), shape)
        lc = (x.signal.lc - y.signal.lc) if ctx.b.emit else None
        d = QTensor(Signal(lc, x.values - y.values), f, x.lo - y.hi, x.hi - y.lo)
        if op == "Equal":
            return _bool(is_zero(ctx.b, d.signal), shape)
        if op in ("Greater", "GreaterOrEqual"):
            return _bool(at_least(ctx, d, 1 if op == "Greater" else 0), shape)
        return _bool(at_least(ctx, _negate(ctx, d), 1 if op == "Less" else 0), shape)
    x = _broadcast(ctx, x, shape)
    c = np.broadcast_to(ctx.const(bn), shape).ravel()
    if not np.isfinite(c).all():
        raise OpError(f"{ctx.graph.source}: {node.op} node '{node.name}' compares with a non-finite constant")
    f = x.frac
    if op == "Equal":
        eq = [fixedpoint.equal_value(float(v), f) for v in c]
        target = np.array([0 if e is None else e for e in eq], np.int64)
        lc = (x.signal.lc - LC.constant(target)) if ctx.b.emit else None
        e = is_zero(ctx.b, Signal(lc, x.values.ravel() - target))
        off = np.array([e_ is None for e_ in eq])
        if off.any():  # a constant off the grid equals no grid value: 0, whatever x is
            e = Signal(_mask_lc(e.lc, ~off) if ctx.b.emit else None, np.where(off, 0, e.values))
        return _bool(e, shape)
    if op == "Greater":
        return _bool(at_least(ctx, x, [fixedpoint.greater_threshold(float(v), f) for v in c]), shape)
    if op == "GreaterOrEqual":
        return _bool(at_least(ctx, x, [fixedpoint.less_threshold(float(v), f) + 1 for v in c]), shape)
    if op == "Less":
        return _bool(at_least(ctx, _negate(ctx, x), [-fixedpoint.less_threshold(float(v), f) for v in c]), shape)
    return _bool(at_least(ctx, _negate(ctx, x), [-(fixedpoint.greater_threshold(float(v), f) - 1) for v in c]), shape)


def _mask_lc(lc: LC, keep: np.ndarray) -> LC:
    """The combinations with those where ``keep`` is False replaced by 0."""
    k = keep[lc.rows]
    return LC(lc.rows[k], lc.wires[k], lc.coeffs[k], lc.k)


def op_not(ctx, node, x):
    lc = (LC.constant(np.ones(x.values.size, np.int64)) - x.signal.lc) if ctx.b.emit else None
    return QTensor(Signal(lc, (1 - x.values).reshape(x.shape)), 0, 1 - x.hi, 1 - x.lo)


def op_and_or(ctx, node, *xs):
    ts, _ = _operands(ctx, node, 0)
    shape = _out_shape(ctx, node, *ts)
    a, b = (_broadcast(ctx, t, shape) for t in ts)
    n = a.values.size
    p = products(ctx, a, b, np.arange(n), np.arange(n))
    if node.op == "And":
        return QTensor(p.signal.reshape(shape), 0, np.zeros(shape, np.int64), np.ones(shape, np.int64))
    lc = (a.signal.lc + b.signal.lc - p.signal.lc) if ctx.b.emit else None
    return _bool(Signal(lc, a.values.ravel() + b.values.ravel() - p.values), shape)


def op_where(ctx, node, *xs):
    """Where(cond, X, Y): with a constant cond a selection (no constraint); with a 0/1 tensor cond
    Y + cond (X - Y), linear when X and Y are constants, else one product per element."""
    cn, xn, yn = node.inputs[:3]
    for n in (xn, yn):
        if n not in ctx.tensors and not np.isfinite(ctx.const(n)).all():
            raise OpError(f"{ctx.graph.source}: Where node '{node.name}': '{n}' holds an infinity, which has no "
                          "fixed-point value; use a large finite fill value")
    runtime = [t for t in (xn, yn) if t in ctx.tensors]
    f = max(ctx.tensors[t].frac for t in runtime) if runtime else ctx.frac
    xt, yt = (operand(ctx, n, f) if n not in ctx.tensors else _scale_to(ctx, ctx.tensors[n], f) for n in (xn, yn))
    shape = tuple(ctx.graph.shapes.get(node.outputs[0]) or np.broadcast_shapes(_shape_of(ctx, cn), xt.shape, yt.shape))
    xt, yt = _broadcast(ctx, xt, shape), _broadcast(ctx, yt, shape)
    n = int(np.prod(shape))
    if cn not in ctx.tensors:
        cond = np.broadcast_to(ctx.const(cn).astype(bool), shape).ravel()
        joined = _concat_flat(ctx, [xt, yt])
        t = _gather(ctx, joined, np.where(cond, np.arange(n), n + np.arange(n)))
        return QTensor(t.signal.reshape(shape), f, t.lo.reshape(shape), t.hi.reshape(shape))
    c = _broadcast(ctx, ctx.tensors[cn], shape)
    if c.frac != 0 or c.lo.min() < 0 or c.hi.max() > 1:
        raise OpError(f"{ctx.graph.source}: Where node '{node.name}': condition '{cn}' is not a 0/1 tensor")
    lc_d = (xt.signal.lc - yt.signal.lc) if ctx.b.emit else None
    d = QTensor(Signal(lc_d, (xt.values - yt.values).ravel()), f, (xt.lo - yt.hi).ravel(), (xt.hi - yt.lo).ravel())
    if xn not in ctx.tensors and yn not in ctx.tensors:
        dv = d.values
        lc = (c.signal.lc.scale(dv) + yt.signal.lc) if ctx.b.emit else None
        vals = c.values.ravel() * dv + yt.values.ravel()
        lo = np.minimum(dv, 0) + yt.lo.ravel()
        hi = np.maximum(dv, 0) + yt.hi.ravel()
        return QTensor(Signal(lc, vals.reshape(shape)), f, lo.reshape(shape), hi.reshape(shape))
    p = products(ctx, QTensor(c.signal.reshape(-1), 0, c.lo.ravel(), c.hi.ravel()), d, np.arange(n), np.arange(n))
    lc = (p.signal.lc + yt.signal.lc) if ctx.b.emit else None
    return QTensor(Signal(lc, (p.values + yt.values.ravel()).reshape(shape)), f,
                   (p.lo + yt.lo.ravel()).reshape(shape), (p.hi + yt.hi.ravel()).reshape(shape))


def _shape_of(ctx, name):
    return tuple(ctx.tensors[name].shape) if name in ctx.tensors else tuple(np.shape(ctx.graph.constants[name]))
