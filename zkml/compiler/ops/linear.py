"""Linear layers with constant weights: Gemm, MatMul, Conv. Integer weights at their own
scale make linear combinations (no constraints); ``normalize`` rescales the result."""

from __future__ import annotations

import numpy as np

from zkml.circuit import fixedpoint
from zkml.circuit.builder import Signal
from zkml.compiler import linear
from zkml.compiler.ops.common import (OpError, _affine_dense, _bounds, _check_size, _dense_prep, _pads,
                                      _prepared, _windows, normalize, weight_frac)
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
