"""Batch operations the setup and contribution steps need on many points at once.

- ``to_affine``: Jacobian -> affine with one inversion per chunk of points (Montgomery's trick).
- ``fixed_base_mul``: k_i * G for many k_i and one base G, from a table of j * 2^(c w) * G
  (windows of c bits, c up to 16, chosen from the number of scalars). A chunk of scalars walks
  the windows in lock-step and each window's additions are affine, sharing one inversion
  (batch-affine addition), so a G1 product costs about 16 additions of six multiplications and
  needs no normalisation at the end.
- ``mul_all``: k * P_i for one scalar and many points (phase-2 contributions).
- ``sparse_combine``: out[col] += v * P[row] over a coordinate list (keys from Lagrange
  points of a ``.ptau``); coefficient 1 costs one addition.

Kernels follow the engine's convention (``threads.py``): serial, GIL-free, over the half-open
range ``[lo, hi)`` given as their last two arguments, run on both cores by ``run_ranges``.
"""

from __future__ import annotations

import numpy as np
from numba import njit  # noqa: F401 (used by the generated code)

from zkml.engines.cpu import threads
from zkml.engines.cpu.curve import *  # noqa: F401,F403

_KERNEL = dict(cache=True, nogil=True)
_CHUNK = 1024  # points sharing one inversion
_MAX_WINDOW = 16

