"""Shape ops: they move linear combinations around (gathers) and cost no constraints: Reshape
and friends, Transpose, Concat, Pad (constant, reflect, edge, wrap), Slice, Split, Tile, Expand,
Gather with a constant index; Gather of a constant table at a runtime index (an embedding
lookup of token ids) selects its row with a one-hot vector."""

from __future__ import annotations

import numpy as np

from zkml.circuit import fixedpoint
from zkml.circuit.builder import LC, Signal
from zkml.compiler.ops.common import (OpError, _check_size, _gather, _index_of, _scale_to, _select, normalize, operand,
                                      weight_frac)
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
    if len(xs) != len([n for n in node.inputs if n]):  # constant parts: quantized at the runtime scale
        f = max(t.frac for t in xs)
        xs = [ctx.tensors[n] if n in ctx.tensors else operand(ctx, n, f) for n in node.inputs if n]
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
_INT_TYPES = {2, 3, 4, 5, 6, 7, 9, 12, 13}  # uint8, int8, uint16, int16, int32, int64, bool, uint32, uint64


def op_cast(ctx, node, x):
    """Casts between float types change nothing in fixed point; to an integer type they change
    nothing for an integer tensor (fraction bits 0: token ids, comparison results)."""
    to = node.attrs.get("to")
    if to in _FLOAT_TYPES:
        return x
    if to in _INT_TYPES and x.frac == 0 and (to != 9 or (x.lo.min() >= 0 and x.hi.max() <= 1)):
        return x
    raise OpError(f"{ctx.graph.source}: Cast node '{node.name}' casts a tensor with {x.frac} fraction bits to type "
                  f"{to}; only casts between float types, or of integer-valued tensors, are supported")


def op_output_only(ctx, node, x):
    """ArgMax is derived: proved as the logits it is computed from and applied to the public
    outputs after verification."""
    if node.outputs[0] not in ctx.graph.outputs:
        raise OpError(f"{ctx.graph.source}: {node.op} node '{node.name}' is only supported at the model's output")
    ctx.output_transforms[node.outputs[0]] = {"op": node.op, "axis": node.attrs.get("axis", -1)}
    return x


def _reshaped(t: QTensor, index: np.ndarray) -> QTensor:
    return QTensor(t.signal.reshape(index.shape), t.frac, t.lo.reshape(index.shape), t.hi.reshape(index.shape))


def _take(ctx, x: QTensor, index: np.ndarray, fill: int = 0) -> QTensor:
    """x rearranged by an index array over its flat elements (-1: the constant ``fill``)."""
    return _select(ctx, x, index, fill)


def _ints(ctx, node, pos: int, attr: str, default=None):
    """An integer list given as input ``pos`` (newer opsets) or attribute ``attr`` (older)."""
    if len(node.inputs) > pos and node.inputs[pos]:
        return [int(v) for v in np.asarray(ctx.graph.constants[node.inputs[pos]]).ravel()] \
            if node.inputs[pos] in ctx.graph.constants else _not_constant(ctx, node, node.inputs[pos])
    if attr in node.attrs:
        return [int(v) for v in node.attrs[attr]]
    return default


def _not_constant(ctx, node, name):
    raise OpError(f"{ctx.graph.source}: {node.op} node '{node.name}': input '{name}' must be a constant "
                  "(shapes are fixed when the circuit is built)")


_PAD_MODES = {"constant": "constant", "reflect": "reflect", "edge": "edge", "wrap": "wrap"}


def op_pad(ctx, node, x):
    mode = node.attrs.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode not in _PAD_MODES:
        raise OpError(f"{ctx.graph.source}: Pad node '{node.name}': mode '{mode}' is not supported")
    r = len(x.shape)
    pads = _ints(ctx, node, 1, "pads", [0] * 2 * r)
    axes = _ints(ctx, node, 3, "axes", list(range(r)))
    axes = [a % r for a in axes]
    begin, end = [0] * r, [0] * r
    for i, a in enumerate(axes):
        begin[a], end[a] = pads[i], pads[i + len(axes)]
    value = float(node.attrs.get("value", 0.0))
    if len(node.inputs) > 2 and node.inputs[2]:
        value = float(np.asarray(ctx.const(node.inputs[2])).ravel()[0]) if np.size(ctx.const(node.inputs[2])) else 0.0
    idx = _index_of(x)
    # negative pads crop: pad by the positive part, then slice the negative part away
    width = [(max(b, 0), max(e, 0)) for b, e in zip(begin, end)]
    if mode == "constant":
        idx = np.pad(idx, width, mode="constant", constant_values=-1)
    else:
        for a, (b, e) in enumerate(width):
            if (b or e) and mode == "reflect" and x.shape[a] < 2:
                raise OpError(f"{ctx.graph.source}: Pad node '{node.name}': reflect padding of an axis of length 1")
        idx = np.pad(idx, width, mode=_PAD_MODES[mode])
    crop = tuple(slice(-min(b, 0), idx.shape[a] - (-min(e, 0))) for a, (b, e) in enumerate(zip(begin, end)))
    idx = idx[crop]
    return _take(ctx, x, idx, int(fixedpoint.quantize(np.array([value]), x.frac)[0]))


