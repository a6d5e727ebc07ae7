"""Serial Fr kernels over a range ``[lo, hi)`` of their work (zkml/engines/cpu/threads.py): the
NTT's butterflies, pointwise products, Montgomery conversions and the QAP evaluation of a
prove. They are compiled ahead of time into the native module (zkml/engines/cpu/native.py) and
called through it; nothing on a command's path imports this file when that module exists.

Arrays are C-contiguous uint64: (n, 4) field elements, Montgomery form unless a name says
otherwise. Ranges of one call write disjoint rows, so threads may run them side by side.
"""

from __future__ import annotations

from numba import njit

from zkml.engines.cpu.field import _JIT, fr_add, fr_from_mont, fr_load, fr_mul, fr_store, fr_sub, fr_to_mont


@njit(**_JIT)
def _tuple4(a):
    return (a[0], a[1], a[2], a[3])


@njit(**_JIT)
def to_mont_range(a, out, lo, hi):
    for i in range(lo, hi):
        fr_store(out, i, fr_to_mont(fr_load(a, i)))


@njit(**_JIT)
def from_mont_range(a, out, lo, hi):
    for i in range(lo, hi):
        fr_store(out, i, fr_from_mont(fr_load(a, i)))


@njit(**_JIT)
def mul_range(a, b, out, lo, hi):
    for i in range(lo, hi):
        fr_store(out, i, fr_mul(fr_load(a, i), fr_load(b, i)))


@njit(**_JIT)
def mul_sub_range(a, b, c, out, lo, hi):
    """out = a * b - c, pointwise."""
    for i in range(lo, hi):
        fr_store(out, i, fr_sub(fr_mul(fr_load(a, i), fr_load(b, i)), fr_load(c, i)))


@njit(**_JIT)
def scale_range(a, k, lo, hi):
    """a[j] *= k for one (4,) constant k."""
    kk = _tuple4(k)
    for j in range(lo, hi):
        fr_store(a, j, fr_mul(fr_load(a, j), kk))


@njit(**_JIT)
def zkey_scale_range(vals, out, to_file, lo, hi):
    """Standard form <-> the zkey's c * R^2 mod r: two Montgomery steps by R (to the file) or
    by 1/R (from it)."""
    for i in range(lo, hi):
        v = fr_load(vals, i)
        v = fr_to_mont(fr_to_mont(v)) if to_file else fr_from_mont(fr_from_mont(v))
        fr_store(out, i, v)


@njit(**_JIT)
def evaluate_ab(matrix, constraint, signal, coef_mont, w_mont, out_a, out_b):
    """out_M[c] += value * w[signal] over the zkey's coefficients (serial: rows collide)."""
    for t in range(matrix.shape[0]):
        c = constraint[t]
        term = fr_mul(fr_load(coef_mont, t), fr_load(w_mont, signal[t]))
        if matrix[t] == 0:
            fr_store(out_a, c, fr_add(fr_load(out_a, c), term))
        else:
            fr_store(out_b, c, fr_add(fr_load(out_b, c), term))


@njit(**_JIT)
def fill_powers(out, one, g):
    """out[i] = g^i from one = 1 (both (4,) arrays, Montgomery form)."""
    x = _tuple4(one)
    gg = _tuple4(g)
    for i in range(out.shape[0]):
        fr_store(out, i, x)
        x = fr_mul(x, gg)


@njit(**_JIT)
def bit_reverse(a, log_n):
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


@njit(**_JIT)
def _butterfly(a, twiddles, i0, m, t_index):
    """(a[i0], a[i0 + m]) <- (u + w t, u - w t), w = twiddles[t_index]."""
    t = fr_mul(fr_load(a, i0 + m), fr_load(twiddles, t_index))
    u = fr_load(a, i0)
    fr_store(a, i0, fr_add(u, t))
    fr_store(a, i0 + m, fr_sub(u, t))


@njit(**_JIT)
def ntt_stage_range(a, twiddles, m, lo, hi):
    """Butterflies k in [lo, hi) of the layer on blocks of size 2m (k < n/2); twiddles holds
    w^j for j < n/2."""
    n = a.shape[0]
    stride = n // (2 * m)
    for k in range(lo, hi):
        block = k // m
        j = k - block * m
        _butterfly(a, twiddles, block * 2 * m + j, m, j * stride)


@njit(**_JIT)
def ntt_blocks_range(a, twiddles, block, lo, hi):
    """Every layer with m < block on the row blocks [lo, hi) of ``block`` rows: those layers
    never cross a block, so each thread runs all of them on its own blocks (and in cache)
    without waiting for the others between layers."""
    n = a.shape[0]
    for b in range(lo, hi):
        start = b * block
        m = 1
        while m < block:
            stride = n // (2 * m)
            for base in range(start, start + block, 2 * m):
                for j in range(m):
                    _butterfly(a, twiddles, base + j, m, j * stride)
            m *= 2


@njit(**_JIT)
def scale_by_powers_range(a, powers_block, step, lo, hi):
    """a[j] *= g^j for the chunks [lo, hi) of size B = len(powers_block), with
    powers_block[t] = g^t and step = g^B."""
    n = a.shape[0]
    bsz = powers_block.shape[0]
    st = _tuple4(step)
    base = fr_load(powers_block, 0)
    for _ in range(lo):
        base = fr_mul(base, st)
    for ch in range(lo, hi):
        for t in range(bsz):
            j = ch * bsz + t
            if j >= n:
                break
            fr_store(a, j, fr_mul(fr_load(a, j), fr_mul(base, fr_load(powers_block, t))))
        base = fr_mul(base, st)

