"""Scalar-field work of a Groth16 setup with known tau: Lagrange bases at tau and the QAP
polynomials u_i(tau), v_i(tau), w_i(tau) summed over the R1CS coefficients, compiled.

Elements are (n, 4) uint64 limbs. Constants are passed in Montgomery form, so a product of a
standard-form vector entry with a constant stays in standard form (mont(a) * b / 2^256 = a b):
the sums come out in the standard form that the fixed-base multiplications take.
Kernels are serial over ``[lo, hi)`` (see ``threads.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from zkml.engines.cpu.field import (  # noqa: F401 (fr_* are generated in field.py)
    FR_ONE,
    fr_add,
    fr_inv,
    fr_is_zero,
    fr_load,
    fr_mul,
    fr_pow,
    fr_store,
    fr_sub,
)

_KERNEL = dict(cache=True, nogil=True)
_CHUNK = 1024  # elements sharing one inversion


@njit(**_KERNEL)
def lagrange_range(consts, out, lo, hi):
    """out[i] = c x_i / (tau - x_i) with x_i = g w^i, for i in [lo, hi).

    ``consts`` rows: tau, g, w (Montgomery) and c (Montgomery for a Montgomery result, standard
    form for a standard one). With c = (tau^n - 1) / n and g = 1 these are the Lagrange
    polynomials of the n-th roots of unity at tau. ``out[i]`` is zero where tau = x_i."""
    tau = fr_load(consts, 0)
    x = fr_mul(fr_load(consts, 1), fr_pow(fr_load(consts, 2), (np.uint64(lo), np.uint64(0),
                                                               np.uint64(0), np.uint64(0))))
    w = fr_load(consts, 2)
    c = fr_load(consts, 3)
    xs = np.empty((_CHUNK, 4), np.uint64)
    prefix = np.empty((_CHUNK, 4), np.uint64)
    for start in range(lo, hi, _CHUNK):
        end = min(hi, start + _CHUNK)
        acc = FR_ONE
        for i in range(start, end):
            fr_store(xs, i - start, x)
            fr_store(prefix, i - start, acc)
            d = fr_sub(tau, x)
            if not fr_is_zero(d):
                acc = fr_mul(acc, d)
            x = fr_mul(x, w)
        inv = fr_inv(acc)
        for i in range(end - 1, start - 1, -1):
            xi = fr_load(xs, i - start)
            d = fr_sub(tau, xi)
            if fr_is_zero(d):
                fr_store(out, i, (np.uint64(0), np.uint64(0), np.uint64(0), np.uint64(0)))
                continue
            di = fr_mul(inv, fr_load(prefix, i - start))
            inv = fr_mul(inv, d)
            fr_store(out, i, fr_mul(fr_mul(xi, di), c))


@njit(**_KERNEL)
def accumulate_range(rows, cols, values, basis, out, lo, hi):
    """out[cols[t]] += values[t] * basis[rows[t]] for the terms t in [lo, hi): values standard
    form, basis Montgomery, so out stays standard. One range per output array (terms of one
    column must not be split between threads)."""
    for t in range(lo, hi):
        col = cols[t]
        fr_store(out, col, fr_add(fr_load(out, col), fr_mul(fr_load(values, t), fr_load(basis, rows[t]))))


@njit(**_KERNEL)
def combine_range(u, v, w, consts, n_plain, out, lo, hi):
    """out[i] = beta u_i + alpha v_i + w_i, further times 1/delta for i >= n_plain; consts rows
    beta, alpha, 1/delta in Montgomery form, vectors standard form."""
    beta = fr_load(consts, 0)
    alpha = fr_load(consts, 1)
    delta_inv = fr_load(consts, 2)
    for i in range(lo, hi):
        k = fr_add(fr_add(fr_mul(fr_load(u, i), beta), fr_mul(fr_load(v, i), alpha)), fr_load(w, i))
        if i >= n_plain:
            k = fr_mul(k, delta_inv)
        fr_store(out, i, k)
