"""Number-theoretic transforms over Fr on (n, 4) arrays in Montgomery form.

``ntt(a)[i] = sum_j a[j] * w^(i*j)`` with ``w = root_of_unity(n)`` (ffjavascript's choice of
roots, so evaluations line up with snarkjs), ``intt`` its inverse, and the coset variants
evaluate on ``g * <w>``. Radix-2, decimation in time after a bit-reversal permutation. The
layers that stay inside blocks of ``_BLOCK`` rows run block by block, each thread on its own
blocks; the wider layers split their butterflies between threads, one layer at a time. The
kernels are fr_kernels.py's, reached through the native module.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from zkml.crypto.bn254 import R, ints_to_limbs, root_of_unity, to_mont
from zkml.engines.cpu import threads
from zkml.engines.cpu.native import kernels

_BLOCK = 1 << 10  # rows of a block: 32 KB of field elements, within a core's L1/L2
_MIN_CHUNK = 1 << 12  # butterflies or rows below which a second thread costs more than it saves


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
    kernels().fill_powers(out, _mont_limbs(1), _mont_limbs(g))
    return out


def ntt(a: np.ndarray, inverse: bool = False) -> np.ndarray:
    """Evaluations of the polynomial with coefficients a on <w> (or interpolation if inverse)."""
    n = len(a)
    log_n = n.bit_length() - 1
    if n != 1 << log_n:
        raise ValueError(f"NTT size {n} is not a power of two")
    out = np.ascontiguousarray(a, dtype=np.uint64).copy()
    if n == 1:
        return out
    k = kernels()
    k.bit_reverse(out, log_n)
    tw = _twiddles(n, inverse)
    block = min(_BLOCK, n)
    threads.run_ranges(k.ntt_blocks_range, n // block, out, tw, block, min_chunk=max(1, _MIN_CHUNK // block))
    m = block
    while m < n:
        threads.run_ranges(k.ntt_stage_range, n // 2, out, tw, m, min_chunk=_MIN_CHUNK)
        m *= 2
    if inverse:
        threads.run_ranges(k.scale_range, n, out, _mont_limbs(pow(n, -1, R)), min_chunk=_MIN_CHUNK)
    return out


def intt(a: np.ndarray) -> np.ndarray:
    return ntt(a, inverse=True)


def scale_by_powers(a: np.ndarray, g: int) -> np.ndarray:
    """a[j] * g^j for every j (multiplying coefficients by g^j moves evaluation to g*<w>)."""
    out = np.ascontiguousarray(a, dtype=np.uint64).copy()
    block = 1024
    powers = _powers_cached(g % R, block)
    n_chunks = (len(out) + block - 1) // block
    threads.run_ranges(kernels().scale_by_powers_range, n_chunks, out, powers, _mont_limbs(pow(g, block, R)),
                       min_chunk=4)
    return out


def coset_ntt(a: np.ndarray, g: int) -> np.ndarray:
    """Evaluations of the polynomial with coefficients a on the coset g*<w>."""
    return ntt(scale_by_powers(a, g))


def coset_intt(a: np.ndarray, g: int) -> np.ndarray:
    """Coefficients of the polynomial whose evaluations on g*<w> are a."""
    return scale_by_powers(intt(a), pow(g, -1, R))
