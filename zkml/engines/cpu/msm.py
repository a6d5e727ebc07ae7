"""Multi-scalar multiplication sum_i k_i * P_i on G1 and G2: Pippenger with signed windows.

Scalars are cut into c-bit signed digits in [-2^(c-1), 2^(c-1)] (a negative digit adds -P to
bucket |d|), which halves the buckets. Windows are independent, so they run in parallel
(numba ``prange``) over all cores. Zero scalars and identity bases are dropped before the
windows are built; small scalars (0/1 and below 2^(c-1), common in ML witnesses) then touch a
single window and cost one bucket addition each.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from zkml.engines.cpu.curve import *  # noqa: F401,F403
from zkml.engines.cpu.field import _JIT

_JITP = dict(cache=True, nogil=True, parallel=True)


@njit(**_JITP)
def signed_digits(scalars, index, c, n_windows):
    """Signed c-bit digits of scalars[index[j]], shape (n_windows, len(index)), int32."""
    m = len(index)
    digits = np.empty((n_windows, m), np.int32)
    mask = np.uint64((1 << c) - 1)
    half = 1 << (c - 1)
    full = 1 << c
    for j in prange(m):
        i = index[j]
        carry = 0
        for w in range(n_windows):
            pos = w * c
            limb = pos >> 6
            off = pos & 63
            v = np.uint64(0)
            if limb < 4:
                v = scalars[i, limb] >> np.uint64(off)
                if off + c > 64 and limb + 1 < 4:
                    v |= scalars[i, limb + 1] << np.uint64(64 - off)
            d = np.int64(v & mask) + carry
            if d > half:
                d -= full
                carry = 1
            else:
                carry = 0
            digits[w, j] = d
    return digits


_TEMPLATE = '''
@njit(**_JITP)
def G_msm_windows(bases, index, digits, c, out):
    """Sum of each window's buckets, weighted by bucket number, into out[w] (Jacobian)."""
    n_windows = digits.shape[0]
    m = digits.shape[1]
    nb = 1 << (c - 1)
    for w in prange(n_windows):
        buckets = np.zeros((nb,) + JAC_SHAPE, np.uint64)
        for j in range(m):
            d = digits[w, j]
            if d == 0:
                continue
            x, y, _ = G_load_affine(bases, index[j])
            if d < 0:
                y = F_neg(y)
                k = -d - 1
            else:
                k = d - 1
            G_store_jac(buckets, k, G_add_mixed(G_load_jac(buckets, k), x, y))
        running = G_INF
        total = G_INF
        for k in range(nb - 1, -1, -1):
            running = G_add(running, G_load_jac(buckets, k))
            total = G_add(total, running)
        G_store_jac(out, w, total)


@njit(**_JIT)
def G_combine_windows(out, c):
    acc = G_load_jac(out, out.shape[0] - 1)
    for w in range(out.shape[0] - 2, -1, -1):
        for _ in range(c):
            acc = G_dbl(acc)
        acc = G_add(acc, G_load_jac(out, w))
    return G_to_affine(acc)
'''

exec(
    compile(
        _TEMPLATE.replace("G_INF", "G1_INF").replace("G_", "g1_").replace("F_", "fq_")
        .replace("JAC_SHAPE", "(3, 4)")
        + _TEMPLATE.replace("G_INF", "G2_INF").replace("G_", "g2_").replace("F_", "fq2_")
        .replace("JAC_SHAPE", "(3, 2, 4)"),
        __file__,
        "exec",
    )
)


def window_bits(m: int) -> int:
    """Window size c minimising windows * (points + bucket-reduction cost)."""
    if m <= 1:
        return 2
    best, best_cost = 2, None
    for c in range(2, 17):
        n_windows = -(-255 // c)
        cost = n_windows * (m + 3 * (1 << (c - 1)))
        if best_cost is None or cost < best_cost:
            best, best_cost = c, cost
    return best


def _live_index(bases: np.ndarray, scalars: np.ndarray) -> np.ndarray:
    nonzero = scalars.any(axis=1)
    not_inf = bases.reshape(len(bases), -1).any(axis=1)
    return np.flatnonzero(nonzero & not_inf).astype(np.int64)


def _msm(bases, scalars, windows, combine, jac_shape, affine_shape):
    if len(bases) != len(scalars):
        raise ValueError(f"MSM needs as many scalars as bases: {len(scalars)} != {len(bases)}")
    scalars = np.ascontiguousarray(scalars, dtype=np.uint64)
    index = _live_index(bases, scalars)
    if len(index) == 0:
        return np.zeros(affine_shape, np.uint64)
    c = window_bits(len(index))
    n_windows = -(-255 // c)
    digits = signed_digits(scalars, index, c, n_windows)
    out = np.zeros((n_windows,) + jac_shape, np.uint64)
    windows(bases, index, digits, c, out)
    x, y = combine(out, c)
    return np.array([x, y], dtype=np.uint64)


def msm_g1(bases: np.ndarray, scalars: np.ndarray) -> np.ndarray:
    """sum_i scalars[i] * bases[i] in G1; bases (n, 2, 4) Montgomery affine, scalars (n, 4) < r."""
    return _msm(bases, scalars, g1_msm_windows, g1_combine_windows, (3, 4), (2, 4))  # noqa: F821


def msm_g2(bases: np.ndarray, scalars: np.ndarray) -> np.ndarray:
    """sum_i scalars[i] * bases[i] in G2; bases (n, 2, 2, 4) Montgomery affine."""
    return _msm(bases, scalars, g2_msm_windows, g2_combine_windows, (3, 2, 4), (2, 2, 4))  # noqa: F821
