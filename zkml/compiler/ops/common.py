"""What every op family shares: the compile context, bound checks, rescaling back to an
activation scale, linear combinations with integer weights, and weight quantization."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from zkml.circuit import fixedpoint
from zkml.circuit.builder import LC, CircuitBuilder, Signal
from zkml.circuit.gadgets.rescale import rescale
from zkml.compiler import linear
from zkml.compiler.qtensor import MAX_BITS, QTensor
from zkml.errors import ZkmlError
from zkml.onnx_import.graph import Graph, Node


@dataclass
class Context:
    b: CircuitBuilder
    graph: Graph
    frac: int  # activation fraction bits
    wfrac: int  # weight fraction bits
    tensors: dict = field(default_factory=dict)
    output_transforms: dict = field(default_factory=dict)
    stats: list = field(default_factory=list)  # per node: (name, op, shape, frac, lo, hi, constraints)
    cache: dict = field(default_factory=dict)  # quantized weights per node, kept across runs of one model

    def const(self, name: str) -> np.ndarray:
        if name not in self.graph.constants:
            raise ZkmlError(f"{self.graph.source}: input '{name}' must be a constant (weights) for this op")
        return np.asarray(self.graph.constants[name], dtype=np.float64)

    def is_const(self, name: str) -> bool:
        return name in self.graph.constants


class OpError(ZkmlError):
    pass


def _check_bounds(ctx: Context, node: Node, t: QTensor) -> QTensor:
    m = max([abs(int(v)) for a in (t.lo, t.hi) if a.size for v in (a.min(), a.max())], default=0)
    if m >= 1 << MAX_BITS:
        raise OpError(
            f"{ctx.graph.source}: node '{node.name}' ({node.op}) could reach |x| = 2^{m.bit_length() - 1}, "
            f"above the 2^{MAX_BITS} the compiler allows; use fewer fraction bits (--frac-bits)")
    return QTensor(t.signal, t.frac, t.lo.astype(np.int64), t.hi.astype(np.int64))


def normalize(ctx: Context, t: QTensor) -> QTensor:
    """Rescale a tensor carrying more fraction bits than this node's output scale to ``ctx.frac``."""
    s = t.frac - ctx.frac
    if s <= 0:
        return t
    q = rescale(ctx.b, t.signal.reshape(-1), s).reshape(t.shape)
    return QTensor(q, ctx.frac, fixedpoint.rescale(t.lo, s), fixedpoint.rescale(t.hi, s))


def _scale_to(ctx: Context, t: QTensor, frac: int) -> QTensor:
    """The same tensor with more fraction bits (a free multiplication by 2^d)."""
    d = frac - t.frac
    if d == 0:
        return t
    assert d > 0
    n = t.values.size
    sig = ctx.b.linear(t.signal.reshape(-1), np.arange(n), np.arange(n), np.full(n, 1 << d), (t.values << d).ravel())
    return QTensor(sig.reshape(t.shape), frac, t.lo << d, t.hi << d)


def _affine(ctx: Context, x: QTensor, rows, cols, w: np.ndarray, bias: np.ndarray, out_shape) -> QTensor:
    """out[i] = sum over (rows==i) w * x[cols] + bias[i]: integer weights, no constraints."""
    rows, cols, w = (np.asarray(a, np.int64).ravel() for a in (rows, cols, w))
    keep = w != 0
    rows, cols, w = rows[keep], cols[keep], w[keep]
    n_out = int(np.prod(out_shape))
    vals, lo, hi = linear.sparse(rows, cols, w, n_out, x.values.ravel(), x.lo.ravel(), x.hi.ravel(), bias)
    sig = ctx.b.linear(x.signal.reshape(-1), rows, cols, w, vals, const=bias.ravel())
    return QTensor(sig.reshape(out_shape), None, lo.reshape(out_shape), hi.reshape(out_shape))


def _affine_dense(ctx: Context, x: QTensor, w: np.ndarray, bias: np.ndarray, out_shape, prep: dict) -> QTensor:
    """out = w x + bias for a dense integer w (n, k): the matrix-vector product for values and
    bounds, and the same linear combinations ``_affine`` builds from its coordinates."""
    n_out, k = w.shape
    vals = linear.dense_values(w, x.values.ravel(), bias)
    lo, hi = _bounds(prep, x, lambda: linear.dense_bounds(w, x.lo.ravel(), x.hi.ravel(), bias, prep["wneg"],
                                                          prep["abs_rows"]))
    if not ctx.b.emit:
        return QTensor(Signal(None, vals.reshape(out_shape)), None, lo.reshape(out_shape), hi.reshape(out_shape))
    rows = np.repeat(np.arange(n_out, dtype=np.int64), k)
    cols = np.tile(np.arange(k, dtype=np.int64), n_out)
    flat = w.ravel()
    keep = flat != 0
    sig = ctx.b.linear(x.signal.reshape(-1), rows[keep], cols[keep], flat[keep], vals, const=bias.ravel())
    return QTensor(sig.reshape(out_shape), None, lo.reshape(out_shape), hi.reshape(out_shape))