_TEMPLATE = '''
@njit(**_KERNEL)
def G_to_affine_range(jac, out, lo, hi):
    """out[i] = affine jac[i] for i in [lo, hi), one inversion per CHUNK points."""
    prefix = np.empty((CHUNK,) + FSHAPE, np.uint64)
    for start in range(lo, hi, CHUNK):
        end = min(hi, start + CHUNK)
        acc = F_ONE
        for i in range(start, end):
            p = G_load_jac(jac, i)
            if not F_is_zero(p[2]):
                acc = F_mul(acc, p[2])
            F_store(prefix, i - start, acc)
        inv = F_inv(acc)
        for i in range(end - 1, start - 1, -1):
            p = G_load_jac(jac, i)
            if F_is_zero(p[2]):
                G_store_affine(out, i, F_ZERO, F_ZERO)
                continue
            if i > start:
                zi = F_mul(inv, F_load(prefix, i - start - 1))
            else:
                zi = inv
            inv = F_mul(inv, p[2])
            zi2 = F_sqr(zi)
            G_store_affine(out, i, F_mul(p[0], zi2), F_mul(p[1], F_mul(zi2, zi)))


@njit(**_KERNEL)
def G_fixed_base_table_range(base, bits, table, lo, hi):
    """table[w * 2^bits + j] = j * 2^(bits w) * base, affine (zero = identity), for the windows
    w in [lo, hi). Entries [2^k, 2^(k+1)) are entries [0, 2^k) plus 2^k times the window's
    point: independent affine additions, sharing one inversion per CHUNK."""
    x, y, _ = G_load_affine(base, 0)
    size = 1 << bits
    prefix = np.empty((CHUNK,) + FSHAPE, np.uint64)
    p = (x, y, F_ONE)
    for _ in range(bits * lo):
        p = G_dbl(p)
    for w in range(lo, hi):
        t0 = w * size
        G_store_affine(table, t0, F_ZERO, F_ZERO)
        qx, qy = G_to_affine(p)
        G_store_affine(table, t0 + 1, qx, qy)
        for k in range(1, bits):
            top = 1 << k
            hx, hy, _ = G_load_affine(table, t0 + (top >> 1))
            qx, qy = G_to_affine(G_dbl((hx, hy, F_ONE)))
            G_store_affine(table, t0 + top, qx, qy)
            for cs in range(1, top, CHUNK):
                ce = min(top, cs + CHUNK)
                acc = F_ONE
                clash = False
                for j in range(cs, ce):
                    jx, _, _ = G_load_affine(table, t0 + j)
                    dx = F_sub(jx, qx)
                    clash = clash or F_is_zero(dx)
                    F_store(prefix, j - cs, acc)
                    acc = F_mul(acc, dx)
                if clash:  # j P = +-2^k P: only for a base of small order; exact, slowly
                    for j in range(cs, ce):
                        jx, jy, _ = G_load_affine(table, t0 + j)
                        sx, sy = G_to_affine(G_add_mixed((qx, qy, F_ONE), jx, jy))
                        G_store_affine(table, t0 + top + j, sx, sy)
                    continue
                inv = F_inv(acc)
                for j in range(ce - 1, cs - 1, -1):
                    jx, jy, _ = G_load_affine(table, t0 + j)
                    dx = F_sub(jx, qx)
                    lam = F_mul(F_mul(inv, F_load(prefix, j - cs)), F_sub(jy, qy))
                    inv = F_mul(inv, dx)
                    x3 = F_sub(F_sub(F_sqr(lam), jx), qx)
                    G_store_affine(table, t0 + top + j, x3, F_sub(F_mul(lam, F_sub(jx, x3)), jy))
        for _ in range(bits):
            p = G_dbl(p)


@njit(**_KERNEL)
def G_fixed_base_mul_range(table, bits, scalars, out, lo, hi):
    """out[i] = scalars[i] * base (affine, zero = identity) for i in [lo, hi), from the affine
    window table of ``fixed_base_table``; scalars are four standard-form uint64 limbs."""
    size = 1 << bits
    mask = np.uint64(size - 1)
    n_windows = (256 + bits - 1) // bits
    ax = np.empty((CHUNK,) + FSHAPE, np.uint64)
    ay = np.empty((CHUNK,) + FSHAPE, np.uint64)
    prefix = np.empty((CHUNK,) + FSHAPE, np.uint64)
    live = np.zeros(CHUNK, np.bool_)
    bx = np.empty((CHUNK,) + FSHAPE, np.uint64)  # this window's table point per lane
    by = np.empty((CHUNK,) + FSHAPE, np.uint64)
    pending = np.empty(CHUNK, np.int64)  # 1: an addition to do in this window, -1: none
    for start in range(lo, hi, CHUNK):
        m = min(CHUNK, hi - start)
        live[:] = False
        for w in range(n_windows):
            bit = w * bits
            limb = bit >> 6
            shift = np.uint64(bit & 63)
            spill = (bit & 63) + bits > 64 and limb < 3
            # digits and their table points first: independent reads that the memory system
            # overlaps, copied next to the accumulators for the additions below
            for j in range(m):
                d = scalars[start + j, limb] >> shift
                if spill:
                    d |= scalars[start + j, limb + 1] << (np.uint64(64) - shift)
                d &= mask
                if d == 0:
                    pending[j] = -1
                    continue
                tx, ty, _ = G_load_affine(table, w * size + np.int64(d))
                F_store(bx, j, tx)
                F_store(by, j, ty)
                pending[j] = 1
            acc = F_ONE
            any_pending = False
            for j in range(m):
                if pending[j] < 0:
                    continue
                pending[j] = -1
                tx = F_load(bx, j)
                ty = F_load(by, j)
                if not live[j]:
                    F_store(ax, j, tx)
                    F_store(ay, j, ty)
                    live[j] = True
                    continue
                dx = F_sub(tx, F_load(ax, j))
                if F_is_zero(dx):
                    # the same point or its negative: not met for scalars below r, kept exact
                    p = G_add_mixed((F_load(ax, j), F_load(ay, j), F_ONE), tx, ty)
                    if G_is_inf(p):
                        live[j] = False
                    else:
                        qx, qy = G_to_affine(p)
                        F_store(ax, j, qx)
                        F_store(ay, j, qy)
                    continue
                F_store(prefix, j, acc)
                acc = F_mul(acc, dx)
                pending[j] = 1
                any_pending = True
            if not any_pending:
                continue
            inv = F_inv(acc)
            for j in range(m - 1, -1, -1):
                if pending[j] < 0:
                    continue
                tx = F_load(bx, j)
                ty = F_load(by, j)
                x1 = F_load(ax, j)
                y1 = F_load(ay, j)
                dx = F_sub(tx, x1)
                lam = F_mul(F_mul(inv, F_load(prefix, j)), F_sub(ty, y1))
                inv = F_mul(inv, dx)
                x3 = F_sub(F_sub(F_sqr(lam), x1), tx)
                F_store(ax, j, x3)
                F_store(ay, j, F_sub(F_mul(lam, F_sub(x1, x3)), y1))
        for j in range(m):
            if live[j]:
                G_store_affine(out, start + j, F_load(ax, j), F_load(ay, j))
            else:
                G_store_affine(out, start + j, F_ZERO, F_ZERO)


@njit(**_KERNEL)
def G_mul_all_range(points, k, out, lo, hi):
    """out[i] = k * points[i] (Jacobian) for i in [lo, hi); k is four uint64 limbs."""
    kl = (k[0], k[1], k[2], k[3])
    for i in range(lo, hi):
        x, y, inf = G_load_affine(points, i)
        if inf:
            G_store_jac(out, i, G_INF)
        else:
            G_store_jac(out, i, G_mul_scalar((x, y, F_ONE), kl))


@njit(**_KERNEL)
def G_sparse_combine_range(points, rows, cols, mags, negs, out, lo, hi):
    """out[cols[t]] += (-1)^negs[t] mags[t] * points[rows[t]] (Jacobian) for t in [lo, hi).
    R1CS coefficients are small or small negatives (r - small), so the magnitudes are short:
    double-and-add from their top bit, not from bit 255."""
    for t in range(lo, hi):
        x, y, inf = G_load_affine(points, rows[t])
        if inf:
            continue
        if negs[t]:
            y = F_neg(y)
        col = cols[t]
        top = 3
        while top > 0 and mags[t, top] == U0:
            top -= 1
        w = mags[t, top]
        if top == 0 and w == U1:
            G_store_jac(out, col, G_add_mixed(G_load_jac(out, col), x, y))
            continue
        nbits = 0
        while nbits < 64 and (w >> np.uint64(nbits)) != U0:
            nbits += 1
        acc = G_INF
        for li in range(top, -1, -1):
            w = mags[t, li]
            for bit in range(nbits - 1 if li == top else 63, -1, -1):
                acc = G_dbl(acc)
                if (w >> np.uint64(bit)) & U1:
                    acc = G_add_mixed(acc, x, y)
        G_store_jac(out, col, G_add(G_load_jac(out, col), acc))
'''

