"""Operator implementations: ONNX node -> quantized outputs, constraints through the builder.

Linear ops (Gemm, MatMul, Conv, BatchNormalization, Add/Sub/Mul/Div by constants, pooling
sums, shape ops) only build linear combinations; ``normalize`` rescales a product back to the
activation scale (the rescale gadget), and Relu/Clip/LeakyRelu/MaxPool use the max gadgets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from zkml.circuit import fixedpoint
from zkml.circuit.builder import CircuitBuilder, Signal
from zkml.circuit.gadgets.relu import maximum, relu
from zkml.circuit.gadgets.rescale import rescale
from zkml.compiler import deterministic, linear
from zkml.compiler.deterministic import ceil_log2, floor_log2
from zkml.compiler.qtensor import MAX_BITS, QTensor
from zkml.errors import ZkmlError
from zkml.onnx_import.graph import Graph, Node


@dataclass
class Context:
    b: CircuitBuilder
    graph: Graph
    frac: int  # activation fraction bits
    wfrac: int  # weight fraction bits
    tensors: dict = field(default_factory=dict)
    output_transforms: dict = field(default_factory=dict)
    stats: list = field(default_factory=list)  # per node: (name, op, shape, frac, lo, hi, constraints)
    cache: dict = field(default_factory=dict)  # quantized weights per node, kept across runs of one model

    def const(self, name: str) -> np.ndarray:
        if name not in self.graph.constants:
            raise ZkmlError(f"{self.graph.source}: input '{name}' must be a constant (weights) for this op")
        return np.asarray(self.graph.constants[name], dtype=np.float64)

    def is_const(self, name: str) -> bool:
        return name in self.graph.constants


class OpError(ZkmlError):
    pass


def _check_bounds(ctx: Context, node: Node, t: QTensor) -> QTensor:
    m = max([abs(int(v)) for a in (t.lo, t.hi) if a.size for v in (a.min(), a.max())], default=0)
    if m >= 1 << MAX_BITS:
        raise OpError(
            f"{ctx.graph.source}: node '{node.name}' ({node.op}) could reach |x| = 2^{m.bit_length() - 1}, "
            f"above the 2^{MAX_BITS} the compiler allows; use fewer fraction bits (--frac-bits)")
    return QTensor(t.signal, t.frac, t.lo.astype(np.int64), t.hi.astype(np.int64))


def normalize(ctx: Context, t: QTensor) -> QTensor:
    """Rescale a tensor carrying more fraction bits than this node's output scale to ``ctx.frac``."""
    s = t.frac - ctx.frac
    if s <= 0:
        return t
    q = rescale(ctx.b, t.signal.reshape(-1), s).reshape(t.shape)
    return QTensor(q, ctx.frac, fixedpoint.rescale(t.lo, s), fixedpoint.rescale(t.hi, s))


def _scale_to(ctx: Context, t: QTensor, frac: int) -> QTensor:
    """The same tensor with more fraction bits (a free multiplication by 2^d)."""
    d = frac - t.frac
    if d == 0:
        return t
    assert d > 0
    n = t.values.size
    sig = ctx.b.linear(t.signal.reshape(-1), np.arange(n), np.arange(n), np.full(n, 1 << d), (t.values << d).ravel())
    return QTensor(sig.reshape(t.shape), frac, t.lo << d, t.hi << d)


def _affine(ctx: Context, x: QTensor, rows, cols, w: np.ndarray, bias: np.ndarray, out_shape) -> QTensor:
    """out[i] = sum over (rows==i) w * x[cols] + bias[i]: integer weights, no constraints."""
    rows, cols, w = (np.asarray(a, np.int64).ravel() for a in (rows, cols, w))
    keep = w != 0
    rows, cols, w = rows[keep], cols[keep], w[keep]
    n_out = int(np.prod(out_shape))
    vals, lo, hi = linear.sparse(rows, cols, w, n_out, x.values.ravel(), x.lo.ravel(), x.hi.ravel(), bias)
    sig = ctx.b.linear(x.signal.reshape(-1), rows, cols, w, vals, const=bias.ravel())
    return QTensor(sig.reshape(out_shape), None, lo.reshape(out_shape), hi.reshape(out_shape))


