"""Montgomery arithmetic on 4x64-bit limbs for Fq (the base field) and Fr (the scalar field).

Elements are tuples of four uint64 limbs, little-endian, in Montgomery form (x * 2^256 mod p).
Multiplication is CIOS without the final carry word, valid because both moduli are below
2^254 (the "no-carry" condition of gnark's field generator). The code for each field is
generated once from the modulus, straight-line and with the constants inlined, then compiled
by numba with ``cache=True``; Fq2 = Fq[u]/(u^2 + 1) is built on Fq.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from zkml.crypto.bn254 import Q, R
from zkml.engines.cpu.limbs import adc, mac, sbb  # noqa: F401 (used by the generated code)

_JIT = dict(cache=True, inline="never", nogil=True)

U0 = np.uint64(0)
U1 = np.uint64(1)


def _limbs(x: int) -> list[int]:
    return [(x >> (64 * i)) & (2**64 - 1) for i in range(4)]


def _field_source(name: str, p: int) -> str:
    """Python source for one prime field, to be compiled by numba."""
    P = name.upper()
    q = _limbs(p)
    inv = (-pow(p, -1, 2**64)) % 2**64
    one = _limbs((1 << 256) % p)
    r2 = _limbs((1 << 512) % p)
    lines = [f"{P}_MOD = ({', '.join(f'np.uint64({v})' for v in q)})"]
    lines += [f"{P}_Q{i} = np.uint64({v})" for i, v in enumerate(q)]
    lines += [
        f"{P}_INV = np.uint64({inv})",
        f"{P}_ZERO = (U0, U0, U0, U0)",
        f"{P}_ONE = ({', '.join(f'np.uint64({v})' for v in one)})",
        f"{P}_R2 = ({', '.join(f'np.uint64({v})' for v in r2)})",
        "",
        "@njit(**_JIT)",
        f"def {name}_reduce(t0, t1, t2, t3):",
        f"    s0, k = sbb(t0, {P}_Q0, U0)",
        f"    s1, k = sbb(t1, {P}_Q1, k)",
        f"    s2, k = sbb(t2, {P}_Q2, k)",
        f"    s3, k = sbb(t3, {P}_Q3, k)",
        "    keep = U0 - k  # all ones when t < p: keep t (branch-free: the outcome is random)",
        "    return ((t0 & keep) | (s0 & ~keep), (t1 & keep) | (s1 & ~keep),",
        "            (t2 & keep) | (s2 & ~keep), (t3 & keep) | (s3 & ~keep))",
        "",
        "@njit(**_JIT)",
        f"def {name}_reduce_mul(t0, t1, t2, t3):",
        "    # after a Montgomery product t < 2p and usually t < p: a predictable branch",
        f"    s0, k = sbb(t0, {P}_Q0, U0)",
        f"    s1, k = sbb(t1, {P}_Q1, k)",
        f"    s2, k = sbb(t2, {P}_Q2, k)",
        f"    s3, k = sbb(t3, {P}_Q3, k)",
        "    if k:",
        "        return (t0, t1, t2, t3)",
        "    return (s0, s1, s2, s3)",
        "",
        "@njit(**_JIT)",
        f"def {name}_mul(a, b):",
        "    a0, a1, a2, a3 = a",
        "    t0 = t1 = t2 = t3 = U0",
    ]
    for i in range(4):
        lines += [
            f"    bi = b[{i}]",
            "    t0, A = mac(t0, a0, bi, U0)",
            f"    m = t0 * {P}_INV",
            f"    _, C = mac(t0, m, {P}_Q0, U0)",
            "    t1, A = mac(t1, a1, bi, A)",
            f"    t0, C = mac(t1, m, {P}_Q1, C)",
            "    t2, A = mac(t2, a2, bi, A)",
            f"    t1, C = mac(t2, m, {P}_Q2, C)",
            "    t3, A = mac(t3, a3, bi, A)",
            f"    t2, C = mac(t3, m, {P}_Q3, C)",
            "    t3 = C + A",
        ]
    lines += [
        f"    return {name}_reduce_mul(t0, t1, t2, t3)",
        "",
        "@njit(**_JIT)",
        f"def {name}_add(a, b):",
        "    s0, k = adc(a[0], b[0], U0)",
        "    s1, k = adc(a[1], b[1], k)",
        "    s2, k = adc(a[2], b[2], k)",
        "    s3, k = adc(a[3], b[3], k)",
        f"    return {name}_reduce(s0, s1, s2, s3)",
        "",
        "@njit(**_JIT)",
        f"def {name}_sub(a, b):",
        "    s0, k = sbb(a[0], b[0], U0)",
        "    s1, k = sbb(a[1], b[1], k)",
        "    s2, k = sbb(a[2], b[2], k)",
        "    s3, k = sbb(a[3], b[3], k)",
        "    mask = U0 - k  # add p back only on borrow, without a branch",
        f"    s0, c = adc(s0, {P}_Q0 & mask, U0)",
        f"    s1, c = adc(s1, {P}_Q1 & mask, c)",
        f"    s2, c = adc(s2, {P}_Q2 & mask, c)",
        f"    s3, c = adc(s3, {P}_Q3 & mask, c)",
        "    return (s0, s1, s2, s3)",
        "",
        "@njit(**_JIT)",
        f"def {name}_neg(a):",
        f"    return {name}_sub({P}_ZERO, a)",
        "",
        "@njit(**_JIT)",
        f"def {name}_dbl(a):",
        f"    return {name}_add(a, a)",
        "",
        "@njit(**_JIT)",
        f"def {name}_sqr(a):",
        f"    return {name}_mul(a, a)",
        "",
        "@njit(**_JIT)",
        f"def {name}_is_zero(a):",
        "    return (a[0] | a[1] | a[2] | a[3]) == U0",
        "",
        "@njit(**_JIT)",
        f"def {name}_eq(a, b):",
        "    return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3])) == U0",
        "",
        "@njit(**_JIT)",
        f"def {name}_pow(a, e):",
        "    \"\"\"a^e for e given as four uint64 limbs (standard form), square-and-multiply.\"\"\"",
        f"    acc = {P}_ONE",
        "    for li in range(3, -1, -1):",
        "        w = e[li]",
        "        for bit in range(63, -1, -1):",
        f"            acc = {name}_mul(acc, acc)",
        "            if (w >> np.uint64(bit)) & U1:",
        f"                acc = {name}_mul(acc, a)",
        "    return acc",
        "",
        f"{P}_MOD_MINUS_2 = ({', '.join(f'np.uint64({v})' for v in _limbs(p - 2))})",
        "",
        "@njit(**_JIT)",
        f"def {name}_inv(a):",
        "    \"\"\"Inverse by Fermat's little theorem; 0 maps to 0.\"\"\"",
        f"    return {name}_pow(a, {P}_MOD_MINUS_2)",
        "",
        "@njit(**_JIT)",
        f"def {name}_to_mont(a):",
        f"    return {name}_mul(a, {P}_R2)",
        "",
        "@njit(**_JIT)",
        f"def {name}_from_mont(a):",
        f"    return {name}_mul(a, (U1, U0, U0, U0))",
        "",
        "@njit(**_JIT)",
        f"def {name}_load(arr, i):",
        "    return (arr[i, 0], arr[i, 1], arr[i, 2], arr[i, 3])",
        "",
        "@njit(**_JIT)",
        f"def {name}_store(arr, i, a):",
        "    arr[i, 0] = a[0]",
        "    arr[i, 1] = a[1]",
        "    arr[i, 2] = a[2]",
        "    arr[i, 3] = a[3]",
        "",
    ]
    return "\n".join(lines)


# Compiled with this file as the source name so numba's on-disk cache can find and stamp it.
exec(compile(_field_source("fq", Q) + "\n" + _field_source("fr", R), __file__, "exec"))


# --- Fq2 = Fq[u] / (u^2 + 1): pairs (c0, c1) of Fq elements ------------------------------


@njit(**_JIT)
def fq2_add(a, b):
    return (fq_add(a[0], b[0]), fq_add(a[1], b[1]))  # noqa: F821 (generated above)


@njit(**_JIT)
def fq2_sub(a, b):
    return (fq_sub(a[0], b[0]), fq_sub(a[1], b[1]))  # noqa: F821


@njit(**_JIT)
def fq2_neg(a):
    return (fq_neg(a[0]), fq_neg(a[1]))  # noqa: F821


@njit(**_JIT)
def fq2_dbl(a):
    return (fq_add(a[0], a[0]), fq_add(a[1], a[1]))  # noqa: F821


@njit(**_JIT)
def fq2_mul(a, b):
    """Karatsuba: three Fq multiplications."""
    v0 = fq_mul(a[0], b[0])  # noqa: F821
    v1 = fq_mul(a[1], b[1])  # noqa: F821
    s = fq_mul(fq_add(a[0], a[1]), fq_add(b[0], b[1]))  # noqa: F821
    return (fq_sub(v0, v1), fq_sub(fq_sub(s, v0), v1))  # noqa: F821


@njit(**_JIT)
def fq2_sqr(a):
    """(a0 + a1 u)^2 = (a0 + a1)(a0 - a1) + 2 a0 a1 u."""
    p = fq_mul(fq_add(a[0], a[1]), fq_sub(a[0], a[1]))  # noqa: F821
    m = fq_mul(a[0], a[1])  # noqa: F821
    return (p, fq_add(m, m))  # noqa: F821


@njit(**_JIT)
def fq2_is_zero(a):
    return fq_is_zero(a[0]) and fq_is_zero(a[1])  # noqa: F821


@njit(**_JIT)
def fq2_eq(a, b):
    return fq_eq(a[0], b[0]) and fq_eq(a[1], b[1])  # noqa: F821


@njit(**_JIT)
def fq2_inv(a):
    """1/(a0 + a1 u) = (a0 - a1 u) / (a0^2 + a1^2)."""
    t = fq_inv(fq_add(fq_mul(a[0], a[0]), fq_mul(a[1], a[1])))  # noqa: F821
    return (fq_mul(a[0], t), fq_neg(fq_mul(a[1], t)))  # noqa: F821


FQ2_ZERO = (FQ_ZERO, FQ_ZERO)  # noqa: F821
FQ2_ONE = (FQ_ONE, FQ_ZERO)  # noqa: F821


@njit(**_JIT)
def fq2_load(arr, i):
    return ((arr[i, 0, 0], arr[i, 0, 1], arr[i, 0, 2], arr[i, 0, 3]),
            (arr[i, 1, 0], arr[i, 1, 1], arr[i, 1, 2], arr[i, 1, 3]))


@njit(**_JIT)
def fq2_store(arr, i, a):
    for j in range(2):
        for k in range(4):
            arr[i, j, k] = a[j][k]
