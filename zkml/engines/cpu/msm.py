"""Multi-scalar multiplication sum_i k_i * P_i on G1 and G2: Pippenger with signed windows.

Scalars are cut into c-bit signed digits in [-2^(c-1), 2^(c-1)] (a negative digit adds -P to
bucket |d|), which halves the buckets. Windows are independent, so they run in parallel
(numba ``prange``) over all cores. Zero scalars and identity bases are dropped before the
windows are built; small scalars (0/1 and below 2^(c-1), common in ML witnesses) then touch a
single window and cost one bucket addition each. Bucket additions are affine and batched
(see ``msm_windows``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from zkml.engines.cpu.curve import *  # noqa: F401,F403
from zkml.engines.cpu.field import _JIT  # noqa: F401 (used by the generated code)

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
@njit(**_JIT)
def G_flush(bx, by, pend_k, pend_x, pend_y, prefix, count, jac):
    """Add pend[t] into affine bucket pend_k[t] for t < count, sharing one inversion."""
    acc = F_ONE
    for t in range(count):
        k = pend_k[t]
        dx = F_sub(F_load(pend_x, t), F_load(bx, k))
        if F_is_zero(dx):
            dx = F_ONE  # equal x: doubling or P + (-P); done below with Jacobian formulas
        acc = F_mul(acc, dx)
        F_store(prefix, t, acc)
    inv = F_inv(acc)
    for t in range(count - 1, -1, -1):
        k = pend_k[t]
        x1 = F_load(bx, k)
        y1 = F_load(by, k)
        x2 = F_load(pend_x, t)
        y2 = F_load(pend_y, t)
        dx = F_sub(x2, x1)
        if F_is_zero(dx):
            G_store_jac(jac, k, G_add_mixed(G_load_jac(jac, k), x2, y2))
            continue
        if t > 0:
            dinv = F_mul(inv, F_load(prefix, t - 1))
        else:
            dinv = inv
        inv = F_mul(inv, dx)
        lam = F_mul(F_sub(y2, y1), dinv)
        x3 = F_sub(F_sub(F_sqr(lam), x1), x2)
        y3 = F_sub(F_mul(lam, F_sub(x1, x3)), y1)
        F_store(bx, k, x3)
        F_store(by, k, y3)


@njit(**_JITP)
def G_msm_windows(bases, index, digits, c, out):
    """Each window's bucket sum weighted by bucket number, into out[w] (Jacobian).

    Buckets are affine and additions into them are batched so BATCH of them share one field
    inversion (Montgomery's trick): about 6 multiplications per addition instead of the 11 of
    a mixed Jacobian addition. A point whose bucket already waits in the batch goes to the
    bucket's Jacobian overflow instead, so runs of equal digits (0/1 witnesses) stay cheap.
    """
    n_windows = digits.shape[0]
    m = digits.shape[1]
    nb = 1 << (c - 1)
    for w in prange(n_windows):
        bx = np.zeros((nb,) + FSHAPE, np.uint64)
        by = np.zeros((nb,) + FSHAPE, np.uint64)
        full = np.zeros(nb, np.bool_)
        stamp = np.full(nb, -1, np.int64)
        jac = np.zeros((nb,) + JAC_SHAPE, np.uint64)
        pend_k = np.empty(BATCH, np.int64)
        pend_x = np.empty((BATCH,) + FSHAPE, np.uint64)
        pend_y = np.empty((BATCH,) + FSHAPE, np.uint64)
        prefix = np.empty((BATCH,) + FSHAPE, np.uint64)
        count = 0
        batch_id = 0
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
            if not full[k]:
                F_store(bx, k, x)
                F_store(by, k, y)
                full[k] = True
            elif stamp[k] == batch_id:
                G_store_jac(jac, k, G_add_mixed(G_load_jac(jac, k), x, y))
            else:
                stamp[k] = batch_id
                pend_k[count] = k
                F_store(pend_x, count, x)
                F_store(pend_y, count, y)
                count += 1
                if count == BATCH:
                    G_flush(bx, by, pend_k, pend_x, pend_y, prefix, count, jac)
                    count = 0
                    batch_id += 1
        if count:
            G_flush(bx, by, pend_k, pend_x, pend_y, prefix, count, jac)
        running = G_INF
        total = G_INF
        for k in range(nb - 1, -1, -1):
            if full[k]:
                running = G_add_mixed(running, F_load(bx, k), F_load(by, k))
            running = G_add(running, G_load_jac(jac, k))
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

_BATCH = 512


def _instantiate(group: str, field: str, jac_shape: str, fshape: str) -> str:
    src = _TEMPLATE.replace("G_INF", f"{group.upper()}_INF").replace("F_ONE", f"{field.upper()}_ONE")
    src = src.replace("G_", f"{group}_").replace("F_", f"{field}_")
    return (src.replace("JAC_SHAPE", jac_shape).replace("FSHAPE", fshape)
            .replace("BATCH", str(_BATCH)))


exec(
    compile(
        _instantiate("g1", "fq", "(3, 4)", "(4,)") + _instantiate("g2", "fq2", "(3, 2, 4)", "(2, 4)"),
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
    if len(bases) == 0:
        return np.zeros(affine_shape, np.uint64)
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
