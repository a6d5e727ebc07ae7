"""Exact non-linear arithmetic (no table): Div between tensors, Reciprocal, Softsign (the
division gadget: q * d + r = n with the remainder range-checked, rounded half up), Sqrt (the
square-root gadget: y^2 <= X < (y + 1)^2, two guard bits, then rounded), Pow with a constant
exponent (products for small integers, the gadgets for 1/2, -1 and -1/2, a function table
otherwise), HardSigmoid and HardSwish (a clipped line, times x). These work with or without
lookups (without, their range checks are bit decompositions). Rules: fixedpoint.divide/isqrt.
"""

from __future__ import annotations

import numpy as np

from zkml.circuit import fixedpoint
from zkml.circuit.builder import LC, Signal
from zkml.circuit.gadgets.compare import sign_bit
from zkml.circuit.gadgets.divide import _product, divide, isqrt
from zkml.compiler.ops.common import (OpError, _affine, _bits, _broadcast, _negate, _scale_to, normalize, products,
                                      weight_frac)
from zkml.compiler.ops.elementwise import _max_const, absolute
from zkml.compiler.qtensor import MAX_BITS, QTensor

GUARD = 2  # extra fraction bits of the square root before its final rounding


def _check(ctx, node, bits: int, what: str) -> None:
    if bits > MAX_BITS:
        raise OpError(f"{ctx.graph.source}: {node.op} node '{node.name}': {what} could reach 2^{bits}, above the "
                      f"2^{MAX_BITS} the compiler allows; use fewer fraction bits (--frac-bits)")


def divide_tensors(ctx, node, n: QTensor, d: QTensor, out_frac: int, q_bound: int | None = None) -> QTensor:
    """n / d at ``out_frac`` (same shapes), rounded half up (fixedpoint.divide); d of either sign
    (a sign bit and two products more when its bounds allow both), never 0 (no witness there).
    ``q_bound``: a bound on |q| the caller has proved from the maths (a normalised value), used
    instead of the interval bound when smaller (the range check of q enforces it)."""
    b = ctx.b
    e = out_frac + d.frac - n.frac
    if e >= 0:
        n = _scale_to(ctx, n, n.frac + e)
    else:
        d = _scale_to(ctx, d, d.frac - e)
    shape = n.shape
    nv, dv = n.signal.reshape(-1), d.signal.reshape(-1)
    d_lo, d_hi = d.lo.ravel().astype(object), d.hi.ravel().astype(object)
    n_abs = np.maximum(np.abs(n.lo.ravel().astype(object)), np.abs(n.hi.ravel().astype(object)))
    sign = None
    if int(d_lo.min()) >= 1:
        mag_lo, mag_hi = d_lo, d_hi
    elif int(d_hi.max()) <= -1:
        dv = Signal(-dv.lc if b.emit else None, -dv.values)
        nv = Signal(-nv.lc if b.emit else None, -nv.values)
        mag_lo, mag_hi = -d_hi, -d_lo
    else:  # |d| = s' d, s' = 2 [d >= 0] - 1; the quotient of |d| times s'
        s = sign_bit(b, dv, _bits(d.lo, d.hi))
        one = LC.constant(np.ones(s.values.size, np.int64)) if b.emit else None
        sign = Signal(s.lc.scale(2) - one if b.emit else None, 2 * s.values - 1)
        dv = _product(b, sign, dv)
        mag_lo = np.ones(d_lo.shape, object)
        mag_hi = np.maximum(np.abs(d_lo), np.abs(d_hi))
    q_max = (2 * n_abs + mag_lo) // (2 * mag_lo) + 1
    if q_bound is not None:
        q_max = np.minimum(q_max, int(q_bound))
    q_bits = fixedpoint.bits_for(-int(q_max.max()), int(q_max.max()))
    d_bits = int(int(mag_hi.max())).bit_length()
    _check(ctx, node, max(q_bits + d_bits, int(n_abs.max()).bit_length() + 2), "the division's product")
    q = divide(b, nv, dv, q_bits, d_bits)
    if sign is not None:
        q = _product(b, sign, q)
    return QTensor(q.reshape(shape), out_frac, (-q_max).reshape(shape), q_max.reshape(shape))


def op_div(ctx, node, x, y=None):
    """Div: by a constant, a multiplication (elementwise.op_div); between tensors, the division gadget."""
    from zkml.compiler.ops.elementwise import op_div as by_constant

    if y is None:
        return by_constant(ctx, node, x)
    shape = tuple(ctx.graph.shapes.get(node.outputs[0]) or np.broadcast_shapes(x.shape, y.shape))
    n, d = _broadcast(ctx, x, shape), _broadcast(ctx, y, shape)
    return _exact(ctx, node, divide_tensors(ctx, node, n, d, ctx.frac), 2.0 ** -(ctx.frac + 1))


def _exact(ctx, node, t: QTensor, bound: float) -> QTensor:
    """Record the rounding bound of an exact gadget (the quotient or root of the inputs as given)."""
    from zkml.compiler.ops.tables import record

    record(ctx, node, error_bound=bound, rule="exact, rounded")
    return t


def reciprocal(ctx, node, x: QTensor, out_frac: int) -> QTensor:
    one = QTensor(ctx.b.constant(np.full(x.shape, 1, np.int64)), 0, np.ones(x.shape, np.int64), np.ones(x.shape, np.int64))
    return divide_tensors(ctx, node, one, x, out_frac)


def op_reciprocal(ctx, node, x):
    return _exact(ctx, node, reciprocal(ctx, node, x, ctx.frac), 2.0 ** -(ctx.frac + 1))