def op_slice(ctx, node, x):
    r = len(x.shape)
    starts = _ints(ctx, node, 1, "starts")
    ends = _ints(ctx, node, 2, "ends")
    axes = _ints(ctx, node, 3, "axes", list(range(len(starts))))
    steps = _ints(ctx, node, 4, "steps", [1] * len(starts))
    sl = [slice(None)] * r
    for s, e, a, st in zip(starts, ends, axes, steps):
        sl[a % r] = slice(s, e, st)
    return _take(ctx, x, _index_of(x)[tuple(sl)])


def op_split(ctx, node, x):
    r = len(x.shape)
    axis = node.attrs.get("axis", 0) % r
    outs = [o for o in node.outputs]
    sizes = _ints(ctx, node, 1, "split")
    n = x.shape[axis]
    if sizes is None:
        k = node.attrs.get("num_outputs", len(outs))
        step = -(-n // k)
        sizes = [min(step, n - i * step) for i in range(k)]
    cuts = np.cumsum(sizes)[:-1]
    return [_take(ctx, x, part) for part in np.split(_index_of(x), cuts, axis=axis)]


def op_tile(ctx, node, x):
    reps = _ints(ctx, node, 1, "repeats")
    return _take(ctx, x, np.tile(_index_of(x), reps))


def op_expand(ctx, node, x):
    shape = _ints(ctx, node, 1, "shape")
    out = np.broadcast_shapes(x.shape, tuple(shape))
    return _take(ctx, x, np.broadcast_to(_index_of(x), out))


def op_gather(ctx, node, *xs):
    data, indices = node.inputs[:2]
    axis = node.attrs.get("axis", 0)
    if data in ctx.tensors and indices in ctx.graph.constants:
        x = ctx.tensors[data]
        idx = np.asarray(ctx.graph.constants[indices]).astype(np.int64)
        ax = axis % len(x.shape)
        n = x.shape[ax]
        if ((idx < -n) | (idx >= n)).any():
            raise OpError(f"{ctx.graph.source}: Gather node '{node.name}': an index is outside axis {ax} of length {n}")
        return _take(ctx, x, np.take(_index_of(x), idx, axis=ax))
    if data in ctx.graph.constants and indices in ctx.tensors:
        return embedding(ctx, node, ctx.const(data), ctx.tensors[indices], axis)
    raise OpError(f"{ctx.graph.source}: Gather node '{node.name}': gathering an activation at runtime indices is "
                  "not supported (only constant indices, or a constant table at runtime indices)")


def embedding(ctx, node, table: np.ndarray, ids: QTensor, axis: int) -> QTensor:
    """table[ids] for runtime integer ids: per id a one-hot vector h over the table's rows with
    h_i (h_i - 1) = 0, sum h_i = 1 and sum i h_i = id (V + 2 constraints), so exactly one h_i
    is 1, at i = id; the row is then sum_i h_i table[i], linear in h (the table is constant).
    An id outside [0, V) has no such h: the witness is refused."""
    if axis % table.ndim != 0:
        raise OpError(f"{ctx.graph.source}: Gather node '{node.name}': a runtime index on axis {axis} of a "
                      "constant table; only axis 0 (an embedding lookup) is supported")
    if ids.frac != 0:
        raise OpError(f"{ctx.graph.source}: Gather node '{node.name}': its indices '{node.inputs[1]}' are not "
                      "integers on the circuit's grid (calibrate with integer token ids)")
    v = table.shape[0]
    ids_v = ids.values.ravel()
    bad = np.flatnonzero((ids_v < 0) | (ids_v >= v))
    if bad.size:
        raise OpError(f"{ctx.graph.source}: Gather node '{node.name}': token id {int(ids_v[bad[0]])} at position "
                      f"{int(bad[0])} is outside the embedding table's {v} rows")
    t = ids_v.size
    row = table.reshape(v, -1)
    d = row.shape[1]
    _check_size(ctx, node, t * v * d, "table terms")
    onehot_v = np.zeros((t, v), np.int64)
    onehot_v[np.arange(t), np.clip(ids_v, 0, v - 1)] = 1
    h = ctx.b.signal(onehot_v.ravel())
    b = ctx.b
    if b.emit:
        hl = h.lc
        b.enforce(hl, hl, hl)  # booleanity
        sel = np.repeat(np.arange(t, dtype=np.int64), v)
        b.enforce_linear(LC(sel, hl.wires, np.ones(t * v, np.int64), t) - LC.constant(np.ones(t, np.int64)))
        b.enforce_linear(LC(sel, hl.wires, np.tile(np.arange(v, dtype=np.int64), t), t) - ids.signal.reshape(-1).lc)
    else:
        b.n_constraints += t * v + 2 * t
    wf = weight_frac(ctx, row)
    tq = fixedpoint.quantize(row, wf)  # (v, d)
    vals = tq[np.clip(ids_v, 0, v - 1)]  # (t, d)
    out_shape = tuple(ids.shape) + tuple(table.shape[1:])
    lc = None
    if b.emit:
        # output (j, k) = sum_i h[j, i] * tq[i, k]
        j, k, i = np.meshgrid(np.arange(t), np.arange(d), np.arange(v), indexing="ij")
        w = tq[i, k].ravel()
        keep = w != 0
        lc = LC((j * d + k).ravel()[keep], hl.wires[(j * v + i).ravel()[keep]], w[keep], t * d)
    lo = np.broadcast_to(tq.min(axis=0), (t, d)).copy()
    hi = np.broadcast_to(tq.max(axis=0), (t, d)).copy()
    return normalize(ctx, QTensor(Signal(lc, vals.reshape(out_shape)), wf, lo.reshape(out_shape), hi.reshape(out_shape)))
