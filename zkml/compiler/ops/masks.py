"""Attention masks: the -inf (or huge negative) fill exporters put in front of a Softmax.

torch's ``masked_fill(mask, -inf)`` exports as Where(mask, -inf, scores); additive masks as
Add(scores, M) with M holding 0 and -inf, -1e9, -10000 or float32's lowest value. None of these
has a fixed-point value, and what they mean only matters through the softmax: exp(fill - max)
is 0. So when a Where/Add with such a constant feeds a Softmax (directly, or through a scalar
Mul/Div by a positive constant), each huge negative entry is replaced by a finite fill F chosen
from the other operand's bounds so that F - max <= -MARGIN in the softmax's units, wherever the
row's maximum lies: the softmax's exp table reads exactly 0 there, as float does (exp(-32) is
~1e-14, far below the table's half step). Elsewhere an infinity is refused as before.
"""

from __future__ import annotations

import numpy as np

from zkml.circuit import fixedpoint
from zkml.compiler.ops import elementwise
from zkml.compiler.ops.common import OpError, _affine, _broadcast, _concat_flat, _constant_tensor, _gather
from zkml.compiler.qtensor import QTensor

HUGE = -1e4  # at or below this (or -inf), a constant entry in front of a softmax is a mask fill
MARGIN = 32  # F - max <= -MARGIN (in the softmax's input units): exp reads 0


def _softmax_path(ctx, node) -> tuple[float, object] | None:
    """(factor, softmax node) when node's output reaches a Softmax/LogSoftmax through single-use
    scalar Mul/Div by positive constants (factor: their product), else None."""
    name, factor = node.outputs[0], 1.0
    for _ in range(4):
        users = [n for n in ctx.graph.nodes if name in n.inputs]
        if len(users) != 1 or name in ctx.graph.outputs:
            return None
        u = users[0]
        if u.op in ("Softmax", "LogSoftmax"):
            return factor, u
        if u.op not in ("Mul", "Div"):
            return None
        other = [i for i in u.inputs if i != name]
        if len(other) != 1 or other[0] not in ctx.graph.constants or (u.op == "Div" and u.inputs[0] != name):
            return None
        c = np.asarray(ctx.graph.constants[other[0]], np.float64)
        if c.size != 1 or not np.isfinite(c).all() or float(c.ravel()[0]) <= 0:
            return None
        factor *= float(c.ravel()[0]) if u.op == "Mul" else 1.0 / float(c.ravel()[0])
        name = u.outputs[0]
    return None


def _is_fill(c: np.ndarray) -> np.ndarray:
    return np.isneginf(c) | (np.isfinite(c) & (c <= HUGE))


def _margin(factor: float, frac: int) -> int:
    """MARGIN softmax units as integers of the masked tensor's grid (before the scalar factor)."""
    return int(np.ceil(MARGIN / factor)) << frac


def op_where(ctx, node, *xs):
    """Where(cond, X, Y); a constant-cond mask in front of a softmax gets a finite fill."""
    cn, xn, yn = node.inputs[:3]
    consts = [n for n in (xn, yn) if n not in ctx.tensors]
    runtime = [n for n in (xn, yn) if n in ctx.tensors]
    path = _softmax_path(ctx, node) if len(consts) == 1 and len(runtime) == 1 and cn not in ctx.tensors else None
    if path is None or not _is_fill(ctx.const(consts[0])).all():
        return elementwise.op_where(ctx, node, *xs)
    factor, sm = path
    y = ctx.tensors[runtime[0]]
    f = y.frac
    shape = tuple(ctx.graph.shapes.get(node.outputs[0]) or np.broadcast_shapes(np.shape(ctx.const(cn)), y.shape))
    cond = np.broadcast_to(ctx.const(cn).astype(bool), shape)
    filled = cond if consts[0] == xn else ~cond
    _refuse_full_rows(ctx, node, sm, filled, ctx.const(consts[0]))
    fill = min(int(np.min(y.lo)), 0) - _margin(factor, f)
    ft = _constant_tensor(ctx, np.full(np.shape(ctx.const(consts[0])), fill, np.int64), f)
    xt, yt = (ft, y) if consts[0] == xn else (y, ft)
    xt, yt = _broadcast(ctx, xt, shape), _broadcast(ctx, yt, shape)
    n = int(np.prod(shape))
    joined = _concat_flat(ctx, [xt, yt])
    t = _gather(ctx, joined, np.where(cond.ravel(), np.arange(n), n + np.arange(n)))
    _record(ctx, node, fill, f)
    return QTensor(t.signal.reshape(shape), f, t.lo.reshape(shape), t.hi.reshape(shape))


def op_add(ctx, node, x, y=None, sub=False):
    """Add(scores, M) with a constant M of 0 and huge negative entries, in front of a softmax:
    those entries become the finite fill; any other Add as elementwise.op_add."""
    if y is not None or sub:
        return elementwise.op_add(ctx, node, x, y, sub)
    ci = node.inputs[1] if ctx.is_const(node.inputs[1]) else node.inputs[0]
    c = ctx.const(ci)
    mask = _is_fill(c)
    path = _softmax_path(ctx, node) if mask.any() else None
    if path is None:
        return elementwise.op_add(ctx, node, x, y, sub)
    factor, sm = path
    out_shape = tuple(ctx.graph.shapes.get(node.outputs[0]) or np.broadcast_shapes(c.shape, x.shape))
    _refuse_full_rows(ctx, node, sm, np.broadcast_to(mask, out_shape), c)
    # x + F <= hi(x) + F <= lo(x) - margin <= the row's max - margin
    fill = min(int(np.min(x.lo)) - int(np.max(x.hi)), 0) - _margin(factor, x.frac)
    cq = fixedpoint.quantize(np.where(mask, 0.0, c), x.frac)
    cq = np.where(mask, fill, cq).astype(np.int64)
    x = _broadcast(ctx, x, out_shape)
    n = x.values.size
    t = _affine(ctx, x, np.arange(n), np.arange(n), np.ones(n, np.int64), np.broadcast_to(cq, out_shape).ravel(), out_shape)
    _record(ctx, node, fill, x.frac)
    return QTensor(t.signal, x.frac, t.lo, t.hi)


def _refuse_full_rows(ctx, node, sm, filled: np.ndarray, c: np.ndarray) -> None:
    """A softmax row masked everywhere with -inf is NaN in float: refused, naming the row."""
    if not np.isneginf(c).any() or filled.ndim == 0:
        return
    old = 0 < ctx.graph.opset < 13
    axis = int(sm.attrs.get("axis", 1 if old else -1)) % filled.ndim
    full = filled.all(axis=axis)
    if full.any():
        row = tuple(int(i) for i in np.argwhere(full)[0])
        raise OpError(f"{ctx.graph.source}: {node.op} node '{node.name}' masks every entry of softmax '{sm.name}''s "
                      f"row {row} with -inf (NaN in float); leave at least one position unmasked per row")


def _record(ctx, node, fill: int, frac: int) -> None:
    """The manifest's approximation record: the finite fill that stands for -inf (exp reads 0
    there as float's does, to within exp(-MARGIN))."""
    ctx.output_transforms.setdefault("_approximations", {})[node.name] = {
        "op": node.op, "error_bound": float(np.exp(-MARGIN)), "mask_fill": fill / (1 << frac)}
