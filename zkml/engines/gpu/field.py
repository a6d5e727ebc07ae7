"""Montgomery arithmetic on 8x32-bit limbs for Fq and Fr, written once for two targets.

Each function is a ``numba.extending.register_jitable``: the same source compiles for the CPU
(``numba.njit``, where the tests compare it with Python integers and py_ecc) and for CUDA
kernels (NVVM, or numba-cuda's simulator without a GPU). Elements are tuples of eight uint64
values, each holding one 32-bit limb, little-endian, in Montgomery form with radix 2^256, so
the bytes are the same as the CPU engine's 4x64-bit limbs viewed as uint32.

Every intermediate fits 64 bits by construction (t + a*b + carry <= 2^64 - 1 for 32-bit
t, a, b, carry): nothing relies on wrap-around, so the simulator's numpy scalars, the CPU and the
GPU compute the same bits. CIOS multiplication is generated straight-line with the modulus
inlined, as the CPU engine does for 64-bit limbs.
"""

from __future__ import annotations

import numpy as np
from numba import uint32, uint64  # noqa: F401 (used by the generated code)
from numba.extending import register_jitable  # noqa: F401 (used by the generated code)

from zkml.crypto.bn254 import Q, R

N = 8  # limbs
MASK = np.uint64(0xFFFFFFFF)
SHIFT = np.uint64(32)
BASE = np.uint64(1 << 32)
U0 = np.uint64(0)
U1 = np.uint64(1)


def limbs32(x: int) -> list[int]:
    return [(x >> (32 * i)) & 0xFFFFFFFF for i in range(N)]


def _tuple(values) -> str:
    return "(" + ", ".join(f"np.uint64({v})" for v in values) + ")"


def _field_source(f: str, p: int) -> str:
    F = f.upper()
    q = limbs32(p)
    inv = (-pow(p, -1, 1 << 32)) % (1 << 32)
    a_ = ", ".join(f"a{i}" for i in range(N))
    b_ = ", ".join(f"b{i}" for i in range(N))
    L = [f"{F}_P = {_tuple(q)}"]
    L += [f"{F}_P{i} = np.uint64({v})" for i, v in enumerate(q)]
    L += [f"{F}_INV = np.uint64({inv})",
          f"{F}_ZERO = {_tuple([0] * N)}",
          f"{F}_ONE = {_tuple(limbs32((1 << 256) % p))}",
          f"{F}_R2 = {_tuple(limbs32((1 << 512) % p))}", ""]

    # t >= p ? t - p : t, for t < 2p held in limbs t0..t7
    def reduce_once(names: list[str], indent: str) -> list[str]:
        out = [f"{indent}br = U0"]
        for i, t in enumerate(names):
            out += [f"{indent}x = {t} + BASE - {F}_P{i} - br",
                    f"{indent}d{i} = x & MASK",
                    f"{indent}br = U1 - (x >> SHIFT)"]
        out += [f"{indent}if br == U0:",
                f"{indent}    return ({', '.join(f'd{i}' for i in range(N))})",
                f"{indent}return ({', '.join(names)})"]
        return out

    # add: a + b < 2p < 2^256 (p < 2^254), then one conditional subtraction
    L += ["@register_jitable", f"def {f}_add(a, b):", f"    {a_} = a", f"    {b_} = b", "    c = U0"]
    for i in range(N):
        L += [f"    s = a{i} + b{i} + c", f"    t{i} = s & MASK", "    c = s >> SHIFT"]
    L += reduce_once([f"t{i}" for i in range(N)], "    ") + [""]

    # sub: a - b, plus p when it borrowed
    L += ["@register_jitable", f"def {f}_sub(a, b):", f"    {a_} = a", f"    {b_} = b", "    br = U0"]
    for i in range(N):
        L += [f"    x = a{i} + BASE - b{i} - br", f"    t{i} = x & MASK", "    br = U1 - (x >> SHIFT)"]
    L += ["    if br == U0:", f"        return ({', '.join(f't{i}' for i in range(N))})", "    c = U0"]
    for i in range(N):
        L += [f"    s = t{i} + {F}_P{i} + c", f"    u{i} = s & MASK", "    c = s >> SHIFT"]
    L += [f"    return ({', '.join(f'u{i}' for i in range(N))})", ""]

    # CIOS Montgomery multiplication, t has N + 2 words
    L += ["@register_jitable", f"def {f}_mul(a, b):", f"    {a_} = a", f"    {b_} = b"]
    L += [f"    t{j} = U0" for j in range(N + 2)]
    for i in range(N):
        L += ["    c = U0"]
        for j in range(N):
            L += [f"    s = t{j} + a{j} * b{i} + c", f"    t{j} = s & MASK", "    c = s >> SHIFT"]
        L += [f"    s = t{N} + c", f"    t{N} = s & MASK", f"    t{N + 1} = s >> SHIFT"]
        L += [f"    m = (t0 * {F}_INV) & MASK", f"    s = t0 + m * {F}_P0", "    c = s >> SHIFT"]
        for j in range(1, N):
            L += [f"    s = t{j} + m * {F}_P{j} + c", f"    t{j - 1} = s & MASK", "    c = s >> SHIFT"]
        L += [f"    s = t{N} + c", f"    t{N - 1} = s & MASK", f"    t{N} = t{N + 1} + (s >> SHIFT)"]
    L += reduce_once([f"t{i}" for i in range(N)], "    ") + [""]

    L += ["@register_jitable", f"def {f}_sqr(a):", f"    return {f}_mul(a, a)", "",
          "@register_jitable", f"def {f}_neg(a):", f"    if {f}_is_zero(a):", "        return a",
          f"    return {f}_sub({F}_ZERO, a)", "",
          "@register_jitable", f"def {f}_is_zero(a):",
          "    return " + " and ".join(f"a[{i}] == U0" for i in range(N)), "",
          "@register_jitable", f"def {f}_eq(a, b):",
          "    return " + " and ".join(f"a[{i}] == b[{i}]" for i in range(N)), "",
          "@register_jitable", f"def {f}_to_mont(a):", f"    return {f}_mul(a, {F}_R2)", "",
          "@register_jitable", f"def {f}_from_mont(a):", f"    return {f}_mul(a, (U1, U0, U0, U0, U0, U0, U0, U0))", "",
          "@register_jitable", f"def {f}_double(a):", f"    return {f}_add(a, a)", "",
          # array access: rows of uint32 arrays
          "@register_jitable", f"def {f}_load(arr, i):",
          "    return (" + ", ".join(f"uint64(arr[i, {k}])" for k in range(N)) + ")", "",
          "@register_jitable", f"def {f}_store(arr, i, v):"]
    L += [f"    arr[i, {k}] = uint32(v[{k}])" for k in range(N)]
    L += [""]
    return "\n".join(L)


