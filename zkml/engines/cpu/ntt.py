"""Number-theoretic transforms over Fr on (n, 4) arrays in Montgomery form.

``ntt(a)[i] = sum_j a[j] * w^(i*j)`` with ``w = root_of_unity(n)`` (ffjavascript's choice of
roots, so evaluations line up with snarkjs), ``intt`` its inverse, and the coset variants
evaluate on ``g * <w>``. Radix-2, decimation in time after a bit-reversal permutation; every
stage spreads its n/2 butterflies over all cores.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit, prange

from zkml.crypto.bn254 import R, ints_to_limbs, root_of_unity, to_mont
from zkml.engines.cpu.field import _JIT, fr_add, fr_load, fr_mul, fr_store, fr_sub  # noqa: F401

_JITP = dict(cache=True, nogil=True, parallel=True)


@njit(**_JIT)
def _bit_reverse(a, log_n):
    n = a.shape[0]
    for i in range(n):
        r = 0
        x = i
        for _ in range(log_n):
            r = (r << 1) | (x & 1)
            x >>= 1
        if i < r:
            for k in range(4):
                t = a[i, k]
                a[i, k] = a[r, k]
                a[r, k] = t


@njit(**_JITP)
def _stage(a, twiddles, m):
    """One layer of butterflies on blocks of size 2m; twiddles holds w^j for j < n/2."""
    n = a.shape[0]
    stride = n // (2 * m)
    for k in prange(n // 2):
        block = k // m
        j = k - block * m
        i0 = block * 2 * m + j
        i1 = i0 + m
        t = fr_mul(fr_load(a, i1), fr_load(twiddles, j * stride))
        u = fr_load(a, i0)
        fr_store(a, i0, fr_add(u, t))
        fr_store(a, i1, fr_sub(u, t))


@njit(**_JITP)
def _scale_by_powers(a, powers_block, step):
    """a[j] *= g^j, with powers_block[t] = g^t for t < B and step = g^B (chunked in parallel)."""
    n = a.shape[0]
    bsz = powers_block.shape[0]
    n_chunks = (n + bsz - 1) // bsz
    for ch in prange(n_chunks):
        # g^(ch*B) by repeated multiplication of step: cheap next to the chunk's work
        base = fr_load(powers_block, 0)
        for _ in range(ch):
            base = fr_mul(base, step)
        for t in range(bsz):
            j = ch * bsz + t
            if j >= n:
                break
            fr_store(a, j, fr_mul(fr_load(a, j), fr_mul(base, fr_load(powers_block, t))))


@njit(**_JITP)
def _scale(a, k):
    for j in prange(a.shape[0]):
        fr_store(a, j, fr_mul(fr_load(a, j), k))


def _mont_limbs(x: int) -> np.ndarray:
    return ints_to_limbs([to_mont(x % R, R)])[0]


@lru_cache(maxsize=16)
def _twiddles(n: int, inverse: bool) -> np.ndarray:
    w = root_of_unity(n)
    if inverse:
        w = pow(w, -1, R)
    return _powers(w, max(n // 2, 1))


@lru_cache(maxsize=16)
def _powers_cached(g: int, count: int) -> np.ndarray:
    return _powers(g, count)


def _powers(g: int, count: int) -> np.ndarray:
    """[g^0, ..., g^(count-1)] in Montgomery form."""
    out = np.empty((count, 4), np.uint64)
    _fill_powers(out, _tuple(_mont_limbs(1)), _tuple(_mont_limbs(g)))
    return out


@njit(**_JIT)
def _fill_powers(out, one, g):
    x = one
    for i in range(out.shape[0]):
        fr_store(out, i, x)
        x = fr_mul(x, g)


def _tuple(limbs: np.ndarray):
    return tuple(np.uint64(v) for v in limbs)


def ntt(a: np.ndarray, inverse: bool = False) -> np.ndarray:
    """Evaluations of the polynomial with coefficients a on <w> (or interpolation if inverse)."""
    n = len(a)
    log_n = n.bit_length() - 1
    if n != 1 << log_n:
        raise ValueError(f"NTT size {n} is not a power of two")
    out = np.ascontiguousarray(a, dtype=np.uint64).copy()
    if n == 1:
        return out
    _bit_reverse(out, log_n)
    tw = _twiddles(n, inverse)
    m = 1
    while m < n:
        _stage(out, tw, m)
        m *= 2
    if inverse:
        _scale(out, _tuple(_mont_limbs(pow(n, -1, R))))
    return out


def intt(a: np.ndarray) -> np.ndarray:
    return ntt(a, inverse=True)


def scale_by_powers(a: np.ndarray, g: int) -> np.ndarray:
    """a[j] * g^j for every j (multiplying coefficients by g^j moves evaluation to g*<w>)."""
    out = np.ascontiguousarray(a, dtype=np.uint64).copy()
    block = 1024
    powers = _powers_cached(g % R, block)
    _scale_by_powers(out, powers, _tuple(_mont_limbs(pow(g, block, R))))
    return out


def coset_ntt(a: np.ndarray, g: int) -> np.ndarray:
    """Evaluations of the polynomial with coefficients a on the coset g*<w>."""
    return ntt(scale_by_powers(a, g))


def coset_intt(a: np.ndarray, g: int) -> np.ndarray:
    """Coefficients of the polynomial whose evaluations on g*<w> are a."""
    return scale_by_powers(intt(a), pow(g, -1, R))