_G1 = dict(G_INF="G1_INF", G_="g1_", F_ONE="FQ_ONE", F_ZERO="FQ_ZERO", F_="fq_",
           FSHAPE="(4,)", CHUNK=str(_CHUNK))
_G2 = dict(G_INF="G2_INF", G_="g2_", F_ONE="FQ2_ONE", F_ZERO="FQ2_ZERO", F_="fq2_",
           FSHAPE="(2, 4)", CHUNK=str(_CHUNK))


def _instantiate(names: dict) -> str:
    src = _TEMPLATE
    for k, v in names.items():
        src = src.replace(k, v)
    return src


exec(compile(_instantiate(_G1) + _instantiate(_G2), __file__, "exec"))

_SHAPES = {"g1": ((3, 4), (2, 4)), "g2": ((3, 2, 4), (2, 2, 4))}


def _kernel(group: str, name: str):
    return globals()[f"{group}_{name}_range"]


def to_affine(group: str, jac: np.ndarray) -> np.ndarray:
    """Affine (n, ...) points of Jacobian ones, all-zero for the identity."""
    _, aff_shape = _SHAPES[group]
    jac = np.ascontiguousarray(jac, np.uint64)
    out = np.empty((len(jac),) + aff_shape, np.uint64)
    threads.run_ranges(_kernel(group, "to_affine"), len(jac), jac, out, min_chunk=_CHUNK)
    return out


def window_bits(n: int) -> int:
    """Window width for n scalars: a table of about n / 8 points per window, at most 2^16."""
    return max(2, min(_MAX_WINDOW, n.bit_length() - 3))