_FQ2 = '''
@register_jitable
def fq2_add(a, b):
    return (fq_add(a[0], b[0]), fq_add(a[1], b[1]))


@register_jitable
def fq2_sub(a, b):
    return (fq_sub(a[0], b[0]), fq_sub(a[1], b[1]))


@register_jitable
def fq2_double(a):
    return (fq_add(a[0], a[0]), fq_add(a[1], a[1]))


@register_jitable
def fq2_neg(a):
    return (fq_neg(a[0]), fq_neg(a[1]))


@register_jitable
def fq2_mul(a, b):
    """Karatsuba over u^2 = -1: three Fq multiplications."""
    v0 = fq_mul(a[0], b[0])
    v1 = fq_mul(a[1], b[1])
    s = fq_mul(fq_add(a[0], a[1]), fq_add(b[0], b[1]))
    return (fq_sub(v0, v1), fq_sub(fq_sub(s, v0), v1))


@register_jitable
def fq2_sqr(a):
    """(a0 + a1 u)^2 = (a0 + a1)(a0 - a1) + 2 a0 a1 u: two Fq multiplications."""
    m = fq_mul(a[0], a[1])
    return (fq_mul(fq_add(a[0], a[1]), fq_sub(a[0], a[1])), fq_add(m, m))


@register_jitable
def fq2_is_zero(a):
    return fq_is_zero(a[0]) and fq_is_zero(a[1])


@register_jitable
def fq2_eq(a, b):
    return fq_eq(a[0], b[0]) and fq_eq(a[1], b[1])


FQ2_ZERO = (FQ_ZERO, FQ_ZERO)
FQ2_ONE = (FQ_ONE, FQ_ZERO)
'''

exec(compile(_field_source("fq", Q) + _field_source("fr", R) + _FQ2, __file__, "exec"))
