"""MatMul and Einsum as index contractions over named axes.

With one constant operand the contraction is a linear map (integer weights, no constraints, one
rescale); between two activations (attention scores, attention times values) every term is a
product, one R1CS constraint each, summed linearly, with bounds from the four corner products,
then one rescale. The vector-times-matrix MatMul keeps the dense path of ``linear.op_matmul``.
"""

from __future__ import annotations

import numpy as np

from zkml.circuit import fixedpoint
from zkml.compiler.ops import linear
from zkml.compiler.ops.common import (OpError, _affine, _check_size, _prepared, normalize, operand, products,
                                      sum_groups, weight_frac)
from zkml.compiler.qtensor import QTensor


def _flat_index(letters: str, shape, order: str, sizes: dict) -> np.ndarray:
    """For every assignment of the letters in ``order`` (C order), the flat index into a tensor
    of ``shape`` whose axes are ``letters`` (a size-1 axis broadcasts)."""
    full = [sizes[ch] for ch in order]
    strides = np.cumprod([1] + list(shape[::-1]))[:-1][::-1] if len(shape) else []
    flat = np.zeros([1] * len(order), np.int64)
    for ch, n, st in zip(letters, shape, strides):
        if n == 1:
            continue
        ax = order.index(ch)
        view = [1] * len(order)
        view[ax] = full[ax]
        flat = flat + np.arange(full[ax], dtype=np.int64).reshape(view) * int(st)
    return np.broadcast_to(flat, full).ravel()


def parse_einsum(eq: str, shapes: list) -> tuple[list[str], str, dict]:
    """(operand letters, output letters, letter sizes) of an einsum equation; '...' becomes
    upper-case letters, an implicit output is the letters used once, in alphabetical order."""
    eq = eq.replace(" ", "")
    lhs, rhs = eq.split("->") if "->" in eq else (eq, None)
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"equation has {len(terms)} operands, node has {len(shapes)}")
    ell = 0
    for t, s in zip(terms, shapes):
        if "..." in t:
            ell = max(ell, len(s) - (len(t) - 3))
    spare = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:ell]
    out_terms = []
    for t, s in zip(terms, shapes):
        if "..." in t:
            k = len(s) - (len(t) - 3)
            t = t.replace("...", spare[ell - k:])
        if len(t) != len(s):
            raise ValueError(f"operand '{t}' does not match shape {tuple(s)}")
        out_terms.append(t)
    if rhs is None:
        used = "".join(out_terms)
        rhs = spare + "".join(sorted(ch for ch in set(used) if used.count(ch) == 1 and ch not in spare))
    else:
        rhs = rhs.replace("...", spare)
    sizes: dict = {}
    for t, s in zip(out_terms, shapes):
        for ch, n in zip(t, s):
            if sizes.get(ch, 1) != 1 and n not in (1, sizes[ch]):
                raise ValueError(f"axis '{ch}' has sizes {sizes[ch]} and {n}")
            sizes[ch] = max(sizes.get(ch, 1), int(n))
    return out_terms, rhs, sizes


