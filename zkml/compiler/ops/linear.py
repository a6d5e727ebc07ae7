"""Linear layers with constant weights: Gemm, MatMul, Conv, ConvTranspose. Integer weights at their own
scale make linear combinations (no constraints); ``normalize`` rescales the result."""

from __future__ import annotations

import numpy as np

from zkml.circuit import fixedpoint
from zkml.circuit.builder import Signal
from zkml.compiler import linear
from zkml.compiler.ops.common import (OpError, _affine, _affine_dense, _bounds, _check_size, _dense_prep, _pads,
                                      _prepared, normalize, weight_frac, windows_nd)
from zkml.compiler.qtensor import QTensor


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
    if ctx.committed is not None:  # private weights: one constraint per product (compiler/committed_weights.py)
        from zkml.compiler.committed_weights import weighted_sum

        wq, bq, wf = ctx.committed.quantized(ctx, node, x, weights)
        n_out, k = wq.shape
        if x.values.size != k:
            raise OpError(f"{ctx.graph.source}: weight expects {k} inputs, tensor has shape {x.shape}")
        t = weighted_sum(ctx, node, x, wq, bq, wf, np.repeat(np.arange(n_out), k), np.tile(np.arange(k), n_out),
                         np.arange(n_out * k), np.arange(n_out), tuple(out_shape(n_out)))
        return normalize(ctx, t)

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


