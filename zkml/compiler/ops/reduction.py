"""Reductions over axes: ReduceSum, ReduceL1 and ReduceSumSquare (linear, after one ReLU or one
product per element), ReduceMean (a sum times fixedpoint's mean multiplier, then a rescale),
ReduceMax and ReduceMin (trees of max gadgets)."""

from __future__ import annotations

import numpy as np

from zkml.compiler.ops.common import OpError, _index_of, max_columns, normalize, products, sum_groups
from zkml.compiler.ops.elementwise import absolute, scale_by_mean
from zkml.compiler.qtensor import QTensor


def _axes(ctx, node, x):
    """(index (outputs, reduced elements), output shape) of a Reduce* node."""
    r = len(x.shape)
    axes = None
    if len(node.inputs) > 1 and node.inputs[1]:
        if node.inputs[1] not in ctx.graph.constants:
            raise OpError(f"{ctx.graph.source}: {node.op} node '{node.name}': axes must be a constant")
        axes = [int(a) for a in np.asarray(ctx.graph.constants[node.inputs[1]]).ravel()]
    elif "axes" in node.attrs:
        axes = [int(a) for a in node.attrs["axes"]]
    if not axes:
        if node.attrs.get("noop_with_empty_axes", 0):
            return None, x.shape
        axes = list(range(r))
    axes = sorted({a % r for a in axes})
    kept = [a for a in range(r) if a not in axes]
    keepdims = node.attrs.get("keepdims", 1)
    idx = np.transpose(_index_of(x), kept + axes)
    n_red = int(np.prod([x.shape[a] for a in axes]))
    out_shape = tuple(1 if a in axes else x.shape[a] for a in range(r)) if keepdims else tuple(x.shape[a] for a in kept)
    return idx.reshape(-1, n_red), out_shape


def _reshape(t: QTensor, shape) -> QTensor:
    return QTensor(t.signal.reshape(shape), t.frac, t.lo.reshape(shape), t.hi.reshape(shape))


def _sum(ctx, node, x, idx, shape):
    n_out, n_red = idx.shape
    rows = np.empty(x.values.size, np.int64)
    rows[idx.ravel()] = np.repeat(np.arange(n_out), n_red)
    return _reshape(sum_groups(ctx, x, rows, n_out, (n_out,)), shape)


def op_reduce_sum(ctx, node, x):
    idx, shape = _axes(ctx, node, x)
    if idx is None:
        return x
    if node.op == "ReduceL1":
        x = absolute(ctx, x)
    elif node.op == "ReduceSumSquare":
        n = x.values.size
        x = products(ctx, x, x, np.arange(n), np.arange(n))
        x = QTensor(x.signal.reshape(-1), x.frac, x.lo, x.hi)
    return normalize(ctx, _sum(ctx, node, x, idx, shape))


def op_reduce_mean(ctx, node, x):
    idx, shape = _axes(ctx, node, x)
    if idx is None:
        return x
    return scale_by_mean(ctx, _sum(ctx, node, x, idx, shape), idx.shape[1])


def op_reduce_max(ctx, node, x):
    idx, shape = _axes(ctx, node, x)
    if idx is None:
        return x
    return _reshape(max_columns(ctx, x, idx, minimum=node.op == "ReduceMin"), shape)
