"""Pooling in 1-D, 2-D and 3-D: MaxPool through the max gadget (one comparison per extra
window element), AveragePool and GlobalAveragePool as sums times a rounded reciprocal (linear,
then a rescale; fixedpoint.mean_multiplier), GlobalMaxPool as a tree of max gadgets, LpPool
with p = 1 as a sum of |x| (one ReLU each). LpPool with p = 2 needs a square root: refused."""

from __future__ import annotations

import numpy as np

from zkml.circuit import fixedpoint
from zkml.circuit.gadgets.relu import maximum
from zkml.compiler.ops.common import (OpError, _affine, _check_size, _gather, _pads, max_columns, normalize,
                                      windows_nd)
from zkml.compiler.qtensor import QTensor


def _spatial(ctx, node, x):
    if len(x.shape) < 3:
        raise OpError(f"{ctx.graph.source}: {node.op} node '{node.name}' has input {x.shape}; "
                      "pooling needs (N, C, spatial...)")
    return x.shape[1], list(x.shape[2:])


def _geometry(ctx, node, x, ceil_ok: bool = True):
    c, spatial = _spatial(ctx, node, x)
    nd = len(spatial)
    k = list(node.attrs["kernel_shape"])
    strides = list(node.attrs.get("strides", [1] * nd))
    dil = list(node.attrs.get("dilations", [1] * nd))
    pb, pe = _pads(node, nd, spatial, k, strides, dil)
    ceil = bool(node.attrs.get("ceil_mode", 0))
    pos, out_sp = windows_nd(spatial, k, strides, pb, pe, dil, ceil_mode=ceil)
    if ceil and not ceil_ok and out_sp != windows_nd(spatial, k, strides, pb, pe, dil)[1]:
        raise OpError(f"{ctx.graph.source}: {node.op} node '{node.name}': ceil_mode=1 adds partial windows; "
                      "only ceil_mode=0 (or a ceil_mode that changes nothing) is supported")
    return c, spatial, pos, out_sp


def op_maxpool(ctx, node, x):
    if len(node.outputs) > 1 and node.outputs[1]:
        raise OpError(f"{ctx.graph.source}: MaxPool node '{node.name}': the indices output is not supported")
    c, spatial, pos, out_sp = _geometry(ctx, node, x)
    hw = int(np.prod(spatial))
    n_pos = pos.shape[0]
    _check_size(ctx, node, c * pos.size, "comparisons")
    pos = np.where(pos >= 0, pos, pos.max(axis=-1, keepdims=True))  # padding repeats a real element
    idx = (np.arange(c)[:, None, None] * hw + pos[None]).reshape(c * n_pos, -1)
    cur = _gather(ctx, x, idx[:, 0])
    for j in range(1, idx.shape[1]):
        nxt = _gather(ctx, x, idx[:, j])
        bits = fixedpoint.bits_for(int((cur.lo - nxt.hi).min()), int((cur.hi - nxt.lo).max()))
        sig = maximum(ctx.b, cur.signal, nxt.signal, bits)
        cur = QTensor(sig, x.frac, np.maximum(cur.lo, nxt.lo), np.maximum(cur.hi, nxt.hi))
    shape = (1, c) + tuple(out_sp)
    return QTensor(cur.signal.reshape(shape), x.frac, cur.lo.reshape(shape), cur.hi.reshape(shape))


def op_global_maxpool(ctx, node, x):
    c, spatial = _spatial(ctx, node, x)
    hw = int(np.prod(spatial))
    t = max_columns(ctx, x, np.arange(c * hw).reshape(c, hw))
    shape = (1, c) + (1,) * len(spatial)
    return QTensor(t.signal.reshape(shape), x.frac, t.lo.reshape(shape), t.hi.reshape(shape))


def _window_sum(ctx, x, c, hw, pos, weights):
    """out[ch, p] = sum over valid k of weights[p] * x[ch, pos[p, k]] (linear)."""
    n_pos, kk = pos.shape
    cc, y, k = np.meshgrid(np.arange(c), np.arange(n_pos), np.arange(kk), indexing="ij")
    p = pos[y, k]
    valid = p >= 0
    rows = (cc * n_pos + y)[valid]
    cols = (cc * hw + p)[valid]
    vals = np.broadcast_to(np.asarray(weights)[None, :, None], cc.shape)[valid]
    return _affine(ctx, x, rows, cols, vals, np.zeros(c * n_pos, np.int64), (c * n_pos,))


def op_avgpool(ctx, node, x, global_pool=False):
    if global_pool:
        c, spatial = _spatial(ctx, node, x)
        nd = len(spatial)
        pos, out_sp = windows_nd(spatial, spatial, [1] * nd, [0] * nd, [0] * nd, [1] * nd)
    else:
        c, spatial, pos, out_sp = _geometry(ctx, node, x, ceil_ok=False)
    hw = int(np.prod(spatial))
    include_pad = bool(node.attrs.get("count_include_pad", 0))
    count = np.full(pos.shape[0], pos.shape[1]) if include_pad else (pos >= 0).sum(-1)
    s = fixedpoint.mean_shift(ctx.wfrac, int(count.max()))
    m = fixedpoint.mean_multiplier(count, s)
    t = _window_sum(ctx, x, c, hw, pos, m)
    shape = (1, c) + tuple(out_sp)
    return normalize(ctx, QTensor(t.signal.reshape(shape), x.frac + s, t.lo.reshape(shape), t.hi.reshape(shape)))


def op_global_avgpool(ctx, node, x):
    return op_avgpool(ctx, node, x, global_pool=True)


def op_lppool(ctx, node, x):
    p = int(node.attrs.get("p", 2))
    if p != 1:
        raise OpError(f"{ctx.graph.source}: LpPool node '{node.name}' has p={p}: (sum |x|^p)^(1/p) needs a "
                      "p-th root, which zkml cannot compute exactly without lookup tables; only p=1 is supported")
    from zkml.compiler.ops.elementwise import absolute

    c, spatial, pos, out_sp = _geometry(ctx, node, x, ceil_ok=False)
    a = absolute(ctx, x)
    t = _window_sum(ctx, a, c, int(np.prod(spatial)), pos, np.ones(pos.shape[0], np.int64))
    shape = (1, c) + tuple(out_sp)
    return QTensor(t.signal.reshape(shape), x.frac, t.lo.reshape(shape), t.hi.reshape(shape))


def op_global_lppool(ctx, node, x):
    p = int(node.attrs.get("p", 2))
    if p != 1:
        raise OpError(f"{ctx.graph.source}: GlobalLpPool node '{node.name}' has p={p}: needs a p-th root (a lookup "
                      "table); only p=1 is supported")
    from zkml.compiler.ops.elementwise import absolute

    c, spatial = _spatial(ctx, node, x)
    hw = int(np.prod(spatial))
    a = absolute(ctx, x)
    rows = np.repeat(np.arange(c), hw)
    t = _affine(ctx, a, rows, np.arange(c * hw), np.ones(c * hw, np.int64), np.zeros(c, np.int64), (c,))
    shape = (1, c) + (1,) * len(spatial)
    return QTensor(t.signal.reshape(shape), x.frac, t.lo.reshape(shape), t.hi.reshape(shape))
