"""Normalization layers. BatchNormalization (constant statistics) is a per-channel affine map (no
constraints until the rescale). LayerNormalization and InstanceNormalization normalise groups
with their own statistics, exactly in integers until one square root and one division:

    c_i = K x_i - sum_j x_j                      (K (x_i - mean), exact)
    V = sum c_i^2,  E = round(K^3 eps 2^(2f))    (K^3 (var + eps) at 2^-2f; E >= 1)
    R = isqrt(K (V + E) 2^(2g))                  (K^2 sqrt(var + eps) at 2^-(f+g), floor)
    n_i = divide(c_i K 2^(g+o), R)               ((x_i - mean) / sqrt(var + eps) at 2^-o)

then scale and bias (constants, one rescale). |n_i| <= sqrt(K) / (1 - 1/sqrt(K E) 2^-g) is a
theorem (c_i^2 <= V), so n's range check uses it, not the (much wider) interval bound. Cost per
element: one product (c^2), one division (a product and three range checks); per group one
square root; then the affine rescale. The older ReduceMean/Sub/Pow/Sqrt/Div export of
LayerNorm compiles op by op (Pow 2: a product, Sqrt and Div: the exact gadgets)."""

from __future__ import annotations

import numpy as np

from zkml.compiler.ops.common import _channel_affine


def op_batchnorm(ctx, node, x):
    gamma, beta, mean, var = (ctx.const(n) for n in node.inputs[1:5])
    eps = node.attrs.get("epsilon", 1e-5)
    scale = gamma / np.sqrt(var + eps)
    return _channel_affine(ctx, x, scale, beta - mean * scale)


