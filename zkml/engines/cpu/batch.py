"""Batch operations the setup and contribution steps need on many points at once.

- ``*_to_affine``: Jacobian -> affine for n points with one inversion per chunk
  (Montgomery's trick), chunks in parallel.
- ``*_fixed_base_mul``: k_i * G for many k_i and one base G, from a table of
  j * 2^(8w) * G (32 windows of 256 points), so each product costs 32 mixed additions.
- ``*_mul_all``: k * P_i for one scalar and many points (phase-2 contributions).
- ``*_sparse_combine``: out[col] += v * P[row] over a coordinate list (keys from Lagrange
  points of a ``.ptau``); coefficient 1 costs one addition.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange  # noqa: F401 (used by the generated code)

from zkml.engines.cpu.curve import *  # noqa: F401,F403
from zkml.engines.cpu.field import _JIT  # noqa: F401

_JITP = dict(cache=True, nogil=True, parallel=True)
_CHUNK = 1024

_TEMPLATE = '''
@njit(**_JITP)
def G_to_affine_all(jac, out):
    n = jac.shape[0]
    n_chunks = (n + CHUNK - 1) // CHUNK
    for ch in prange(n_chunks):
        lo = ch * CHUNK
        hi = min(n, lo + CHUNK)
        # prefix products of the non-zero Z's
        prefix = np.empty((hi - lo,) + FSHAPE, np.uint64)
        acc = F_ONE
        for i in range(lo, hi):
            p = G_load_jac(jac, i)
            if not F_is_zero(p[2]):
                acc = F_mul(acc, p[2])
            F_store(prefix, i - lo, acc)
        inv = F_inv(acc)
        for i in range(hi - 1, lo - 1, -1):
            p = G_load_jac(jac, i)
            if F_is_zero(p[2]):
                G_store_affine(out, i, F_ZERO, F_ZERO)
                continue
            if i > lo:
                zi = F_mul(inv, F_load(prefix, i - lo - 1))
            else:
                zi = inv
            inv = F_mul(inv, p[2])
            zi2 = F_sqr(zi)
            G_store_affine(out, i, F_mul(p[0], zi2), F_mul(p[1], F_mul(zi2, zi)))


@njit(**_JIT)
def G_fixed_base_table(x, y):
    """table[w, j] = j * 2^(8w) * (x, y), Jacobian, for 32 windows of 8 bits."""
    table = np.zeros((32, 256) + JAC_SHAPE, np.uint64)
    base = (x, y, F_ONE)
    for w in range(32):
        acc = G_INF
        for j in range(256):
            G_store_jac(table[w], j, acc)
            acc = G_add(acc, base)
        for _ in range(8):
            base = G_dbl(base)
    return table


@njit(**_JITP)
def G_fixed_base_mul_jac(table_aff, scalars, out):
    n = scalars.shape[0]
    for i in prange(n):
        acc = G_INF
        for w in range(32):
            byte = (scalars[i, w >> 3] >> np.uint64(8 * (w & 7))) & np.uint64(255)
            if byte != 0:
                x, y, _ = G_load_affine(table_aff[w], byte)
                acc = G_add_mixed(acc, x, y)
        G_store_jac(out, i, acc)


@njit(**_JITP)
def G_mul_all_jac(points, k, out):
    for i in prange(points.shape[0]):
        x, y, inf = G_load_affine(points, i)
        if inf:
            G_store_jac(out, i, G_INF)
        else:
            G_store_jac(out, i, G_mul_scalar((x, y, F_ONE), k))


@njit(**_JIT)
def G_sparse_combine_jac(points, rows, cols, values, out):
    for t in range(rows.shape[0]):
        x, y, inf = G_load_affine(points, rows[t])
        if inf:
            continue
        v = (values[t, 0], values[t, 1], values[t, 2], values[t, 3])
        col = cols[t]
        if v[0] == U1 and (v[1] | v[2] | v[3]) == U0:
            G_store_jac(out, col, G_add_mixed(G_load_jac(out, col), x, y))
        else:
            G_store_jac(out, col, G_add(G_load_jac(out, col), G_mul_scalar((x, y, F_ONE), v)))
'''

_G1 = dict(G_INF="G1_INF", G_="g1_", F_ONE="FQ_ONE", F_ZERO="FQ_ZERO", F_="fq_",
           JAC_SHAPE="(3, 4)", FSHAPE="(4,)", CHUNK=str(_CHUNK))
_G2 = dict(G_INF="G2_INF", G_="g2_", F_ONE="FQ2_ONE", F_ZERO="FQ2_ZERO", F_="fq2_",
           JAC_SHAPE="(3, 2, 4)", FSHAPE="(2, 4)", CHUNK=str(_CHUNK))


def _instantiate(names: dict) -> str:
    src = _TEMPLATE
    for k, v in names.items():
        src = src.replace(k, v)
    return src


exec(compile(_instantiate(_G1) + _instantiate(_G2), __file__, "exec"))

_SHAPES = {"g1": ((3, 4), (2, 4)), "g2": ((3, 2, 4), (2, 2, 4))}


def _fns(group: str):
    g = globals()
    return {name: g[f"{group}_{name}"] for name in
            ("to_affine_all", "fixed_base_table", "fixed_base_mul_jac", "mul_all_jac",
             "sparse_combine_jac")}


def to_affine(group: str, jac: np.ndarray) -> np.ndarray:
    jac_shape, aff_shape = _SHAPES[group]
    out = np.empty((len(jac),) + aff_shape, np.uint64)
    if len(jac):
        _fns(group)["to_affine_all"](np.ascontiguousarray(jac), out)
    return out


def fixed_base_mul(group: str, base: np.ndarray, scalars: np.ndarray) -> np.ndarray:
    """scalars[i] * base for every i, affine (n, ...) arrays; scalars standard form < r."""
    f = _fns(group)
    jac_shape, aff_shape = _SHAPES[group]
    base = np.asarray(base, np.uint64).reshape(aff_shape)
    x, y = _split_affine(group, base)
    table = f["fixed_base_table"](x, y)
    table_aff = to_affine(group, table.reshape((-1,) + jac_shape)).reshape((32, 256) + aff_shape)
    out = np.empty((len(scalars),) + jac_shape, np.uint64)
    f["fixed_base_mul_jac"](table_aff, np.ascontiguousarray(scalars, np.uint64), out)
    return to_affine(group, out)


def mul_all(group: str, points: np.ndarray, k: int) -> np.ndarray:
    """k * points[i] for every i (one scalar, many points), affine."""
    jac_shape, _ = _SHAPES[group]
    out = np.empty((len(points),) + jac_shape, np.uint64)
    kl = tuple(np.uint64((k >> (64 * i)) & (2**64 - 1)) for i in range(4))
    _fns(group)["mul_all_jac"](np.ascontiguousarray(points), kl, out)
    return to_affine(group, out)


def sparse_combine(group: str, points, rows, cols, values, n_out: int) -> np.ndarray:
    """out[cols[t]] += values[t] * points[rows[t]] for every t, affine (n_out, ...)."""
    jac_shape, _ = _SHAPES[group]
    out = np.zeros((n_out,) + jac_shape, np.uint64)
    _fns(group)["sparse_combine_jac"](
        np.ascontiguousarray(points), np.asarray(rows, np.int64), np.asarray(cols, np.int64),
        np.ascontiguousarray(values, np.uint64), out)
    return to_affine(group, out)


def _split_affine(group: str, a: np.ndarray):
    if group == "g1":
        return tuple(np.uint64(v) for v in a[0]), tuple(np.uint64(v) for v in a[1])
    return (tuple(tuple(np.uint64(v) for v in c) for c in a[0]),
            tuple(tuple(np.uint64(v) for v in c) for c in a[1]))