def _affine_dense(ctx: Context, x: QTensor, w: np.ndarray, bias: np.ndarray, out_shape, prep: dict) -> QTensor:
    """out = w x + bias for a dense integer w (n, k): the matrix-vector product for values and
    bounds, and the same linear combinations ``_affine`` builds from its coordinates."""
    n_out, k = w.shape
    vals = linear.dense_values(w, x.values.ravel(), bias)
    lo, hi = _bounds(prep, x, lambda: linear.dense_bounds(w, x.lo.ravel(), x.hi.ravel(), bias, prep["wneg"],
                                                          prep["abs_rows"]))
    if not ctx.b.emit:
        return QTensor(Signal(None, vals.reshape(out_shape)), None, lo.reshape(out_shape), hi.reshape(out_shape))
    rows = np.repeat(np.arange(n_out, dtype=np.int64), k)
    cols = np.tile(np.arange(k, dtype=np.int64), n_out)
    flat = w.ravel()
    keep = flat != 0
    sig = ctx.b.linear(x.signal.reshape(-1), rows[keep], cols[keep], flat[keep], vals, const=bias.ravel())
    return QTensor(sig.reshape(out_shape), None, lo.reshape(out_shape), hi.reshape(out_shape))


def _prepared(ctx: Context, node: Node, x: QTensor, make) -> dict:
    """The quantized weights of a linear node, made once per model and input scale (a model
    runs once per fidelity sample and per proof, and requantizing 4M weights each time shows)."""
    key = (node.outputs[0], node.op, x.frac, ctx.wfrac, tuple(x.shape))
    prep = ctx.cache.get(key)
    if prep is None:
        prep = ctx.cache[key] = make()
    return prep


def _bounds(prep: dict, x: QTensor, compute):
    """The output bounds of a linear node: they depend on the input bounds alone, which are the
    same on every run of a model, so they are computed once and reused while those match."""
    seen = prep.get("bounds")
    if seen is not None and np.array_equal(seen[0], x.lo) and np.array_equal(seen[1], x.hi):
        return seen[2], seen[3]
    lo, hi = compute()
    prep["bounds"] = (x.lo.copy(), x.hi.copy(), lo, hi)
    return lo, hi


def _dense_prep(wq: np.ndarray, **extra) -> dict:
    return dict(wq=wq, wneg=np.minimum(wq, 0), abs_rows=np.abs(wq).sum(axis=-1, dtype=np.float64), **extra)


def weight_frac(ctx: Context, w: np.ndarray, per_element: bool = False) -> int:
    """Fraction bits for a constant tensor: ``ctx.wfrac`` significant bits below its largest
    magnitude; per-element multipliers (BatchNorm, Div by a vector) also keep 8 significant
    bits of their smallest one, since each multiplies a different input."""
    w = np.abs(np.asarray(w, np.float64))
    big = float(w.max()) if w.size else 0.0
    if big == 0.0:
        return 0
    f = ctx.wfrac - 1 - ceil_log2(big)
    if per_element:
        small = float(w[w > 0].min())
        f = max(f, 8 - floor_log2(small))
    return int(min(max(f, 0), 40))


# --- linear layers --------------------------------------------------------------------------


def op_gemm(ctx, node, x):
    a = node.attrs
    if a.get("transA", 0):
        raise OpError(f"{ctx.graph.source}: Gemm node '{node.name}' with transA=1 is not supported")

    def weights():
        w = ctx.const(node.inputs[1])
        w = w.T if not a.get("transB", 0) else w  # (N, K)
        w = w * a.get("alpha", 1.0)
        bias = np.zeros(w.shape[0])
        if len(node.inputs) > 2 and node.inputs[2]:
            bias = np.broadcast_to(ctx.const(node.inputs[2]) * a.get("beta", 1.0), (w.shape[0],))
        return w, bias

    return _dense(ctx, node, x, weights, lambda n_out: (1, n_out))


def op_matmul(ctx, node, x):
    w = ctx.const(node.inputs[1])
    if w.ndim != 2 or x.values.ndim > 2:
        raise OpError(f"{ctx.graph.source}: MatMul node '{node.name}' supports a 2-D constant right-hand side and a vector input")
    return _dense(ctx, node, x, lambda: (w.T, np.zeros(w.shape[1])),
                  lambda n_out: ctx.graph.shapes.get(node.outputs[0]) or (1, n_out))


