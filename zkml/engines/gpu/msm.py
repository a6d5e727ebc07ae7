"""Multi-scalar multiplication on the GPU: Pippenger with signed digits, sorted by bucket on the
device.

Kernels, in launch order, for scalars (n, 8) uint32 standard form and affine bases in zkey
layout viewed as uint32:
  digits   one thread per scalar: its signed c-bit digits, all windows (digit in
           (-2^(c-1), 2^(c-1)], the carry moving up);
  count    one thread per (window, scalar): a bucket histogram per window (atomics);
  scan     one thread per window: bucket start offsets;
  scatter  one thread per (window, scalar): the scalar's index (its sign in the encoding) at
           its bucket's next slot: a counting sort, so each bucket's points are contiguous;
  bucket   one thread per (window, bucket): the sum of its points (mixed additions);
  reduce   one thread per (window, segment of buckets): sum over b of b * B_b by running sums,
           plus the segment's offset times its total;
  window   one thread per window: the sum of its segments.
The window sums (one point each) come back, and the host combines them (c doublings between
windows: a sequential chain of ~256 doublings, the step sppark also leaves to the host), with
the CPU engine's code: the Montgomery bytes of 8x32 and 4x64 limbs are the same. Points within a bucket are
added in whatever order the atomics give, which changes the Jacobian representation but never
the point, so proofs stay bit-identical to the CPU engine's.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from numba import cuda, int32, int64, uint32, uint64  # noqa: F401 (used by the generated code)
from numba.core.errors import NumbaPerformanceWarning

from zkml.engines.gpu.curve import *  # noqa: F401,F403 (used by the generated code)
from zkml.engines.gpu.field import N

THREADS = 128
# small launches (the blinding MSMs, the simulator's sizes) are expected: no occupancy warnings
warnings.filterwarnings("ignore", category=NumbaPerformanceWarning)


@cuda.jit
def digits_kernel(scalars, c, n_windows, digits):
    i = cuda.grid(1)
    if i >= scalars.shape[0]:
        return
    carry = int64(0)
    half = int64(1) << (c - 1)
    full = int64(1) << c
    for w in range(n_windows):
        bit = w * c
        limb = bit // 32
        off = bit - limb * 32
        v = int64(0)
        if limb < 8:
            v = int64(scalars[i, limb]) >> off
            if off + c > 32 and limb + 1 < 8:
                v |= int64(scalars[i, limb + 1]) << (32 - off)
        v = (v & (full - 1)) + carry
        if v > half:
            v -= full
            carry = int64(1)
        else:
            carry = int64(0)
        digits[w, i] = int32(v)


@cuda.jit
def count_kernel(digits, counts):
    t = cuda.grid(1)
    n = digits.shape[1]
    if t >= digits.shape[0] * n:
        return
    w = t // n
    d = digits[w, t - w * n]
    if d != 0:
        cuda.atomic.add(counts, (w, abs(d) - 1), 1)


@cuda.jit
def scan_kernel(counts, starts, cursor):
    w = cuda.grid(1)
    if w >= counts.shape[0]:
        return
    run = 0
    for b in range(counts.shape[1]):
        starts[w, b] = run
        cursor[w, b] = run
        run += counts[w, b]
    starts[w, counts.shape[1]] = run


@cuda.jit
def scatter_kernel(digits, cursor, order):
    t = cuda.grid(1)
    n = digits.shape[1]
    if t >= digits.shape[0] * n:
        return
    w = t // n
    j = t - w * n
    d = digits[w, j]
    if d != 0:
        pos = cuda.atomic.add(cursor, (w, abs(d) - 1), 1)
        order[w, pos] = j if d > 0 else -(j + 1)


_TEMPLATE = '''
@cuda.jit
def G_bucket_kernel(bases, order, starts, buckets):
    t = cuda.grid(1)
    nb = starts.shape[1] - 1
    if t >= starts.shape[0] * nb:
        return
    w = t // nb
    b = t - w * nb
    acc = G_INF
    for k in range(starts[w, b], starts[w, b + 1]):
        e = order[w, k]
        j = e if e >= 0 else -e - 1
        x, y = G_load_affine(bases, j)
        if F_is_zero(x) and F_is_zero(y):
            continue  # the identity, as the zkey writes it
        if e < 0:
            y = F_neg(y)
        acc = G_add_affine(acc, x, y)
    G_store(buckets, t, acc)


@cuda.jit
def G_reduce_kernel(buckets, nb, seg_len, partial):
    t = cuda.grid(1)
    n_seg = (nb + seg_len - 1) // seg_len
    if t >= partial.shape[0]:
        return
    w = t // n_seg
    s = t - w * n_seg
    lo = s * seg_len
    hi = min(lo + seg_len, nb)
    running = G_INF
    acc = G_INF
    for b in range(hi - 1, lo - 1, -1):
        running = G_add(running, G_load(buckets, w * nb + b))
        acc = G_add(acc, running)
    if lo > 0:
        acc = G_add(acc, G_mul_small(running, lo))
    G_store(partial, t, acc)


@cuda.jit
def G_window_kernel(partial, n_windows, out):
    w = cuda.grid(1)
    if w >= n_windows:
        return
    n_seg = partial.shape[0] // n_windows
    total = G_INF
    for s in range(n_seg):
        total = G_add(total, G_load(partial, w * n_seg + s))
    G_store(out, w, total)
'''

_G1_IO = '''
@register_jitable
def g1_load_affine(arr, i):
    return ((''' + ", ".join(f"uint64(arr[i, 0, {k}])" for k in range(N)) + '''),
            (''' + ", ".join(f"uint64(arr[i, 1, {k}])" for k in range(N)) + '''))


@register_jitable
def g1_load(arr, i):
    return (''' + ", ".join("(" + ", ".join(f"uint64(arr[i, {c}, {k}])" for k in range(N)) + ")" for c in range(3)) + ''')


@register_jitable
def g1_store(arr, i, p):
''' + "\n".join(f"    arr[i, {c}, {k}] = uint32(p[{c}][{k}])" for c in range(3) for k in range(N)) + "\n"

_G2_IO = '''
@register_jitable
def g2_load_affine(arr, i):
    return (''' + ", ".join("(" + ", ".join("(" + ", ".join(f"uint64(arr[i, {c}, {e}, {k}])" for k in range(N)) + ")" for e in range(2)) + ")" for c in range(2)) + ''')


@register_jitable
def g2_load(arr, i):
    return (''' + ", ".join("(" + ", ".join("(" + ", ".join(f"uint64(arr[i, {c}, {e}, {k}])" for k in range(N)) + ")" for e in range(2)) + ")" for c in range(3)) + ''')


@register_jitable
def g2_store(arr, i, p):
''' + "\n".join(f"    arr[i, {c}, {e}, {k}] = uint32(p[{c}][{e}][{k}])" for c in range(3) for e in range(2) for k in range(N)) + "\n"


def _instantiate(group: str, field: str) -> str:
    return _TEMPLATE.replace("G_", f"{group}_").replace("F_", f"{field}_")


exec(compile("from numba.extending import register_jitable\n" + _G1_IO + _G2_IO
             + _instantiate("g1", "fq") + _instantiate("g2", "fq2"), __file__, "exec"))

_KERNELS = {"g1": (g1_bucket_kernel, g1_reduce_kernel, g1_window_kernel, (3, N)),  # noqa: F405,F821
            "g2": (g2_bucket_kernel, g2_reduce_kernel, g2_window_kernel, (3, 2, N))}  # noqa: F405,F821


def window_bits(n: int) -> int:
    """Window size c minimising windows * (points + buckets): small for the simulator's sizes,
    13..16 for the 2^20-point MSMs of a device."""
    best, best_cost = 2, None
    for c in range(2, 17):
        cost = (255 // c + 1) * (max(n, 1) + (1 << c))
        if best_cost is None or cost < best_cost:
            best, best_cost = c, cost
    return best


def _grid(n: int) -> tuple[int, int]:
    return max(1, -(-n // THREADS)), THREADS


def msm_device(group: str, bases, scalars, n: int, seg_len: int | None = None) -> np.ndarray:
    """sum scalars[i] * bases[i]; bases/scalars are device arrays (uint32 views). Returns the
    affine result in the CPU engine's layout ((2, 4) or (2, 2, 4) uint64 Montgomery)."""
    from zkml.engines.cpu import msm_kernels as cpu_msm

    bucket_k, reduce_k, window_k, shape = _KERNELS[group]
    if n == 0:
        return np.zeros((2,) + shape[1:-1] + (4,), np.uint64)
    c = window_bits(n)
    n_windows = 255 // c + 1
    nb = 1 << (c - 1)
    digits = cuda.device_array((n_windows, n), np.int32)
    digits_kernel[_grid(n)](scalars, c, n_windows, digits)
    counts = cuda.to_device(np.zeros((n_windows, nb), np.int32))
    count_kernel[_grid(n_windows * n)](digits, counts)
    starts = cuda.device_array((n_windows, nb + 1), np.int32)
    cursor = cuda.device_array((n_windows, nb), np.int32)
    scan_kernel[_grid(n_windows)](counts, starts, cursor)
    order = cuda.device_array((n_windows, n), np.int32)
    scatter_kernel[_grid(n_windows * n)](digits, cursor, order)
    buckets = cuda.device_array((n_windows * nb,) + shape, np.uint32)
    bucket_k[_grid(n_windows * nb)](bases, order, starts, buckets)
    seg_len = seg_len or max(1, nb // 8)
    n_seg = -(-nb // seg_len)
    partial = cuda.device_array((n_windows * n_seg,) + shape, np.uint32)
    reduce_k[_grid(n_windows * n_seg)](buckets, nb, seg_len, partial)
    windows = cuda.device_array((n_windows,) + shape, np.uint32)
    window_k[_grid(n_windows)](partial, n_windows, windows)
    jac = np.ascontiguousarray(windows.copy_to_host()).view(np.uint64)  # 8x32 -> 4x64 limbs, same bytes
    combine = cpu_msm.g1_combine_windows if group == "g1" else cpu_msm.g2_combine_windows
    x, y = combine(jac, c)
    return np.array([x, y], dtype=np.uint64)


# --- host side ------------------------------------------------------------------------------


def as_u32(a: np.ndarray) -> np.ndarray:
    """uint64 limbs viewed as uint32 limbs (little-endian: the same bytes)."""
    a = np.ascontiguousarray(a, np.uint64)
    return a.view(np.uint32).reshape(a.shape[:-1] + (2 * a.shape[-1],))


def msm(group: str, bases: np.ndarray, scalars: np.ndarray) -> np.ndarray:
    """Host entry point with the CPU engine's signature and result layout (for tests and
    benchmarks); the prover keeps its arrays on the device instead."""
    n = len(bases)
    if n != len(scalars):
        raise ValueError(f"MSM needs as many scalars as bases: {len(scalars)} != {n}")
    return msm_device(group, cuda.to_device(as_u32(bases)), cuda.to_device(as_u32(scalars)), n)


assert math.log2(THREADS).is_integer()
