"""What every op family shares: the compile context, bound checks, rescaling back to an
activation scale, linear combinations with integer weights, and weight quantization."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from zkml.circuit import fixedpoint
from zkml.circuit.builder import LC, CircuitBuilder, Signal
from zkml.circuit.gadgets.rescale import rescale
from zkml.compiler import linear
from zkml.compiler.deterministic import ceil_log2, floor_log2
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
    committed: object = None  # zkml.compiler.committed_weights.WeightWires with --weights committed

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
    lo, hi = fixedpoint.rescale(t.lo, s), fixedpoint.rescale(t.hi, s)
    bits = fixedpoint.bits_for(int(np.min(lo)), int(np.max(hi)))
    q = rescale(ctx.b, t.signal.reshape(-1), s, bits).reshape(t.shape)
    return QTensor(q, ctx.frac, lo, hi)


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
    f = ctx.wfrac - 1 - ceil_log2(big)
    if per_element:
        small = float(w[w > 0].min())
        f = max(f, 8 - floor_log2(small))
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


def _pads(node, spatial: int, in_spatial=None, kernel=None, strides=None, dilations=None):
    """(pads at the start, pads at the end) per spatial axis; auto_pad SAME_UPPER/SAME_LOWER
    computed as ONNX defines them (output = ceil(input / stride)) when the shapes are given."""
    mode = node.attrs.get("auto_pad", b"NOTSET")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode in ("NOTSET", "VALID"):
        p = list(node.attrs.get("pads", [0] * 2 * spatial)) if mode == "NOTSET" else [0] * 2 * spatial
        return p[:spatial], p[spatial:]
    if mode in ("SAME_UPPER", "SAME_LOWER") and in_spatial is not None:
        strides = strides or [1] * spatial
        dilations = dilations or [1] * spatial
        begin, end = [], []
        for n, k, s, d in zip(in_spatial, kernel, strides, dilations):
            total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
            small, big = total // 2, total - total // 2
            begin.append(small if mode == "SAME_UPPER" else big)
            end.append(big if mode == "SAME_UPPER" else small)
        return begin, end
    raise OpError(f"node '{node.name}': auto_pad={node.attrs['auto_pad']!r} is not supported; export with explicit pads")


def windows_nd(in_spatial, kernel, strides, pads_begin, pads_end, dilations, ceil_mode: bool = False):
    """(pos, out_spatial): pos[p, k] is the flat index (within one channel) of the input element
    that kernel offset k reads at output position p, -1 for padding; any number of axes."""
    out = []
    for n, k, s, b, e, d in zip(in_spatial, kernel, strides, pads_begin, pads_end, dilations):
        span = n + b + e - d * (k - 1) - 1
        o = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (o - 1) * s >= n + b:  # the last window must start inside the input or its left padding
            o -= 1
        out.append(int(o))
    nd = len(out)
    grids = np.meshgrid(*[np.arange(o) for o in out], *[np.arange(k) for k in kernel], indexing="ij")
    valid = np.ones(grids[0].shape, bool)
    flat = np.zeros(grids[0].shape, np.int64)
    for a in range(nd):
        i = grids[a] * strides[a] - pads_begin[a] + grids[nd + a] * dilations[a]
        valid &= (i >= 0) & (i < in_spatial[a])
        flat = flat * in_spatial[a] + i
    pos = np.where(valid, flat, -1)
    return pos.reshape(int(np.prod(out)), int(np.prod(kernel))), tuple(out)


def _windows(in_shape, kernel, strides, pads_begin, pads_end, dilations):
    """Index of the input element for each (output position, kernel offset), -1 for padding (2-D)."""
    pos, (oh, ow) = windows_nd(in_shape[1:], kernel, strides, pads_begin, pads_end, dilations)
    return pos.reshape(oh, ow, -1), oh, ow


def _concat_flat(ctx, parts: list[QTensor]) -> QTensor:
    """The flat concatenation of tensors at one scale (no constraint)."""
    f = parts[0].frac
    offsets = np.cumsum([0] + [t.values.size for t in parts])
    vals = np.concatenate([t.values.ravel() for t in parts])
    lo = np.concatenate([t.lo.ravel() for t in parts])
    hi = np.concatenate([t.hi.ravel() for t in parts])
    lc = None
    if ctx.b.emit:
        lcs = [t.signal.lc for t in parts]
        lc = LC(np.concatenate([p.rows + o for p, o in zip(lcs, offsets)]), np.concatenate([p.wires for p in lcs]),
                np.concatenate([p.coeffs for p in lcs]), int(offsets[-1]))
    return QTensor(Signal(lc, vals), f, lo, hi)


def _constant_tensor(ctx, values_q: np.ndarray, frac: int) -> QTensor:
    """Integer constants as a tensor (linear combinations of the constant wire)."""
    q = np.asarray(values_q, np.int64)
    return QTensor(ctx.b.constant(q), frac, q.copy(), q.copy())


def _select(ctx, x: QTensor, index: np.ndarray, fill: int = 0) -> QTensor:
    """A tensor of index's shape with element e = x.flat[index[e]], or the integer ``fill``
    where index[e] is -1 (padding): a gather, no constraint."""
    index = np.asarray(index, np.int64)
    src = x
    if (index < 0).any():
        src = _concat_flat(ctx, [QTensor(x.signal.reshape(-1), x.frac, x.lo.ravel(), x.hi.ravel()),
                                 _constant_tensor(ctx, np.array([fill]), x.frac)])
        index = np.where(index < 0, x.values.size, index)
    t = _gather(ctx, src, index.ravel())
    return QTensor(t.signal.reshape(index.shape), x.frac, t.lo.reshape(index.shape), t.hi.reshape(index.shape))


def _index_of(x: QTensor) -> np.ndarray:
    return np.arange(x.values.size, dtype=np.int64).reshape(x.shape)


def operand(ctx, name: str, frac: int | None = None) -> QTensor:
    """Input ``name`` of a node as a tensor: the runtime tensor, or the constant quantized at
    ``frac`` (exactly, when it is integer-valued and frac is None)."""
    if name in ctx.tensors:
        return ctx.tensors[name]
    c = ctx.const(name)
    if frac is None:
        frac = 0 if np.array_equal(c, np.round(c)) else ctx.frac
    return _constant_tensor(ctx, fixedpoint.quantize(c, frac).reshape(c.shape), frac)


def _bits(lo, hi) -> int:
    return fixedpoint.bits_for(int(np.min(lo)) if np.size(lo) else 0, int(np.max(hi)) if np.size(hi) else 0)


def max_columns(ctx, x: QTensor, index: np.ndarray, minimum: bool = False) -> QTensor:
    """Row-wise max (or min) of x.flat[index[r, :]] (every index valid): a tree of max gadgets,
    K - 1 comparisons per row in ceil(log2 K) rounds."""
    from zkml.circuit.gadgets.relu import maximum

    index = np.asarray(index, np.int64)
    rows, k = index.shape
    cur = _gather(ctx, x, index.ravel())
    if minimum:
        cur = _negate(ctx, cur)
    while k > 1:
        h = k // 2
        grid = np.arange(rows * k).reshape(rows, k)
        a, b_ = _gather(ctx, cur, grid[:, :h].ravel()), _gather(ctx, cur, grid[:, h:2 * h].ravel())
        sig = maximum(ctx.b, a.signal, b_.signal, _bits(a.lo - b_.hi, a.hi - b_.lo))
        m = QTensor(sig, x.frac, np.maximum(a.lo, b_.lo), np.maximum(a.hi, b_.hi))
        if k % 2:
            m = _concat_flat(ctx, [m, _gather(ctx, cur, grid[:, 2 * h:].ravel())])
            order = np.concatenate([np.arange(rows * h).reshape(rows, h), rows * h + np.arange(rows)[:, None]], axis=1)
            m = _gather(ctx, m, order.ravel())
        cur, k = m, h + k % 2
    return _negate(ctx, cur) if minimum else cur


def products(ctx, a: QTensor, b: QTensor, ai: np.ndarray, bi: np.ndarray) -> QTensor:
    """z[t] = a.flat[ai[t]] * b.flat[bi[t]], one R1CS constraint per product, at scale
    a.frac + b.frac, with bounds from the four corner products."""
    x, y = _gather(ctx, a, np.asarray(ai).ravel()), _gather(ctx, b, np.asarray(bi).ravel())
    zv = x.values * y.values
    z = ctx.b.signal(zv)
    if ctx.b.emit:
        ctx.b.enforce(x.signal.lc, y.signal.lc, z.lc)
    else:
        ctx.b.n_constraints += zv.size
    xl, xh, yl, yh = (v.astype(object) for v in (x.lo, x.hi, y.lo, y.hi))
    cands = [xl * yl, xl * yh, xh * yl, xh * yh]
    return QTensor(z, a.frac + b.frac, np.minimum.reduce(cands), np.maximum.reduce(cands))


def sum_groups(ctx, t: QTensor, rows: np.ndarray, n_out: int, out_shape) -> QTensor:
    """out[i] = sum of t.flat[j] over rows[j] == i (linear, exact; bounds summed)."""
    rows = np.asarray(rows, np.int64).ravel()
    cols = np.arange(t.values.size, dtype=np.int64)
    out = _affine(ctx, t, rows, cols, np.ones(cols.size, np.int64), np.zeros(n_out, np.int64), out_shape)
    return QTensor(out.signal, t.frac, out.lo, out.hi)