def _prepared(ctx: Context, node: Node, x: QTensor, make) -> dict:
    """The quantized weights of a linear node, made once per model and input scale (a model
    runs once per fidelity sample and per proof, and requantizing 4M weights each time shows)."""
    key = (node.outputs[0], node.op, x.frac, ctx.wfrac, tuple(x.shape))
    prep = ctx.cache.get(key)
    if prep is None:
        prep = ctx.cache[key] = make()
    return prep


def _bounds(prep: dict, x: QTensor, compute):
    """The output bounds of a linear node: they depend on the input bounds alone, which are the
    same on every run of a model, so they are computed once and reused while those match."""
    seen = prep.get("bounds")
    if seen is not None and np.array_equal(seen[0], x.lo) and np.array_equal(seen[1], x.hi):
        return seen[2], seen[3]
    lo, hi = compute()
    prep["bounds"] = (x.lo.copy(), x.hi.copy(), lo, hi)
    return lo, hi


def _dense_prep(wq: np.ndarray, **extra) -> dict:
    return dict(wq=wq, wneg=np.minimum(wq, 0), abs_rows=np.abs(wq).sum(axis=-1, dtype=np.float64), **extra)


def weight_frac(ctx: Context, w: np.ndarray, per_element: bool = False) -> int:
    """Fraction bits for a constant tensor: ``ctx.wfrac`` significant bits below its largest
    magnitude; per-element multipliers (BatchNorm, Div by a vector) also keep 8 significant
    bits of their smallest one, since each multiplies a different input."""
    w = np.abs(np.asarray(w, np.float64))
    big = float(w.max()) if w.size else 0.0
    if big == 0.0:
        return 0
    f = ctx.wfrac - 1 - int(np.ceil(np.log2(big)))
    if per_element:
        small = float(w[w > 0].min())
        f = max(f, 8 - int(np.floor(np.log2(small))))
    return int(min(max(f, 0), 40))


def _channel_affine(ctx, x, scale, shift):
    """y = scale[c] * x + shift[c] over axis 1 (or elementwise if shapes match)."""
    shape = x.shape
    n = x.values.size
    idx = np.arange(n)
    s_full = np.broadcast_to(_per_channel(scale, shape), shape).ravel()
    b_full = np.broadcast_to(_per_channel(shift, shape), shape).ravel()
    wf = weight_frac(ctx, s_full, per_element=True)
    t = _affine(ctx, x, idx, idx, fixedpoint.quantize(s_full, wf), fixedpoint.quantize(b_full, x.frac + wf), shape)
    return normalize(ctx, QTensor(t.signal, x.frac + wf, t.lo, t.hi))


def _per_channel(v, shape):
    v = np.asarray(v, np.float64)
    if v.ndim == 1 and len(shape) >= 2 and v.size == shape[1]:
        return v.reshape((1, -1) + (1,) * (len(shape) - 2))
    return v


def _broadcast(ctx, t: QTensor, shape) -> QTensor:
    if t.shape == tuple(shape):
        return t
    idx = np.broadcast_to(np.arange(t.values.size).reshape(t.shape), shape)
    sig = t.signal.gather(idx)
    return QTensor(sig, t.frac, t.lo.ravel()[idx.ravel()].reshape(shape), t.hi.ravel()[idx.ravel()].reshape(shape))


def _negate(ctx, t: QTensor) -> QTensor:
    lc = -t.signal.lc if ctx.b.emit else None
    return QTensor(Signal(lc, -t.values), t.frac, -t.hi, -t.lo)


def _const_lc(ctx, n: int, value: int):
    return LC.constant(np.full(n, value, np.int64))


# Past this many terms a single op would need gigabytes to compile and hours to prove.
MAX_OP_TERMS = 20_000_000


def _check_size(ctx, node, terms: int, what: str) -> None:
    if terms > MAX_OP_TERMS:
        raise OpError(
            f"{ctx.graph.source}: node '{node.name}' ({node.op}) needs {terms:,} {what}, more than a "
            f"circuit can hold ({MAX_OP_TERMS:,}); use a smaller input or kernel")


def _gather(ctx, x: QTensor, idx) -> QTensor:
    return QTensor(x.signal.gather(idx), x.frac, x.lo.ravel()[idx], x.hi.ravel()[idx])


def _pads(node, spatial: int):
    p = list(node.attrs.get("pads", [0] * 2 * spatial))
    if node.attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
        raise OpError(f"node '{node.name}': auto_pad={node.attrs['auto_pad']!r} is not supported; export with explicit pads")
    return p[:spatial], p[spatial:]


def _windows(in_shape, kernel, strides, pads_begin, pads_end, dilations):
    """Index of the input element for each (output position, kernel offset), -1 for padding."""
    c, h, w = in_shape
    kh, kw = kernel
    oh = (h + pads_begin[0] + pads_end[0] - dilations[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (w + pads_begin[1] + pads_end[1] - dilations[1] * (kw - 1) - 1) // strides[1] + 1
    oy, ox, ky, kx = np.meshgrid(np.arange(oh), np.arange(ow), np.arange(kh), np.arange(kw), indexing="ij")
    iy = oy * strides[0] - pads_begin[0] + ky * dilations[0]
    ix = ox * strides[1] - pads_begin[1] + kx * dilations[1]
    valid = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
    pos = np.where(valid, iy * w + ix, -1)  # (oh, ow, kh, kw) index within one channel
    return pos.reshape(oh, ow, kh * kw), oh, ow
