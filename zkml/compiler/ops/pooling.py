"""Pooling: MaxPool through the max gadget (one comparison per extra window element),
AveragePool and GlobalAveragePool as sums times a rounded reciprocal (linear, then a rescale)."""

from __future__ import annotations

import numpy as np

from zkml.circuit import fixedpoint
from zkml.circuit.gadgets.relu import maximum
from zkml.compiler.ops.common import OpError, _affine, _check_size, _gather, _pads, _windows, normalize
from zkml.compiler.qtensor import QTensor


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
    s = max(ctx.wfrac, int(np.ceil(np.log2(count.max()))) + 8)
    m = np.round((1 << s) / count).astype(np.int64)  # (oh, ow)
    cc, y, xx, kk = np.meshgrid(np.arange(c), np.arange(oh), np.arange(ow), np.arange(pos.shape[-1]), indexing="ij")
    p = pos[y, xx, kk]
    valid = p >= 0
    rows = ((cc * oh + y) * ow + xx)[valid]
    cols = (cc * h * w + p)[valid]
    vals = np.broadcast_to(m[None, :, :, None], cc.shape)[valid]
    t = _affine(ctx, x, rows, cols, vals, np.zeros(c * oh * ow, np.int64), (1, c, oh, ow))
    return normalize(ctx, QTensor(t.signal, x.frac + s, t.lo, t.hi))


def op_global_avgpool(ctx, node, x):
    return op_avgpool(ctx, node, x, global_pool=True)
