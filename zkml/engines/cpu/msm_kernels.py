"""The MSM's kernels (zkml/engines/cpu/msm.py says how they fit together): the GLV split, the
expansion into points and 128-bit halves, signed digits, and the windows' bucket sums with
batch-affine additions, written once as a template and instantiated for G1 (over Fq) and G2
(over Fq2). Serial over [lo, hi), compiled into the native module.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from zkml.engines.cpu.curve import *  # noqa: F401,F403
from zkml.engines.cpu.field import _JIT  # noqa: F401 (used by the generated code)
from zkml.engines.cpu.glv import BETA_G1_MONT, BETA_G2_MONT, split_scalar  # noqa: F401

_JITS = dict(cache=True, nogil=True)


@njit(**_JITS)
def signed_digits(scalars, c, digits, lo, hi):
    """digits[w, j] for j in [lo, hi): signed c-bit digits of scalars[j] (limbs, any count)."""
    n_windows = digits.shape[0]
    n_limbs = scalars.shape[1]
    mask = np.uint64((1 << c) - 1)
    half = 1 << (c - 1)
    full = 1 << c
    for j in range(lo, hi):
        carry = 0
        for w in range(n_windows):
            pos = w * c
            limb = pos >> 6
            off = pos & 63
            v = np.uint64(0)
            if limb < n_limbs:
                v = scalars[j, limb] >> np.uint64(off)
                if off + c > 64 and limb + 1 < n_limbs:
                    v |= scalars[j, limb + 1] << np.uint64(64 - off)
            d = np.int64(v & mask) + carry
            if d > half:
                d -= full
                carry = 1
            else:
                carry = 0
            digits[w, j] = d


_TEMPLATE = '''
@njit(**_JITS)
def G_split(bases, scalars, halves, negs, count, lo, hi):
    """GLV halves of scalars[i] for i in [lo, hi) and count[i], how many are non-zero (none
    for an identity base)."""
    for i in range(lo, hi):
        a0, a1, n1, b0, b1, n2 = split_scalar(scalars, i)
        _, _, inf = G_load_affine(bases, i)
        halves[i, 0, 0] = a0
        halves[i, 0, 1] = a1
        halves[i, 1, 0] = b0
        halves[i, 1, 1] = b1
        negs[i, 0] = n1
        negs[i, 1] = n2
        if inf:
            count[i] = 0
        else:
            count[i] = ((a0 | a1) != U0) + ((b0 | b1) != U0)


@njit(**_JITS)
def G_expand(bases, halves, negs, pos, pts, sc, lo, hi):
    """From pos[i] on, for i in [lo, hi): the points +-P_i and +-phi(P_i) of the non-zero
    halves (signs folded into the points) and the halves' magnitudes."""
    for i in range(lo, hi):
        if pos[i + 1] == pos[i]:
            continue
        x, y, _ = G_load_affine(bases, i)
        j = pos[i]
        for part in range(2):
            if (halves[i, part, 0] | halves[i, part, 1]) == U0:
                continue
            xp = F_endo(x) if part else x
            yp = F_neg(y) if negs[i, part] else y
            G_store_affine(pts, j, xp, yp)
            sc[j, 0] = halves[i, part, 0]
            sc[j, 1] = halves[i, part, 1]
            j += 1


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