def op_conv(ctx, node, x):
    """Conv in 1-D, 2-D or 3-D (any number of spatial axes), groups, dilations, strides, pads."""
    wt = ctx.const(node.inputs[1])  # (Cout, Cin/g, *kernel)
    nd = wt.ndim - 2
    if nd < 1 or len(x.shape) != wt.ndim:
        raise OpError(f"{ctx.graph.source}: Conv node '{node.name}': weight {wt.shape} does not match input {x.shape}")
    g = node.attrs.get("group", 1)
    cout, cin_g = wt.shape[:2]
    kernel = list(wt.shape[2:])
    kk_n = int(np.prod(kernel))
    cin, spatial = x.shape[1], list(x.shape[2:])
    hw = int(np.prod(spatial))
    strides, dil = node.attrs.get("strides", [1] * nd), node.attrs.get("dilations", [1] * nd)
    pb, pe = _pads(node, nd, spatial, kernel, strides, dil)
    pos, out_sp = windows_nd(spatial, kernel, strides, pb, pe, dil)
    n_pos = pos.shape[0]
    _check_size(ctx, node, cout * cin_g * kk_n * n_pos, "multiply-adds")
    if ctx.committed is not None:
        return _conv_committed(ctx, node, x, wt, g, cin_g, kk_n, hw, pos, out_sp)

    def make():
        bias = ctx.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else np.zeros(cout)
        wf = weight_frac(ctx, wt)
        wq = fixedpoint.quantize(wt, wf).reshape(cout, cin_g, kk_n)
        # patch matrix per group: row (ci, k) and column (output position) name the input element
        # the weight of (ci, k) multiplies at that position; padding names an appended zero
        ci, kk = np.meshgrid(np.arange(cin_g), np.arange(kk_n), indexing="ij")
        p = pos.T[kk.ravel()]  # (cin_g * kk, positions)
        chan = np.arange(g)[:, None, None] * cin_g + ci.ravel()[None, :, None]
        patches = np.where(p[None] >= 0, chan * hw + p[None], cin * hw)  # (g, cin_g * kk, positions)
        bq = fixedpoint.quantize(bias, x.frac + wf)
        return _dense_prep(wq.reshape(g, cout // g, cin_g * kk_n), wf=wf, wq_conv=wq, patches=patches,
                           bq=bq, bq_groups=bq.reshape(g, cout // g, 1))

    prep = _prepared(ctx, node, x, make)
    wf, wq, patches = prep["wf"], prep["wq_conv"], prep["patches"]

    def patch(a):
        return np.append(a.ravel(), np.zeros(1, a.dtype))[patches]

    vals = linear.dense_values(prep["wq"], patch(x.values), prep["bq_groups"])
    lo, hi = _bounds(prep, x, lambda: linear.dense_bounds(prep["wq"], patch(x.lo), patch(x.hi), prep["bq_groups"],
                                                          prep["wneg"], prep["abs_rows"]))
    out_shape = (1, cout) + tuple(out_sp)
    vals, lo, hi = (a.reshape(out_shape) for a in (vals, lo, hi))
    if ctx.b.emit:
        co, ci, kk, y = np.meshgrid(np.arange(cout), np.arange(cin_g), np.arange(kk_n), np.arange(n_pos), indexing="ij")
        in_c = (co // (cout // g)) * cin_g + ci
        p = pos[y, kk]
        valid = p >= 0
        rows = (co * n_pos + y)[valid]
        cols = (in_c * hw + p)[valid]
        wv = wq[co, ci, kk][valid]
        keep = wv != 0
        bq = np.repeat(prep["bq"], n_pos)
        sig = ctx.b.linear(x.signal.reshape(-1), rows[keep], cols[keep], wv[keep], vals.ravel(), const=bq)
    else:
        sig = Signal(None, vals.ravel())
    return normalize(ctx, QTensor(sig.reshape(out_shape), x.frac + wf, lo, hi))


def _conv_committed(ctx, node, x, wt, g, cin_g, kk_n, hw, pos, out_sp):
    """Conv with private weights: one product constraint per (output, input, kernel offset)."""
    from zkml.compiler.committed_weights import weighted_sum

    cout, n_pos = wt.shape[0], pos.shape[0]

    def weights():
        bias = ctx.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else np.zeros(cout)
        return wt.reshape(cout, cin_g * kk_n), bias

    wq, bq, wf = ctx.committed.quantized(ctx, node, x, weights)
    if wq.shape != (cout, cin_g * kk_n):
        raise OpError(f"{ctx.graph.source}: Conv node '{node.name}': weights {wq.shape} in the weights file, the "
                      f"architecture needs {(cout, cin_g * kk_n)}")
    co, ci, kk, y = np.meshgrid(np.arange(cout), np.arange(cin_g), np.arange(kk_n), np.arange(n_pos), indexing="ij")
    in_c = (co // (cout // g)) * cin_g + ci
    p = pos[y, kk]
    valid = p >= 0  # padding reads a zero: no product (the architecture's, not the weights')
    out_shape = (1, cout) + tuple(out_sp)
    if ctx.b.lookups and g == 1:  # a challenge is drawn anyway: Y = W X checked at one random point
        from zkml.compiler.committed_weights import conv_by_evaluation

        ci, kk = np.meshgrid(np.arange(cin_g), np.arange(kk_n), indexing="ij")
        p = pos.T[kk.ravel()]  # (cin * kk, positions): position within the channel, -1 for padding
        patches = np.where(p >= 0, ci.ravel()[:, None] * hw + p, -1)
        return normalize(ctx, conv_by_evaluation(ctx, node, x, wq, bq, wf, patches, out_shape))
    t = weighted_sum(ctx, node, x, wq, bq, wf, (co * n_pos + y)[valid], (in_c * hw + p)[valid],
                     ((co * cin_g + ci) * kk_n + kk)[valid], np.repeat(np.arange(cout), n_pos), out_shape)
    return normalize(ctx, t)


def op_conv_transpose(ctx, node, x):
    """ConvTranspose in 1-D/2-D/3-D: out[co, i * s + k * d - pad] += w[ci, co, k] x[ci, i] (linear)."""
    if ctx.committed is not None:
        raise OpError(f"{ctx.graph.source}: ConvTranspose node '{node.name}': --weights committed supports Gemm, "
                      "MatMul and Conv weights; compile with --weights fixed")
    wt = ctx.const(node.inputs[1])  # (Cin, Cout/g, *kernel)
    nd = wt.ndim - 2
    if nd < 1 or len(x.shape) != wt.ndim:
        raise OpError(f"{ctx.graph.source}: ConvTranspose node '{node.name}': weight {wt.shape} does not match input {x.shape}")
    a = node.attrs
    g = a.get("group", 1)
    cin, cout_g = wt.shape[:2]
    cout = cout_g * g
    kernel = list(wt.shape[2:])
    spatial = list(x.shape[2:])
    strides, dil = a.get("strides", [1] * nd), a.get("dilations", [1] * nd)
    out_pad = a.get("output_padding", [0] * nd)
    mode = a.get("auto_pad", b"NOTSET")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    full = [s * (n - 1) + op + (k - 1) * d + 1 for n, k, s, d, op in zip(spatial, kernel, strides, dil, out_pad)]
    if "output_shape" in a or mode in ("SAME_UPPER", "SAME_LOWER"):
        want = list(a["output_shape"])[-nd:] if "output_shape" in a else [n * s for n, s in zip(spatial, strides)]
        total = [f - w for f, w in zip(full, want)]
        upper = mode == "SAME_UPPER"
        pb = [t // 2 if upper else t - t // 2 for t in total]
        pe = [t - t // 2 if upper else t // 2 for t in total]
    elif mode in ("NOTSET", "VALID"):
        p = list(a.get("pads", [0] * 2 * nd)) if mode == "NOTSET" else [0] * 2 * nd
        pb, pe = p[:nd], p[nd:]
    else:
        raise OpError(f"{ctx.graph.source}: ConvTranspose node '{node.name}': auto_pad={mode!r} is not supported")
    out_sp = [f - b - e for f, b, e in zip(full, pb, pe)]
    n_in, n_k, n_out = int(np.prod(spatial)), int(np.prod(kernel)), int(np.prod(out_sp))
    _check_size(ctx, node, cin * cout_g * n_in * n_k, "multiply-adds")

    def make():
        bias = ctx.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else np.zeros(cout)
        wf = weight_frac(ctx, wt)
        wq = fixedpoint.quantize(wt, wf).reshape(cin, cout_g, n_k)
        grids = np.meshgrid(*[np.arange(n) for n in spatial], *[np.arange(k) for k in kernel], indexing="ij")
        valid = np.ones(grids[0].shape, bool)
        flat = np.zeros(grids[0].shape, np.int64)
        for d in range(nd):
            o = grids[d] * strides[d] + grids[nd + d] * dil[d] - pb[d]
            valid &= (o >= 0) & (o < out_sp[d])
            flat = flat * out_sp[d] + o
        opos = np.where(valid, flat, -1).reshape(n_in, n_k)  # output position of (input position, offset)
        ci, co, i, k = np.meshgrid(np.arange(cin), np.arange(cout_g), np.arange(n_in), np.arange(n_k), indexing="ij")
        o = opos[i, k]
        ok = o >= 0
        out_c = (ci // (cin // g)) * cout_g + co
        rows = (out_c * n_out + o)[ok]
        cols = (ci * n_in + i)[ok]
        w = wq[ci, co, k][ok]
        return dict(wf=wf, rows=rows, cols=cols, w=w, bq=np.repeat(fixedpoint.quantize(bias, x.frac + wf), n_out))

    prep = _prepared(ctx, node, x, make)
    out_shape = (1, cout) + tuple(out_sp)
    t = _affine(ctx, x, prep["rows"], prep["cols"], prep["w"], prep["bq"], out_shape)
    return normalize(ctx, QTensor(t.signal, x.frac + prep["wf"], t.lo, t.hi))
