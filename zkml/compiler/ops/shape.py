"""Shape ops: they move linear combinations around (gathers) and cost no constraints."""

from __future__ import annotations

import numpy as np

from zkml.circuit.builder import LC, Signal
from zkml.compiler.ops.common import OpError, _gather, _scale_to
from zkml.compiler.qtensor import QTensor


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
