"""The integer maths of linear layers, vectorised: y = W x + b and its worst-case bounds.

For an input known to lie in [lo, hi], each output's bounds are exact integers,

    lo_i = sum_j min(w_ij lo_j, w_ij hi_j) + b_i,   hi_i = sum_j max(w_ij lo_j, w_ij hi_j) + b_i,

computed as matrix products in int64 when sum_j |w_ij| max(|lo_j|, |hi_j|) + |b_i| is (by a float
estimate with a wide margin) below 2^62, so no bound can leave int64; otherwise in Python ints, as
the compiler always did. Either way the bounds are the same integers, so the compiler's refusal of
anything that could wrap the field (ops.common._check_bounds) is unchanged. Values are int64 as before.
Weights come dense (Gemm, MatMul; Conv through its patch matrix) or as coordinate lists.
"""

from __future__ import annotations

import numpy as np

# Below this, every bound (and each partial sum of its terms) fits int64 with room for the
# rounding constant a rescale adds; the float estimate's relative error is far below the margin.
SAFE_MAGNITUDE = 2.0**62 * (1 - 1e-6)


def _magnitude(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return np.maximum(np.abs(lo.astype(np.float64)), np.abs(hi.astype(np.float64)))


def dense_values(w: np.ndarray, x: np.ndarray, bias) -> np.ndarray:
    """W x + b for a dense int64 W, as ``np.matmul`` multiplies (a matrix and a vector, or
    stacks of them), with ``bias`` broadcast to the result."""
    if w.ndim == 2 and x.ndim == 1:
        return w.dot(x) + bias  # dot: faster than matmul for an integer matrix-vector product
    return np.matmul(w, x) + bias


def dense_bounds(w: np.ndarray, lo: np.ndarray, hi: np.ndarray, bias,
                 wneg: np.ndarray | None = None, abs_rows: np.ndarray | None = None):
    """(lo, hi) of W x + b over x in [lo, hi], shaped as ``dense_values``; ``wneg`` = min(W, 0)
    and ``abs_rows`` = the float sums of |W| over each row may be passed in precomputed."""
    bias = np.asarray(bias, np.int64)
    if abs_rows is None:
        abs_rows = np.abs(w).sum(axis=-1, dtype=np.float64)
    worst = float(abs_rows.max(initial=0.0)) * float(_magnitude(lo, hi).max(initial=0.0))
    exact_int = lo.dtype != object and hi.dtype != object
    if exact_int and worst + float(np.abs(bias).max(initial=0)) < SAFE_MAGNITUDE:
        wneg = np.minimum(w, 0) if wneg is None else wneg
        # lo = W lo + min(W, 0) (hi - lo); hi = W hi - min(W, 0) (hi - lo)
        spread = dense_values(wneg, hi - lo, 0)
        return dense_values(w, lo, bias) + spread, dense_values(w, hi, bias) - spread
    wo, bo = w.astype(object), bias.astype(object)
    pos, neg = np.maximum(wo, 0), np.minimum(wo, 0)
    lo_o, hi_o = lo.astype(object), hi.astype(object)
    return np.matmul(pos, lo_o) + np.matmul(neg, hi_o) + bo, np.matmul(pos, hi_o) + np.matmul(neg, lo_o) + bo


def sparse(rows: np.ndarray, cols: np.ndarray, w: np.ndarray, n_out: int, x: np.ndarray,
           lo: np.ndarray, hi: np.ndarray, bias):
    """(y, lo, hi) for y_i = sum over terms t with rows[t] == i of w[t] x[cols[t]], plus b_i."""
    bias = np.asarray(bias, np.int64).ravel()
    vals = np.zeros(n_out, np.int64)
    np.add.at(vals, rows, w * x[cols])
    vals += bias
    xlo, xhi = lo[cols], hi[cols]
    worst = np.bincount(rows, weights=np.abs(w.astype(np.float64)) * _magnitude(xlo, xhi), minlength=n_out)
    positive = w > 0
    exact_int = lo.dtype != object and hi.dtype != object
    if exact_int and (worst.size == 0 or float((worst + np.abs(bias.astype(np.float64))).max()) < SAFE_MAGNITUDE):
        out_lo, out_hi = bias.copy(), bias.copy()
        np.add.at(out_lo, rows, np.where(positive, w * xlo, w * xhi))
        np.add.at(out_hi, rows, np.where(positive, w * xhi, w * xlo))
        return vals, out_lo, out_hi
    out_lo, out_hi = np.zeros(n_out, object), np.zeros(n_out, object)
    wo, xlo, xhi = w.astype(object), xlo.astype(object), xhi.astype(object)
    np.add.at(out_lo, rows, np.where(positive, wo * xlo, wo * xhi))
    np.add.at(out_hi, rows, np.where(positive, wo * xhi, wo * xlo))
    return vals, out_lo + bias.astype(object), out_hi + bias.astype(object)