def op_softsign(ctx, node, x):
    """x / (1 + |x|): one ReLU (the absolute value) and one division per element."""
    a = absolute(ctx, x)
    one = 1 << x.frac
    n = a.values.size
    lc = (a.signal.lc + LC.constant(np.full(n, one, np.int64))) if ctx.b.emit else None
    d = QTensor(Signal(lc, (a.values.ravel() + one).reshape(x.shape)), x.frac, a.lo + one, a.hi + one)
    return _exact(ctx, node, divide_tensors(ctx, node, x, d, ctx.frac), 2.0 ** -(ctx.frac + 1))


def square_root(ctx, node, x: QTensor, out_frac: int) -> QTensor:
    """sqrt(x) at out_frac: floor of the root with GUARD bits more, rounded (error < 0.75 step).
    A negative input has no witness (y^2 <= X forces X >= 0): refused, as onnx gives NaN there."""
    g = max(GUARD, -(-(x.frac - 2 * out_frac) // 2))
    e = 2 * (out_frac + g) - x.frac  # X = x 2^e holds sqrt(x) at out_frac + g
    big = _scale_to(ctx, x, x.frac + e)
    x_bits = max(int(max(int(big.hi.max()), 0)).bit_length(), 1)
    _check(ctx, node, x_bits, "the square root's input")
    y = isqrt(ctx.b, big.signal, x_bits)
    lo = fixedpoint.isqrt(np.maximum(big.lo, 0))  # a negative input has no witness
    hi = fixedpoint.isqrt(np.maximum(big.hi, 0))
    return normalize_to(ctx, QTensor(y.reshape(x.shape), out_frac + g, lo, hi), out_frac)


def normalize_to(ctx, t: QTensor, frac: int) -> QTensor:
    keep = ctx.frac
    ctx.frac = frac
    try:
        return normalize(ctx, t)
    finally:
        ctx.frac = keep


def op_sqrt(ctx, node, x):
    return _exact(ctx, node, square_root(ctx, node, x, ctx.frac), 2.0 ** -(ctx.frac + 1) + 2.0 ** -(ctx.frac + GUARD))


def square(ctx, x: QTensor) -> QTensor:
    """x * x, one product each, with the bounds of a square ([0, max |x|^2] where x spans 0)."""
    n = x.values.size
    p = products(ctx, x, x, np.arange(n), np.arange(n))
    lo, hi = x.lo.ravel().astype(object), x.hi.ravel().astype(object)
    sq_hi = np.maximum(lo * lo, hi * hi)
    sq_lo = np.where((lo <= 0) & (hi >= 0), 0, np.minimum(lo * lo, hi * hi))
    return QTensor(p.signal.reshape(x.shape), p.frac, sq_lo.reshape(x.shape), sq_hi.reshape(x.shape))


def op_pow(ctx, node, x, y=None):
    if y is not None or not ctx.is_const(node.inputs[1]):
        raise OpError(f"{ctx.graph.source}: Pow node '{node.name}': the exponent must be a constant")
    e = ctx.const(node.inputs[1])
    if e.size != 1:
        raise OpError(f"{ctx.graph.source}: Pow node '{node.name}': only a scalar exponent is supported")
    e = float(e.ravel()[0])
    if e == 1.0:
        return x
    if e == 0.5:
        return op_sqrt(ctx, node, x)
    if e == -1.0:
        return op_reciprocal(ctx, node, x)
    if e == -0.5:
        return reciprocal(ctx, node, square_root(ctx, node, x, ctx.frac + 4), ctx.frac)
    if e == float(int(e)) and 2 <= e <= 8:
        k = int(e)
        acc = None
        base = x
        while k:  # square and multiply, one rescale after each product
            if k & 1:
                if acc is None:
                    acc = base
                else:
                    n = acc.values.size
                    acc = normalize(ctx, products(ctx, acc, base, np.arange(n), np.arange(n)))
                    acc = QTensor(acc.signal.reshape(x.shape), acc.frac, acc.lo.reshape(x.shape), acc.hi.reshape(x.shape))
            k >>= 1
            if k:
                base = normalize(ctx, square(ctx, base))
        return acc
    from zkml.circuit import fixed_functions as ff
    from zkml.compiler.ops.tables import apply_function

    return apply_function(ctx, node, x, ff.function("Pow", exponent=e))


def op_hard_sigmoid(ctx, node, x, alpha: float | None = None, beta: float | None = None):
    """max(0, min(1, alpha x + beta)): a line (quantized alpha), one rescale, two max gadgets."""
    alpha = float(node.attrs.get("alpha", 0.2)) if alpha is None else alpha
    beta = float(node.attrs.get("beta", 0.5)) if beta is None else beta
    wf = weight_frac(ctx, np.array([alpha]), per_element=True)
    n = x.values.size
    aq = fixedpoint.quantize(np.array([alpha]), wf)[0]
    bq = fixedpoint.quantize(np.array([beta]), x.frac + wf)[0]
    t = _affine(ctx, x, np.arange(n), np.arange(n), np.full(n, aq), np.full(n, bq), x.shape)
    line = normalize(ctx, QTensor(t.signal, x.frac + wf, t.lo, t.hi))
    one = 1 << line.frac
    return _negate(ctx, _max_const(ctx, _negate(ctx, _max_const(ctx, line, 0)), -one))


def op_hard_swish(ctx, node, x):
    """x * HardSigmoid(x) with alpha 1/6, beta 1/2: one product more."""
    h = op_hard_sigmoid(ctx, node, x, 1.0 / 6.0, 0.5)
    n = x.values.size
    p = products(ctx, x, h, np.arange(n), np.arange(n))
    return normalize(ctx, QTensor(p.signal.reshape(x.shape), p.frac, p.lo.reshape(x.shape), p.hi.reshape(x.shape)))