def contract(ctx, node, terms: list[str], out: str, sizes: dict, names: list[str]) -> QTensor:
    """The einsum of the node inputs ``names`` (one or two) over ``terms`` -> ``out``."""
    order = out + "".join(sorted({ch for t in terms for ch in t} - set(out)))
    out_shape = tuple(sizes[ch] for ch in out)
    n_terms = int(np.prod([sizes[ch] for ch in order]))
    _check_size(ctx, node, n_terms, "multiply-adds")
    out_idx = _flat_index(out, out_shape, order, sizes)
    n_out = int(np.prod(out_shape))
    runtime = [n for n in names if n in ctx.tensors]
    if len(names) == 1:
        x = ctx.tensors[names[0]]
        cols = _flat_index(terms[0], x.shape, order, sizes)
        t = _affine(ctx, x, out_idx, cols, np.ones(cols.size, np.int64), np.zeros(n_out, np.int64), out_shape)
        return QTensor(t.signal, x.frac, t.lo, t.hi)
    if len(names) != 2 or not runtime:
        raise OpError(f"{ctx.graph.source}: {node.op} node '{node.name}': only one or two operands are supported")
    if len(runtime) == 2:  # two activations: one product per term
        a, b = ctx.tensors[names[0]], ctx.tensors[names[1]]
        ai = _flat_index(terms[0], a.shape, order, sizes)
        bi = _flat_index(terms[1], b.shape, order, sizes)
        z = products(ctx, a, b, ai, bi)
        return normalize(ctx, sum_groups(ctx, z, out_idx, n_out, out_shape))
    xi = names.index(runtime[0])
    x = ctx.tensors[names[xi]]
    if ctx.committed is not None:  # private weights: one product constraint per term
        from zkml.compiler.committed_weights import weighted_sum

        w_shape = np.shape(ctx.graph.constants[names[1 - xi]])
        wq, bq, wf = ctx.committed.quantized(ctx, node, x, lambda: (ctx.const(names[1 - xi]), np.zeros(0)))
        if wq.shape != tuple(w_shape):
            raise OpError(f"{ctx.graph.source}: {node.op} node '{node.name}': weights {wq.shape} in the weights file, "
                          f"the architecture needs {tuple(w_shape)}")
        t = weighted_sum(ctx, node, x, wq, bq, wf, out_idx, _flat_index(terms[xi], x.shape, order, sizes),
                         _flat_index(terms[1 - xi], w_shape, order, sizes), None, out_shape)
        return normalize(ctx, t)

    def make():
        w = ctx.const(names[1 - xi])
        wf = weight_frac(ctx, w)
        wq = fixedpoint.quantize(w, wf).ravel()
        cols = _flat_index(terms[xi], x.shape, order, sizes)
        wv = wq[_flat_index(terms[1 - xi], w.shape, order, sizes)]
        return dict(wf=wf, rows=out_idx, cols=cols, w=wv)

    prep = _prepared(ctx, node, x, make)
    t = _affine(ctx, x, prep["rows"], prep["cols"], prep["w"], np.zeros(n_out, np.int64), out_shape)
    return normalize(ctx, QTensor(t.signal, x.frac + prep["wf"], t.lo, t.hi))


def _shape(ctx, name):
    return tuple(ctx.tensors[name].shape) if name in ctx.tensors else tuple(np.shape(ctx.graph.constants[name]))


def op_matmul(ctx, node, *args):
    """MatMul with numpy's broadcasting: a vector times a constant matrix on the dense path,
    everything else (either operand constant, or both activations) as a contraction."""
    an, bn = node.inputs[:2]
    if an in ctx.tensors and bn not in ctx.tensors and np.ndim(ctx.graph.constants[bn]) == 2 \
            and ctx.tensors[an].values.ndim <= 2 and ctx.tensors[an].values.size == np.shape(ctx.graph.constants[bn])[0]:
        return linear.op_matmul(ctx, node, ctx.tensors[an])
    sa, sb = _shape(ctx, an), _shape(ctx, bn)
    if not sa or not sb:
        raise OpError(f"{ctx.graph.source}: MatMul node '{node.name}': scalar operands are not matrices")
    ra, rb = len(sa), len(sb)
    batch = max(max(ra, rb) - 2, 0)
    bl = "ABCDEFGH"[:batch]
    ta = (bl[batch - (ra - 2):] + "mk") if ra >= 2 else "k"
    tb = (bl[batch - (rb - 2):] + "kn") if rb >= 2 else "k"
    out = bl + ("m" if ra >= 2 else "") + ("n" if rb >= 2 else "")
    terms, rhs, sizes = parse_einsum(f"{ta},{tb}->{out}", [sa, sb])
    t = contract(ctx, node, terms, rhs, sizes, [an, bn])
    want = ctx.graph.shapes.get(node.outputs[0])
    if want and int(np.prod(want)) == t.values.size and tuple(want) != t.shape:
        t = QTensor(t.signal.reshape(tuple(want)), t.frac, t.lo.reshape(tuple(want)), t.hi.reshape(tuple(want)))
    return t


def op_einsum(ctx, node, *args):
    names = [n for n in node.inputs if n]
    eq = node.attrs["equation"]
    eq = eq.decode() if isinstance(eq, bytes) else eq
    try:
        terms, rhs, sizes = parse_einsum(eq, [_shape(ctx, n) for n in names])
    except ValueError as e:
        raise OpError(f"{ctx.graph.source}: Einsum node '{node.name}' ('{eq}'): {e}") from None
    if any(len(set(t)) != len(t) for t in terms):
        raise OpError(f"{ctx.graph.source}: Einsum node '{node.name}' ('{eq}'): a repeated axis in one operand "
                      "(a diagonal) is not supported")
    return contract(ctx, node, terms, rhs, sizes, names)