def _dense(ctx, node, x, weights, out_shape):
    def make():
        w, bias = weights()
        wf = weight_frac(ctx, w)
        return _dense_prep(fixedpoint.quantize(w, wf), wf=wf, bq=fixedpoint.quantize(bias, x.frac + wf))

    prep = _prepared(ctx, node, x, make)
    wq, bq, wf = prep["wq"], prep["bq"], prep["wf"]
    n_out, k = wq.shape
    if x.values.size != k:
        raise OpError(f"{ctx.graph.source}: weight expects {k} inputs, tensor has shape {x.shape}")
    t = _affine_dense(ctx, x, wq, bq, tuple(out_shape(n_out)), prep)
    return normalize(ctx, QTensor(t.signal, x.frac + wf, t.lo, t.hi))


def _pads(node, spatial: int):
    p = list(node.attrs.get("pads", [0] * 2 * spatial))
    if node.attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
        raise OpError(f"node '{node.name}': auto_pad={node.attrs['auto_pad']!r} is not supported; export with explicit pads")
    return p[:spatial], p[spatial:]


def _windows(in_shape, kernel, strides, pads_begin, pads_end, dilations):
    """Index of the input element for each (output position, kernel offset), -1 for padding."""
    c, h, w = in_shape
    kh, kw = kernel
    oh = (h + pads_begin[0] + pads_end[0] - dilations[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (w + pads_begin[1] + pads_end[1] - dilations[1] * (kw - 1) - 1) // strides[1] + 1
    oy, ox, ky, kx = np.meshgrid(np.arange(oh), np.arange(ow), np.arange(kh), np.arange(kw), indexing="ij")
    iy = oy * strides[0] - pads_begin[0] + ky * dilations[0]
    ix = ox * strides[1] - pads_begin[1] + kx * dilations[1]
    valid = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
    pos = np.where(valid, iy * w + ix, -1)  # (oh, ow, kh, kw) index within one channel
    return pos.reshape(oh, ow, kh * kw), oh, ow


def op_conv(ctx, node, x):
    wt = ctx.const(node.inputs[1])  # (Cout, Cin/g, kh, kw)
    if wt.ndim != 4 or len(x.shape) != 4:
        raise OpError(f"{ctx.graph.source}: Conv node '{node.name}': only 2-D convolutions are supported")
    g = node.attrs.get("group", 1)
    cout, cin_g, kh, kw = wt.shape
    _, cin, h, w = x.shape
    pb, pe = _pads(node, 2)
    pos, oh, ow = _windows((cin, h, w), (kh, kw), node.attrs.get("strides", [1, 1]), pb, pe,
                           node.attrs.get("dilations", [1, 1]))
    _check_size(ctx, node, cout * cin_g * kh * kw * int(np.prod(pos.shape[:2])), "multiply-adds")

    def make():
        bias = ctx.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else np.zeros(cout)
        wf = weight_frac(ctx, wt)
        wq = fixedpoint.quantize(wt, wf).reshape(cout, cin_g, kh * kw)
        # patch matrix per group: row (ci, k) and column (y, x) name the input element the
        # weight of (ci, k) multiplies at output position (y, x); padding names an appended zero
        ci, kk = np.meshgrid(np.arange(cin_g), np.arange(kh * kw), indexing="ij")
        p = pos.reshape(oh * ow, kh * kw).T[kk.ravel()]  # (cin_g * kk, oh * ow)
        chan = np.arange(g)[:, None, None] * cin_g + ci.ravel()[None, :, None]
        patches = np.where(p[None] >= 0, chan * h * w + p[None], cin * h * w)  # (g, cin_g * kk, oh * ow)
        bq = fixedpoint.quantize(bias, x.frac + wf)
        return _dense_prep(wq.reshape(g, cout // g, cin_g * kh * kw), wf=wf, wq_conv=wq, patches=patches,
                           bq=bq, bq_groups=bq.reshape(g, cout // g, 1))

    prep = _prepared(ctx, node, x, make)
    wf, wq, patches = prep["wf"], prep["wq_conv"], prep["patches"]

    def patch(a):
        return np.append(a.ravel(), np.zeros(1, a.dtype))[patches]

    vals = linear.dense_values(prep["wq"], patch(x.values), prep["bq_groups"])
    lo, hi = _bounds(prep, x, lambda: linear.dense_bounds(prep["wq"], patch(x.lo), patch(x.hi), prep["bq_groups"],
                                                          prep["wneg"], prep["abs_rows"]))
    out_shape = (1, cout, oh, ow)
    vals, lo, hi = (a.reshape(out_shape) for a in (vals, lo, hi))
    if ctx.b.emit:
        co, ci, kk, y, xx = np.meshgrid(np.arange(cout), np.arange(cin_g), np.arange(kh * kw), np.arange(oh),
                                        np.arange(ow), indexing="ij")
        in_c = (co // (cout // g)) * cin_g + ci
        p = pos[y, xx, kk]
        valid = p >= 0
        rows = ((co * oh + y) * ow + xx)[valid]
        cols = (in_c * h * w + p)[valid]
        wv = wq[co, ci, kk][valid]
        keep = wv != 0
        bq = np.repeat(prep["bq"], oh * ow)
        sig = ctx.b.linear(x.signal.reshape(-1), rows[keep], cols[keep], wv[keep], vals.ravel(), const=bq)
    else:
        sig = Signal(None, vals.ravel())
    return normalize(ctx, QTensor(sig.reshape(out_shape), x.frac + wf, lo, hi))


def op_batchnorm(ctx, node, x):
    gamma, beta, mean, var = (ctx.const(n) for n in node.inputs[1:5])
    eps = node.attrs.get("epsilon", 1e-5)
    scale = gamma / np.sqrt(var + eps)
    return _channel_affine(ctx, x, scale, beta - mean * scale)


def _channel_affine(ctx, x, scale, shift):
    """y = scale[c] * x + shift[c] over axis 1 (or elementwise if shapes match)."""
    shape = x.shape
    n = x.values.size
    idx = np.arange(n)
    s_full = np.broadcast_to(_per_channel(scale, shape), shape).ravel()
    b_full = np.broadcast_to(_per_channel(shift, shape), shape).ravel()
    wf = weight_frac(ctx, s_full, per_element=True)
    t = _affine(ctx, x, idx, idx, fixedpoint.quantize(s_full, wf), fixedpoint.quantize(b_full, x.frac + wf), shape)
    return normalize(ctx, QTensor(t.signal, x.frac + wf, t.lo, t.hi))


def _per_channel(v, shape):
    v = np.asarray(v, np.float64)
    if v.ndim == 1 and len(shape) >= 2 and v.size == shape[1]:
        return v.reshape((1, -1) + (1,) * (len(shape) - 2))
    return v


# --- elementwise ------------------------------------------------------------------------------


def _broadcast(ctx, t: QTensor, shape) -> QTensor:
    if t.shape == tuple(shape):
        return t
    idx = np.broadcast_to(np.arange(t.values.size).reshape(t.shape), shape)
    sig = t.signal.gather(idx)
    return QTensor(sig, t.frac, t.lo.ravel()[idx.ravel()].reshape(shape), t.hi.ravel()[idx.ravel()].reshape(shape))


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


def _negate(ctx, t: QTensor) -> QTensor:
    lc = -t.signal.lc if ctx.b.emit else None
    return QTensor(Signal(lc, -t.values), t.frac, -t.hi, -t.lo)


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


# --- smooth activations: piecewise-linear interpolation -----------------------------------------

# Interpolation ranges and knot spacing: 33 knots each; constant outside the range.
PWL = {"Sigmoid": (8.0, 0.5), "Tanh": (4.0, 0.25)}


def pwl_error(fn, lo: float, hi: float, step: float) -> float:
    """max |fn - its interpolation| over the real line (dense grid; tails are flat)."""
    knots = np.arange(lo, hi + step / 2, step)
    grid = np.linspace(lo - 4 * (hi - lo), hi + 4 * (hi - lo), 400_001)
    approx = np.interp(grid, knots, fn(knots))
    return float(np.max(np.abs(fn(grid) - approx)))


def _pwl(ctx, node, x: QTensor, fn, exact_fn) -> QTensor:
    """f(b_0) + sum_k (m_k - m_(k-1)) relu(x - b_k): exact interpolation of fn at the knots
    (the knots' values from ``exact_fn``, correctly rounded, so the table is the same on every
    machine; ``fn``, numpy's, only estimates the interpolation error for the manifest)."""
    half, step = PWL[node.op]
    knots = np.arange(-half, half + step / 2, step)
    kq = fixedpoint.quantize(knots, x.frac)
    vals_at = exact_fn(knots)
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
        from zkml.circuit.builder import LC

        acc_lc = acc_lc + LC.constant(np.full(n, c0, np.int64))
    t = QTensor(Signal(acc_lc, (acc_vals + c0).reshape(x.shape)), x.frac + wf,
                (lo + c0).reshape(x.shape), (hi + c0).reshape(x.shape))
    ctx.output_transforms.setdefault("_approximations", {})[node.name] = {
        "op": node.op, "interpolation_error": pwl_error(fn, -half, half, step),
        "knots": f"[-{half:g}, {half:g}] step {step:g}"}
    return normalize(ctx, t)


def _const_lc(ctx, n: int, value: int):
    from zkml.circuit.builder import LC

    return LC.constant(np.full(n, value, np.int64))


def op_sigmoid(ctx, node, x):
    return _pwl(ctx, node, x, lambda v: 1.0 / (1.0 + np.exp(-v)), deterministic.sigmoid)


def op_tanh(ctx, node, x):
    return _pwl(ctx, node, x, np.tanh, deterministic.tanh)


# --- pooling ----------------------------------------------------------------------------------


def _require_2d(ctx, node, x):
    if len(x.shape) != 4:
        raise OpError(f"{ctx.graph.source}: {node.op} node '{node.name}' has a {len(x.shape) - 2}-D input "
                      f"{x.shape}; only 2-D (N, C, H, W) is supported")


def op_maxpool(ctx, node, x):
    _require_2d(ctx, node, x)
    if node.attrs.get("ceil_mode", 0) or len(node.outputs) > 1:
        raise OpError(f"{ctx.graph.source}: MaxPool node '{node.name}': ceil_mode and indices output are not supported")
    _, c, h, w = x.shape
    k = node.attrs["kernel_shape"]
    pb, pe = _pads(node, 2)
    pos, oh, ow = _windows((c, h, w), k, node.attrs.get("strides", [1, 1]), pb, pe, node.attrs.get("dilations", [1, 1]))
    _check_size(ctx, node, c * pos.size, "comparisons")
    pos = np.where(pos >= 0, pos, pos.max(axis=-1, keepdims=True))  # padding repeats a real element
    idx = (np.arange(c)[:, None, None, None] * h * w + pos[None]).reshape(c * oh * ow, -1)
    cur = _gather(ctx, x, idx[:, 0])
    for j in range(1, idx.shape[1]):
        nxt = _gather(ctx, x, idx[:, j])
        bits = fixedpoint.bits_for(int((cur.lo - nxt.hi).min()), int((cur.hi - nxt.lo).max()))
        sig = maximum(ctx.b, cur.signal, nxt.signal, bits)
        cur = QTensor(sig, x.frac, np.maximum(cur.lo, nxt.lo), np.maximum(cur.hi, nxt.hi))
    shape = (1, c, oh, ow)
    return QTensor(cur.signal.reshape(shape), x.frac, cur.lo.reshape(shape), cur.hi.reshape(shape))


# Past this many terms a single op would need gigabytes to compile and hours to prove.
MAX_OP_TERMS = 20_000_000


def _check_size(ctx, node, terms: int, what: str) -> None:
    if terms > MAX_OP_TERMS:
        raise OpError(
            f"{ctx.graph.source}: node '{node.name}' ({node.op}) needs {terms:,} {what}, more than a "
            f"circuit can hold ({MAX_OP_TERMS:,}); use a smaller input or kernel")


def _gather(ctx, x: QTensor, idx) -> QTensor:
    return QTensor(x.signal.gather(idx), x.frac, x.lo.ravel()[idx], x.hi.ravel()[idx])


def op_avgpool(ctx, node, x, global_pool=False):
    _require_2d(ctx, node, x)
    _, c, h, w = x.shape
    if global_pool:
        k, strides, pb, pe = [h, w], [1, 1], [0, 0], [0, 0]
    else:
        k, strides = node.attrs["kernel_shape"], node.attrs.get("strides", [1, 1])
        pb, pe = _pads(node, 2)
    pos, oh, ow = _windows((c, h, w), k, strides, pb, pe, [1, 1])
    count = (pos >= 0).sum(-1) if not node.attrs.get("count_include_pad", 0) else np.full(pos.shape[:2], pos.shape[-1])
    # mean = round(sum * m / 2^s) with m = round(2^s / count): exact for powers of two
    s = max(ctx.wfrac, int(count.max() - 1).bit_length() + 8)  # ceil(log2 count) + 8, in integers
    m = np.round((1 << s) / count).astype(np.int64)  # (oh, ow)
    cc, y, xx, kk = np.meshgrid(np.arange(c), np.arange(oh), np.arange(ow), np.arange(pos.shape[-1]), indexing="ij")
    p = pos[y, xx, kk]
    valid = p >= 0
    rows = ((cc * oh + y) * ow + xx)[valid]
    cols = (cc * h * w + p)[valid]
    vals = np.broadcast_to(m[None, :, :, None], cc.shape)[valid]
    t = _affine(ctx, x, rows, cols, vals, np.zeros(c * oh * ow, np.int64), (1, c, oh, ow))
    return normalize(ctx, QTensor(t.signal, x.frac + s, t.lo, t.hi))


# --- shapes -----------------------------------------------------------------------------------


def op_reshape(ctx, node, x):
    shape = tuple(ctx.graph.shapes[node.outputs[0]])
    if int(np.prod(shape)) != x.values.size:
        raise OpError(f"{ctx.graph.source}: node '{node.name}' ({node.op}): cannot reshape {x.shape} to {shape}")
    return QTensor(x.signal.reshape(shape), x.frac, x.lo.reshape(shape), x.hi.reshape(shape))


def op_transpose(ctx, node, x):
    perm = node.attrs.get("perm", list(reversed(range(len(x.shape)))))
    idx = np.transpose(np.arange(x.values.size).reshape(x.shape), perm)
    t = _gather(ctx, x, idx.ravel())
    shape = idx.shape
    return QTensor(t.signal.reshape(shape), x.frac, t.lo.reshape(shape), t.hi.reshape(shape))


def op_concat(ctx, node, *xs):
    axis = node.attrs["axis"] % len(xs[0].shape)
    f = max(t.frac for t in xs)
    xs = [_scale_to(ctx, t, f) for t in xs]
    offsets = np.cumsum([0] + [t.values.size for t in xs])
    index = np.concatenate([(np.arange(t.values.size) + o).reshape(t.shape) for t, o in zip(xs, offsets)], axis=axis)
    vals = np.concatenate([t.values.ravel() for t in xs])
    lo = np.concatenate([t.lo.ravel() for t in xs])
    hi = np.concatenate([t.hi.ravel() for t in xs])
    if ctx.b.emit:
        from zkml.circuit.builder import LC

        parts = [t.signal.lc for t in xs]
        lc = LC(np.concatenate([p.rows + o for p, o in zip(parts, offsets)]), np.concatenate([p.wires for p in parts]),
                np.concatenate([p.coeffs for p in parts]), int(offsets[-1]))
    else:
        lc = None
    joined = QTensor(Signal(lc, vals), f, lo, hi)
    t = _gather(ctx, joined, index.ravel())
    return QTensor(t.signal.reshape(index.shape), f, t.lo.reshape(index.shape), t.hi.reshape(index.shape))


def op_identity(ctx, node, x, *rest):
    return x


_FLOAT_TYPES = {1, 10, 11, 16}  # float, float16, double, bfloat16


def op_cast(ctx, node, x):
    """Casts between float types change nothing in fixed point; others would change values."""
    if node.attrs.get("to") not in _FLOAT_TYPES:
        raise OpError(f"{ctx.graph.source}: Cast node '{node.name}' casts to type {node.attrs.get('to')}; "
                      "only casts between float types are supported")
    return x


def op_output_only(ctx, node, x):
    """Softmax and ArgMax are monotone/derived: proved as the logits they are computed from and
    applied to the public outputs after verification."""
    if node.outputs[0] not in ctx.graph.outputs:
        raise OpError(f"{ctx.graph.source}: {node.op} node '{node.name}' is only supported at the model's output")
    ctx.output_transforms[node.outputs[0]] = {"op": node.op, "axis": node.attrs.get("axis", -1)}
    return x


OPS = {
    "Gemm": op_gemm, "MatMul": op_matmul, "Conv": op_conv, "BatchNormalization": op_batchnorm,
    "Add": op_add, "Sub": lambda c, n, x, y=None: op_add(c, n, x, y, sub=True),
    "Mul": op_mul, "Div": lambda c, n, x, y=None: op_mul(c, n, x, y, divide=True),
    "Relu": op_relu, "LeakyRelu": op_leaky_relu, "Clip": op_clip, "Sigmoid": op_sigmoid, "Tanh": op_tanh,
    "MaxPool": op_maxpool, "AveragePool": op_avgpool,
    "GlobalAveragePool": lambda c, n, x: op_avgpool(c, n, x, global_pool=True),
    "Flatten": op_reshape, "Reshape": op_reshape, "Squeeze": op_reshape, "Unsqueeze": op_reshape,
    "Transpose": op_transpose, "Concat": op_concat, "Identity": op_identity, "Dropout": op_identity, "Cast": op_cast,
    "Softmax": op_output_only, "ArgMax": op_output_only,
}