def fixed_base_table(group: str, base: np.ndarray, bits: int) -> np.ndarray:
    """Affine table[w * 2^bits + j] = j * 2^(bits w) * base for the ceil(256 / bits) windows."""
    _, aff_shape = _SHAPES[group]
    n_windows = -(-256 // bits)
    base = np.ascontiguousarray(np.asarray(base, np.uint64).reshape((1,) + aff_shape))
    table = np.zeros((n_windows << bits,) + aff_shape, np.uint64)
    if base.any():
        threads.run_ranges(_kernel(group, "fixed_base_table"), n_windows, base, bits, table)
    return table


def fixed_base_mul(group: str, base: np.ndarray, scalars: np.ndarray, bits: int | None = None) -> np.ndarray:
    """scalars[i] * base for every i, affine (n, ...) arrays; scalars (n, 4) uint64 limbs,
    standard form (any value below 2^256 gives the exact product). ``bits`` overrides the
    window width (tests)."""
    _, aff_shape = _SHAPES[group]
    scalars = np.ascontiguousarray(scalars, np.uint64).reshape(-1, 4)
    n = len(scalars)
    out = np.empty((n,) + aff_shape, np.uint64)
    if not n:
        return out
    bits = bits or window_bits(n)
    table = fixed_base_table(group, base, bits)
    threads.run_ranges(_kernel(group, "fixed_base_mul"), n, table, bits, scalars, out,
                       min_chunk=_CHUNK)
    return out


def mul_all(group: str, points: np.ndarray, k: int) -> np.ndarray:
    """k * points[i] for every i (one scalar, many points), affine."""
    jac_shape, _ = _SHAPES[group]
    points = np.ascontiguousarray(points, np.uint64)
    out = np.empty((len(points),) + jac_shape, np.uint64)
    kl = np.array([(k >> (64 * i)) & (2**64 - 1) for i in range(4)], np.uint64)
    threads.run_ranges(_kernel(group, "mul_all"), len(points), points, kl, out, min_chunk=64)
    return to_affine(group, out)


def _signed(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(magnitudes, negative) of field elements in (n, 4) limbs: v > (r - 1) / 2 is -(r - v)."""
    from zkml.crypto.bn254 import R, ints_to_limbs

    half = ints_to_limbs([(R - 1) // 2])[0]
    v = np.ascontiguousarray(values, np.uint64)
    neg = np.zeros(len(v), np.bool_)
    undecided = np.ones(len(v), np.bool_)
    for limb in range(3, -1, -1):  # lexicographic v > half, top limb first
        neg |= undecided & (v[:, limb] > half[limb])
        undecided &= v[:, limb] == half[limb]
    mags = v.copy()
    if neg.any():
        r = ints_to_limbs([R])[0]
        borrow = np.zeros(int(neg.sum()), np.uint64)
        sub = v[neg]
        diff = np.empty_like(sub)
        for limb in range(4):  # r - v, limb by limb with borrow
            a, b = np.full(len(sub), r[limb], np.uint64), sub[:, limb]
            d = a - b - borrow
            borrow = ((a < b) | ((a == b) & (borrow == 1))).astype(np.uint64)
            diff[:, limb] = d
        mags[neg] = diff
    return mags, neg


def sparse_combine(group: str, points, rows, cols, values, n_out: int) -> np.ndarray:
    """out[cols[t]] += values[t] * points[rows[t]] for every t, affine (n_out, ...)."""
    jac_shape, _ = _SHAPES[group]
    out = np.zeros((n_out,) + jac_shape, np.uint64)
    cols = np.ascontiguousarray(cols, np.int64)
    order = np.argsort(cols, kind="stable")  # a column's terms in one range: no two threads write it
    cols = np.ascontiguousarray(cols[order])
    rows = np.ascontiguousarray(np.asarray(rows, np.int64)[order])
    mags, negs = _signed(np.asarray(values, np.uint64)[order])
    points = np.ascontiguousarray(points, np.uint64)
    kernel = _kernel(group, "sparse_combine")
    n = len(rows)
    parts = max(1, min(8 * threads.n_threads(), n // 4096))
    cuts = [0] + [int(np.searchsorted(cols, cols[min(n - 1, i * n // parts)], "left")) for i in range(1, parts)] + [n]
    cuts = sorted(set(cuts))
    threads.run_tasks([(lambda lo, hi: lambda: kernel(points, rows, cols, mags, negs, out, lo, hi))(lo, hi)
                       for lo, hi in zip(cuts, cuts[1:]) if hi > lo])
    return to_affine(group, out)
