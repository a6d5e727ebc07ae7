"""Softmax and LogSoftmax over any axis, proved: the real probabilities, not the logits.

Per row of the axis: m = max (a tree of max gadgets), d = x - m <= 0, e = exp(d) from the exp
table at 2^-16 (flat below about -12: those rows read 0), S = sum e (linear; S >= 2^16, the
maximum's own term), then p = e / S by the division gadget at the output scale (exact
rounding, so the probabilities of a row sum to 1 within K / 2 output steps). LogSoftmax is
d - log(S / 2^16), log from a table over [1, K]. Error bounds (recorded in the manifest): with
e's table error eps, |p - P| <= eps (1 + K) + half an output step; |log S - log T| <= K eps.
"""

from __future__ import annotations

import numpy as np

from zkml.circuit import fixed_functions as ff
from zkml.circuit.builder import Signal
from zkml.compiler.ops.arith import divide_tensors
from zkml.compiler.ops.common import OpError, _gather, _index_of, max_columns, normalize
from zkml.compiler.ops.tables import needs_lookups, record, table_function
from zkml.compiler.qtensor import QTensor

EXP_FRAC = 16  # fraction bits of e = exp(x - max)


def _rows(ctx, node, x: QTensor) -> np.ndarray:
    """(rows, K): flat indices of x grouped by the softmax's rows (opset < 13: the axis and all
    after it, flattened; opset >= 13: the one axis)."""
    r = len(x.shape)
    if r == 0:
        raise OpError(f"{ctx.graph.source}: {node.op} node '{node.name}' on a scalar")
    old = 0 < ctx.graph.opset < 13
    axis = int(node.attrs.get("axis", 1 if old else -1)) % r
    idx = _index_of(x)
    if old:
        return idx.reshape(int(np.prod(x.shape[:axis], dtype=np.int64)), -1)
    return np.moveaxis(idx, axis, -1).reshape(-1, x.shape[axis])


def _shifted(ctx, x: QTensor, idx: np.ndarray) -> QTensor:
    """d = x - rowmax(x) in row order (rows * K,), bounded above by 0."""
    rows, k = idx.shape
    m = max_columns(ctx, x, idx)
    xs = _gather(ctx, x, idx.ravel())
    ms = _gather(ctx, m, np.repeat(np.arange(rows), k))
    lc = (xs.signal.lc - ms.signal.lc) if ctx.b.emit else None
    return QTensor(Signal(lc, xs.values - ms.values), x.frac, np.minimum(xs.lo - ms.hi, 0), np.minimum(xs.hi - ms.lo, 0))


def _exp_sum(ctx, node, d: QTensor, rows: int, k: int):
    e, eps, info = table_function(ctx, node, d, ff.function("Exp"), EXP_FRAC)
    grid = np.arange(rows * k).reshape(rows, k)
    from zkml.compiler.ops.common import sum_groups

    s = sum_groups(ctx, e, np.repeat(np.arange(rows), k), rows, (rows,))
    s = QTensor(s.signal, EXP_FRAC, np.maximum(s.lo, 1 << EXP_FRAC), s.hi)  # the max's own term is exp(0) = 1
    return e, s, eps, info, grid


def _back(ctx, t: QTensor, idx: np.ndarray, shape) -> QTensor:
    """Row order back to the tensor's layout."""
    inv = np.empty(idx.size, np.int64)
    inv[idx.ravel()] = np.arange(idx.size)
    g = _gather(ctx, t, inv)
    return QTensor(g.signal.reshape(shape), t.frac, g.lo.reshape(shape), g.hi.reshape(shape))


def op_softmax(ctx, node, x):
    needs_lookups(ctx, node, "exp")
    idx = _rows(ctx, node, x)
    rows, k = idx.shape
    d = _shifted(ctx, x, idx)
    e, s, eps, info, _ = _exp_sum(ctx, node, d, rows, k)
    sb = _gather(ctx, s, np.repeat(np.arange(rows), k))
    p = divide_tensors(ctx, node, e, sb, ctx.frac)
    p = QTensor(p.signal, p.frac, np.maximum(p.lo, 0), np.minimum(p.hi, 1 << ctx.frac))
    step = 2.0 ** -ctx.frac
    record(ctx, node, error_bound=eps * (1 + k) + step / 2, sum_to_one_bound=k * step / 2, exp_table=info)
    return _back(ctx, p, idx, x.shape)


def op_log_softmax(ctx, node, x):
    needs_lookups(ctx, node, "exp and log")
    idx = _rows(ctx, node, x)
    rows, k = idx.shape
    d = _shifted(ctx, x, idx)
    _, s, eps, _, _ = _exp_sum(ctx, node, d, rows, k)
    o = max(ctx.frac, 12)
    lg, log_err, info = table_function(ctx, node, s, ff.function("Log"), o)
    lgb = _gather(ctx, lg, np.repeat(np.arange(rows), k))
    big = max(d.frac, o)
    md, ml = 1 << (big - d.frac), 1 << (big - o)
    lc = (d.signal.lc.scale(md) - lgb.signal.lc.scale(ml)) if ctx.b.emit else None
    t = QTensor(Signal(lc, md * d.values - ml * lgb.values), big, md * d.lo.astype(object) - ml * lgb.hi.astype(object),
                md * d.hi.astype(object) - ml * lgb.lo.astype(object))
    # the log table reads S / 2^16 as its input: table_function rescales S's grid
    out = normalize(ctx, t)
    record(ctx, node, error_bound=k * eps * 1.01 + log_err + 2.0 ** -(ctx.frac + 1), log_table=info)
    return _back(ctx, out, idx, x.shape)
