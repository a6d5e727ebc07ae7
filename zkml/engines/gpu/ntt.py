"""Number-theoretic transforms over Fr on the device, with the CPU engine's conventions
(``ntt(a)[i] = sum_j a[j] w^(ij)``, w = root_of_unity(n)) so the two engines agree value for
value. Radix-2 decimation in time: a bit-reversal kernel, then log n butterfly kernels of n/2
threads. Twiddles and coset powers are made on the device (thread i raises the base to i) and
kept per size, so nothing of size n crosses the bus but the data.
"""

from __future__ import annotations

import numpy as np
from numba import cuda, uint64  # noqa: F401

from zkml.crypto.bn254 import R, root_of_unity
from zkml.engines.gpu.field import (
    FR_ONE,
    fr_add,
    fr_from_mont,
    fr_load,
    fr_mul,
    fr_store,
    fr_sub,
    fr_to_mont,
    limbs32,
)
from zkml.engines.gpu.msm import _grid


@cuda.jit
def bit_reverse_kernel(src, dst, log_n):
    i = cuda.grid(1)
    if i >= src.shape[0]:
        return
    r = 0
    x = i
    for _ in range(log_n):
        r = (r << 1) | (x & 1)
        x >>= 1
    fr_store(dst, r, fr_load(src, i))


@cuda.jit
def butterfly_kernel(a, twiddles, m):
    """One layer on blocks of 2m; twiddles[j] = w^j for j < n/2."""
    k = cuda.grid(1)
    n = a.shape[0]
    if k >= n // 2:
        return
    block = k // m
    j = k - block * m
    i0 = block * 2 * m + j
    i1 = i0 + m
    t = fr_mul(fr_load(a, i1), fr_load(twiddles, j * (n // (2 * m))))
    u = fr_load(a, i0)
    fr_store(a, i0, fr_add(u, t))
    fr_store(a, i1, fr_sub(u, t))


@cuda.jit
def powers_kernel(base, out):
    """out[i] = base^i (Montgomery), by square-and-multiply over the bits of i."""
    i = cuda.grid(1)
    if i >= out.shape[0]:
        return
    acc = FR_ONE
    sq = fr_load(base, 0)
    e = i
    while e > 0:
        if e & 1:
            acc = fr_mul(acc, sq)
        sq = fr_mul(sq, sq)
        e >>= 1
    fr_store(out, i, acc)


@cuda.jit
def mul_kernel(a, b, out):
    i = cuda.grid(1)
    if i < a.shape[0]:
        fr_store(out, i, fr_mul(fr_load(a, i), fr_load(b, i)))


@cuda.jit
def scale_kernel(a, k):
    i = cuda.grid(1)
    if i < a.shape[0]:
        fr_store(a, i, fr_mul(fr_load(a, i), fr_load(k, 0)))


@cuda.jit
def mul_sub_from_mont_kernel(a, b, c, out):
    """out = a*b - c, in standard form: the H scalars."""
    i = cuda.grid(1)
    if i < a.shape[0]:
        fr_store(out, i, fr_from_mont(fr_sub(fr_mul(fr_load(a, i), fr_load(b, i)), fr_load(c, i))))


@cuda.jit
def to_mont_kernel(a, out):
    i = cuda.grid(1)
    if i < a.shape[0]:
        fr_store(out, i, fr_to_mont(fr_load(a, i)))


def mont_u32(x: int) -> np.ndarray:
    return np.array([limbs32(x % R * (1 << 256) % R)], np.uint32)


class Domain:
    """Twiddles (forward and inverse), n^-1, and the odd-coset powers for one size n."""

    def __init__(self, n: int):
        self.n, self.log_n = n, n.bit_length() - 1
        w = root_of_unity(n)
        half = max(n // 2, 1)
        self.tw = self.powers(w, half)
        self.tw_inv = self.powers(pow(w, -1, R), half)
        self.n_inv = cuda.to_device(mont_u32(pow(n, -1, R)))
        self.shift = self.powers(root_of_unity(2 * n), n)

    @staticmethod
    def powers(base: int, count: int):
        out = cuda.device_array((count, 8), np.uint32)
        powers_kernel[_grid(count)](cuda.to_device(mont_u32(base)), out)
        return out

    def _transform(self, a, twiddles):
        out = cuda.device_array_like(a)
        bit_reverse_kernel[_grid(self.n)](a, out, self.log_n)
        m = 1
        while m < self.n:
            butterfly_kernel[_grid(self.n // 2)](out, twiddles, m)
            m *= 2
        return out

    def ntt(self, a):
        return self._transform(a, self.tw)

    def intt(self, a):
        out = self._transform(a, self.tw_inv)
        scale_kernel[_grid(self.n)](out, self.n_inv)
        return out

    def to_odd_coset(self, a):
        """Evaluations on the domain -> evaluations on the odd coset of the 2n-domain."""
        coeffs = self.intt(a)
        mul_kernel[_grid(self.n)](coeffs, self.shift, coeffs)
        return self.ntt(coeffs)
