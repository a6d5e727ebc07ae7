"""Elementwise ops: Add/Sub/Mul/Div (by constants: linear; Mul of two tensors: one product
constraint each), and the max-gadget activations Relu, LeakyRelu, Clip."""

from __future__ import annotations

import numpy as np

from zkml.circuit import fixedpoint
from zkml.circuit.builder import Signal
from zkml.circuit.gadgets.relu import maximum, relu
from zkml.compiler.ops.common import (OpError, _affine, _broadcast, _channel_affine, _negate, _scale_to,
                                      normalize, weight_frac)
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
