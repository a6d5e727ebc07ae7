"""Multi-scalar multiplication sum_i k_i * P_i on G1 and G2: GLV, then Pippenger with signed
windows.

Each scalar is split by the GLV endomorphism (``glv.py``) into two halves below 2^128, so
every point P becomes P and phi(P) = lambda * P with 128-bit scalars: half the windows, twice
the points. Zero scalars, identity bases and zero halves are dropped first; scalars below
2^127 (0/1 and the small values of ML witnesses) keep a single half and need only as many
windows as their largest bit length. Halves are cut into c-bit signed digits in
[-2^(c-1), 2^(c-1)] (a negative digit adds -P to bucket |d|), which halves the buckets.

Windows are independent units of work: a serial GIL-free kernel does the windows [lo, hi) of
one MSM, and ``msm_many`` hands the windows of several MSMs (G2 beside G1) to both cores, the
biggest first, so neither core idles while the other finishes.

Buckets take points in scalar order with batched affine additions (``G_msm_windows``).
Sorting each window's points by bucket first, to sum every bucket as a tree of batched
affine additions without conflicts, was measured slower on this machine (G1, 2^16 points, one
core: 0.37 s against 0.27 s): gathering 64-byte points in bucket order misses the cache more
than the occasional Jacobian fallback of a bucket already in the batch costs.
"""

from __future__ import annotations

import threading

import numpy as np
from numba import njit

from zkml.engines.cpu import threads
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


@njit(**_JIT)
def G_combine_windows(out, c):
    acc = G_load_jac(out, out.shape[0] - 1)
    for w in range(out.shape[0] - 2, -1, -1):
        for _ in range(c):
            acc = G_dbl(acc)
        acc = G_add(acc, G_load_jac(out, w))
    return G_to_affine(acc)
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
    src = _TEMPLATE.replace("G_INF", f"{group.upper()}_INF").replace("F_ONE", f"{field.upper()}_ONE")
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

# per group: jacobian shape, affine shape, relative cost of a point addition
_GROUPS = {
    "g1": ((3, 4), (2, 4), 1.0),
    "g2": ((3, 2, 4), (2, 2, 4), 3.0),
}
_KERNELS = {
    "g1": (g1_split, g1_expand, g1_msm_windows, g1_combine_windows),  # noqa: F821 (generated)
    "g2": (g2_split, g2_expand, g2_msm_windows, g2_combine_windows),  # noqa: F821
}
_MIN_CHUNK = 2048


def window_bits(m: int, bits: int = 128) -> int:
    """Window size c minimising windows * (points + bucket-reduction cost) for m scalars of at
    most ``bits`` bits (signed digits need bits // c + 1 windows)."""
    if m <= 1:
        return 2
    best, best_cost = 2, None
    for c in range(2, 17):
        cost = (bits // c + 1) * (m + 3 * (1 << (c - 1)))
        if best_cost is None or cost < best_cost:
            best, best_cost = c, cost
    return best


class _Job:
    """One MSM after the GLV split: expanded points, digits, and the window sums to fill."""

    def __init__(self, group, pts, digits, c):
        self.group, self.pts, self.digits, self.c = group, pts, digits, c
        self.out = np.zeros((digits.shape[0],) + _GROUPS[group][0], np.uint64)


def _prepare(group: str, bases: np.ndarray, scalars: np.ndarray) -> _Job | None:
    """None when the sum is the identity without any work (no non-zero term)."""
    if len(bases) != len(scalars):
        raise ValueError(f"MSM needs as many scalars as bases: {len(scalars)} != {len(bases)}")
    if len(bases) == 0:
        return None
    bases = np.ascontiguousarray(bases, np.uint64)
    scalars = np.ascontiguousarray(scalars, np.uint64)
    n = len(bases)
    split, expand = _KERNELS[group][:2]
    halves = np.empty((n, 2, 2), np.uint64)
    negs = np.empty((n, 2), np.bool_)
    count = np.empty(n, np.int64)
    threads.run_ranges(split, n, bases, scalars, halves, negs, count, min_chunk=_MIN_CHUNK)
    pos = np.zeros(n + 1, np.int64)
    np.cumsum(count, out=pos[1:])
    m = int(pos[-1])
    if m == 0:  # no term: zero scalars (or multiples of r), identity bases
        return None
    pts = np.empty((m,) + _GROUPS[group][1], np.uint64)
    sc = np.empty((m, 2), np.uint64)
    threads.run_ranges(expand, n, bases, halves, negs, pos, pts, sc, min_chunk=_MIN_CHUNK)
    top = int(sc[:, 1].max())
    bits = 64 + top.bit_length() if top else int(sc[:, 0].max()).bit_length()
    c = window_bits(m, bits)
    digits = np.empty((bits // c + 1, m), np.int32)
    threads.run_ranges(signed_digits, m, sc, c, digits, min_chunk=_MIN_CHUNK)
    return _Job(group, pts, digits, c)


def _run_windows(jobs: list[_Job]) -> None:
    """Every window of every job, on all threads, the most expensive first."""
    units = []
    for job in jobs:
        weight = _GROUPS[job.group][2]
        nnz = np.count_nonzero(job.digits, axis=1)
        for w in range(job.digits.shape[0]):
            units.append((weight * (nnz[w] + 3 * (1 << (job.c - 1))), job, w))
    units.sort(key=lambda u: -u[0])
    take = iter(units)
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                unit = next(take, None)
            if unit is None:
                return
            _, job, w = unit
            _KERNELS[job.group][2](job.pts, job.digits, job.c, job.out, w, w + 1)

    n = min(threads.n_threads(), len(units))
    threads.run_tasks([worker] * max(n, 1))


def _finish(group: str, job: _Job | None) -> np.ndarray:
    jac_shape, affine_shape, _ = _GROUPS[group]
    if job is None:
        return np.zeros(affine_shape, np.uint64)
    x, y = _KERNELS[group][3](job.out, job.c)
    return np.array([x, y], dtype=np.uint64)


def msm_many(jobs) -> list[np.ndarray]:
    """``[msm_g1 or msm_g2 of (bases, scalars) for (group, bases, scalars) in jobs]``, their
    windows spread over both cores together (call it from the main thread, not a pool one)."""
    prepared = [_prepare(g, b, s) for g, b, s in jobs]
    _run_windows([j for j in prepared if j is not None])
    return [_finish(g, j) for (g, _, _), j in zip(jobs, prepared)]


def msm_g1(bases: np.ndarray, scalars: np.ndarray) -> np.ndarray:
    """sum_i scalars[i] * bases[i] in G1; bases (n, 2, 4) Montgomery affine, scalars (n, 4) < r."""
    return msm_many([("g1", bases, scalars)])[0]


def msm_g2(bases: np.ndarray, scalars: np.ndarray) -> np.ndarray:
    """sum_i scalars[i] * bases[i] in G2; bases (n, 2, 2, 4) Montgomery affine."""
    return msm_many([("g2", bases, scalars)])[0]