@njit(**_JITS)
def G_msm_windows(pts, digits, c, out, lo, hi):
    """out[w] for w in [lo, hi): window w's bucket sum weighted by bucket number (Jacobian).

    Buckets are affine and additions into them are batched so BATCH of them share one field
    inversion (Montgomery's trick): about 6 multiplications per addition instead of the 11 of
    a mixed Jacobian addition. A point whose bucket already waits in the batch goes to the
    bucket's Jacobian overflow instead, so runs of equal digits (0/1 witnesses) stay cheap.
    """
    m = digits.shape[1]
    nb = 1 << (c - 1)
    bx = np.zeros((nb,) + FSHAPE, np.uint64)
    by = np.zeros((nb,) + FSHAPE, np.uint64)
    full = np.zeros(nb, np.bool_)
    stamp = np.full(nb, -1, np.int64)
    jac = np.zeros((nb,) + JAC_SHAPE, np.uint64)
    pend_k = np.empty(BATCH, np.int64)
    pend_x = np.empty((BATCH,) + FSHAPE, np.uint64)
    pend_y = np.empty((BATCH,) + FSHAPE, np.uint64)
    prefix = np.empty((BATCH,) + FSHAPE, np.uint64)
    for w in range(lo, hi):
        full[:] = False
        stamp[:] = -1
        jac[:] = 0
        count = 0
        batch_id = 0
        for j in range(m):
            d = digits[w, j]
            if d == 0:
                continue
            x, y, _ = G_load_affine(pts, j)
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


@njit(**_JITS)
def G_group_sums(bases, order, starts, out, lo, hi):
    """out[g] = sum of bases[order[t]] for t in [starts[g], starts[g + 1]), affine, for groups
    g in [lo, hi): mixed Jacobian additions, then one inversion for the whole range."""
    n = hi - lo
    jac = np.zeros((max(n, 1),) + JAC_SHAPE, np.uint64)
    for g in range(lo, hi):
        acc = G_INF
        for t in range(starts[g], starts[g + 1]):
            x, y, inf = G_load_affine(bases, order[t])
            if not inf:
                acc = G_add_mixed(acc, x, y)
        G_store_jac(jac, g - lo, acc)
    prefix = np.empty((max(n, 1),) + FSHAPE, np.uint64)
    acc = F_ONE
    for i in range(n):
        z = G_load_jac(jac, i)[2]
        if not F_is_zero(z):
            acc = F_mul(acc, z)
        F_store(prefix, i, acc)
    inv = F_inv(acc)
    for i in range(n - 1, -1, -1):
        p = G_load_jac(jac, i)
        if F_is_zero(p[2]):
            G_store_affine(out, lo + i, F_ZERO, F_ZERO)
            continue
        zi = F_mul(inv, F_load(prefix, i - 1)) if i > 0 else inv
        inv = F_mul(inv, p[2])
        zi2 = F_sqr(zi)
        G_store_affine(out, lo + i, F_mul(p[0], zi2), F_mul(p[1], F_mul(zi2, zi)))


@njit(**_JIT)
def G_combine_windows(out, c):
    acc = G_load_jac(out, out.shape[0] - 1)
    for w in range(out.shape[0] - 2, -1, -1):
        for _ in range(c):
            acc = G_dbl(acc)
        acc = G_add(acc, G_load_jac(out, w))
    return G_to_affine(acc)


@njit(**_JIT)
def G_combine_into(out, c, res):
    """G_combine_windows writing the affine sum into res (2, ...): the native export."""
    x, y = G_combine_windows(out, c)
    F_store(res, 0, x)
    F_store(res, 1, y)
'''

_ENDO = '''
@njit(**_JIT)
def fq_endo(x):
    return fq_mul(x, BETA_G1_MONT)


@njit(**_JIT)
def fq2_endo(x):
    return (fq_mul(x[0], BETA_G2_MONT), fq_mul(x[1], BETA_G2_MONT))
'''

_BATCH = 512


def _instantiate(group: str, field: str, jac_shape: str, fshape: str) -> str:
    src = (_TEMPLATE.replace("G_INF", f"{group.upper()}_INF").replace("F_ONE", f"{field.upper()}_ONE")
           .replace("F_ZERO", f"{field.upper()}_ZERO"))
    src = src.replace("G_", f"{group}_").replace("F_", f"{field}_")
    return (src.replace("JAC_SHAPE", jac_shape).replace("FSHAPE", fshape)
            .replace("BATCH", str(_BATCH)))


exec(
    compile(
        _ENDO + _instantiate("g1", "fq", "(3, 4)", "(4,)")
        + _instantiate("g2", "fq2", "(3, 2, 4)", "(2, 4)"),
        __file__,
        "exec",
    )
)