def normalize_groups(ctx, node, x: QTensor, idx: np.ndarray, eps: float):
    """(n in row order (groups * K,) at its own scale, n's error bound) for the groups idx (G, K)."""
    import math

    from zkml.circuit import fixedpoint
    from zkml.circuit.builder import Signal
    from zkml.circuit.gadgets.divide import isqrt
    from zkml.compiler.deterministic import ceil_log2
    from zkml.compiler.ops.arith import _check, divide_tensors, square
    from zkml.compiler.ops.common import _gather, _scale_to, sum_groups
    from zkml.compiler.qtensor import QTensor

    g_rows, k = idx.shape
    row_of = np.repeat(np.arange(g_rows), k)
    xs = _gather(ctx, x, idx.ravel())
    s = sum_groups(ctx, xs, row_of, g_rows, (g_rows,))
    sb = _gather(ctx, s, row_of)
    lc = (xs.signal.lc.scale(k) - sb.signal.lc) if ctx.b.emit else None
    span = (np.int64(x.hi.max()) - np.int64(x.lo.min())).astype(object) * (k - 1)
    c = QTensor(Signal(lc, k * xs.values - sb.values), x.frac, np.full(xs.values.size, -span, object),
                np.full(xs.values.size, span, object))
    logk = ceil_log2(k) if k > 1 else 0
    c_bits = max(int(span).bit_length(), 1)
    over = 2 * c_bits + 2 * logk - 54
    if over > 0:  # the squares would not fit: centre at a coarser grid (rounded)
        sc = (over + 1) // 2
        keep = ctx.frac
        ctx.frac = x.frac - sc
        from zkml.compiler.ops.common import normalize
        c = normalize(ctx, c)
        ctx.frac = keep
        c_bits = max(int(max(abs(int(c.lo.min())), int(c.hi.max()))).bit_length(), 1)
    fc = c.frac
    v = square(ctx, c)
    v = sum_groups(ctx, QTensor(v.signal.reshape(-1), v.frac, v.lo.ravel(), v.hi.ravel()), row_of, g_rows, (g_rows,))
    e_int = max(int(fixedpoint.quantize(np.array([k ** 3 * eps]), 2 * fc)[0]), 1)
    v_hi = int(v.hi.max()) + e_int
    o = int(max(8, 15 - ceil_log2(math.sqrt(k) * 1.25)))
    g = min(max((58 - (v_hi * k).bit_length()) // 2, 0), max(59 - (c_bits + logk + o), 0))
    from zkml.circuit.builder import LC
    mult = k << (2 * g)
    w_lc = ((v.signal.lc + LC.constant(np.full(g_rows, e_int, np.int64))).scale(mult)) if ctx.b.emit else None
    w_vals = (v.values + e_int) * mult
    w_bits = max(int((v_hi * mult)).bit_length(), 1)
    _check(ctx, node, w_bits, "the variance")
    r = isqrt(ctx.b, Signal(w_lc, w_vals), w_bits)
    r_lo = fixedpoint.isqrt(np.full(g_rows, e_int * mult, np.int64))
    r_hi = fixedpoint.isqrt(np.full(g_rows, v_hi * mult, np.int64))
    rt = QTensor(r, fc + g, r_lo, r_hi)  # its scale only matters through the shift below
    num = _scale_to(ctx, QTensor(Signal(c.signal.lc.scale(k) if ctx.b.emit else None, c.values * k), 0,
                                 c.lo * k, c.hi * k), g + o)
    rm = math.sqrt(k * e_int) * 2.0 ** g
    bound = int(math.sqrt(k) * 2.0 ** o / (1 - 1 / rm)) + 2 if rm > 1.5 else None
    # N = c K 2^(g+o) over R: at scales g + o and g, the quotient lands at o with no shift
    n = divide_tensors(ctx, node, num, _gather(ctx, QTensor(rt.signal, g, rt.lo, rt.hi), row_of), o, q_bound=bound)
    err = math.sqrt(k) / max(rm - 1, 1e-9) + math.sqrt(k) * 0.25 / e_int + 2.0 ** -(o + 1)
    return n, err


def _group_norm(ctx, node, x, idx, scale, bias):
    from zkml.compiler.ops.common import _affine, normalize, weight_frac
    from zkml.compiler.ops.softmax import _back
    from zkml.compiler.ops.tables import record
    from zkml.compiler.qtensor import QTensor

    eps = float(node.attrs.get("epsilon", 1e-5))
    n, err = normalize_groups(ctx, node, x, idx, eps)
    n = _back(ctx, n, idx, x.shape)
    total = x.values.size
    s_full = np.broadcast_to(scale, x.shape).ravel()
    b_full = np.broadcast_to(bias, x.shape).ravel()
    wf = weight_frac(ctx, s_full, per_element=True)
    from zkml.circuit import fixedpoint
    sq = fixedpoint.quantize(s_full, wf)
    t = _affine(ctx, n, np.arange(total), np.arange(total), sq, fixedpoint.quantize(b_full, n.frac + wf), x.shape)
    out = normalize(ctx, QTensor(t.signal, n.frac + wf, t.lo, t.hi))
    big = float(np.max(np.abs(s_full))) if s_full.size else 0.0
    q_err = float(np.max(np.abs(s_full - sq * 2.0 ** -wf))) if s_full.size else 0.0
    record(ctx, node, error_bound=big * err + q_err * np.sqrt(idx.shape[1]) + 2.0 ** -(ctx.frac + 1),
           normalized_error_bound=err)
    return out


def op_layernorm(ctx, node, x, *rest):
    from zkml.compiler.ops.common import OpError, _index_of

    r = len(x.shape)
    axis = int(node.attrs.get("axis", -1)) % r
    k = int(np.prod(x.shape[axis:]))
    idx = _index_of(x).reshape(-1, k)
    scale = ctx.const(node.inputs[1]) if len(node.inputs) > 1 and node.inputs[1] else np.ones(x.shape[axis:])
    bias = ctx.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else np.zeros(x.shape[axis:])
    if len(node.outputs) > 1 and any(node.outputs[1:]):
        raise OpError(f"{ctx.graph.source}: LayerNormalization node '{node.name}': the mean and inverse standard "
                      "deviation outputs are not supported")
    return _group_norm(ctx, node, x, idx, scale, bias)


def op_instancenorm(ctx, node, x, *rest):
    from zkml.compiler.ops.common import OpError, _index_of

    if len(x.shape) < 3:
        raise OpError(f"{ctx.graph.source}: InstanceNormalization node '{node.name}' needs (N, C, ...) input")
    c = x.shape[1]
    idx = _index_of(x).reshape(x.shape[0] * c, -1)
    view = (1, c) + (1,) * (len(x.shape) - 2)
    scale = ctx.const(node.inputs[1]).reshape(view)
    bias = ctx.const(node.inputs[2]).reshape(view)
    return _group_norm(ctx, node, x, idx, scale, bias)
