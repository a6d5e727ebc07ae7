"""The GLV endomorphism of BN254: k * P = k1 * P + k2 * phi(P) with |k1|, |k2| < 2^128.

Both groups are on curves y^2 = x^3 + b with a = 0, so phi(x, y) = (beta * x, y), beta a cube
root of unity in Fq, is an automorphism of G1 and of G2 (on the twist) and acts on the order-r
subgroups as multiplication by lambda, a cube root of unity in Fr. The same lambda serves both
groups with different betas (the other root): tests/test_curve_msm.py checks
lambda * P == (beta * x, y) with py_ecc.

The split follows Guide to Elliptic Curve Cryptography (alg. 3.74) with the division by r
replaced by a multiplication by g_i = floor(2^256 * b_i / r) and a shift, as gnark and
arkworks do: the short lattice basis (a1, b1), (a2, b2) of {(x, y): x + y*lambda = 0 mod r}
comes from the extended Euclidean algorithm on (r, lambda), stopped at sqrt(r).
c_i then falls short of the rounded quotient by less than 1.25, which keeps |k1|, |k2| below
1.25 * max(|a1| + |a2|, |b1| + |b2|) < 2^128.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from zkml.crypto.bn254 import Q, R, to_mont
from zkml.engines.cpu.limbs import adc, mac, sbb


def _cube_root_of_unity(p: int) -> int:
    for g in range(2, 100):
        w = pow(g, (p - 1) // 3, p)
        if w != 1:
            return w
    raise AssertionError("no cube root of unity")  # pragma: no cover


def _short_basis(n: int, lam: int):
    """Two short vectors (a, b) with a + b*lam = 0 mod n (GECC alg. 3.74, step 1)."""
    r0, r1, t0, t1 = n, lam, 0, 1
    s = math.isqrt(n)
    while r1 >= s:
        q = r0 // r1
        r0, r1 = r1, r0 - q * r1
        t0, t1 = t1, t0 - q * t1
    q = r0 // r1
    r2, t2 = r0 - q * r1, t0 - q * t1
    v1 = (r1, -t1)
    v2 = min((r0, -t0), (r2, -t2), key=lambda v: v[0] ** 2 + v[1] ** 2)
    return v1, v2


LAMBDA = _cube_root_of_unity(R)
_OMEGA = _cube_root_of_unity(Q)
# Which root of Fq pairs with LAMBDA differs between the groups (checked by the tests).
BETA_G1 = _OMEGA * _OMEGA % Q
BETA_G2 = _OMEGA
(A1, B1), (A2, B2) = _short_basis(R, LAMBDA)
G1C = (B2 << 256) // R  # c1 = floor(k * G1C / 2^256) ~ round(k * b2 / r)
G2C = (-B1 << 256) // R  # c2 ~ round(-k * b1 / r)


def _check() -> None:
    assert pow(LAMBDA, 3, R) == 1 and pow(_OMEGA, 3, Q) == 1
    assert (A1 + B1 * LAMBDA) % R == 0 and (A2 + B2 * LAMBDA) % R == 0
    assert abs(A1 * B2 - A2 * B1) == R
    assert B2 > 0 and B1 < 0 and G1C < 2**128 and G2C < 2**192
    bound = 5 * max(abs(A1) + abs(A2), abs(B1) + abs(B2)) // 4
    assert bound < 2**128


_check()


def _u64s(x: int, n: int = 4):
    return tuple(np.uint64((x >> (64 * i)) & (2**64 - 1)) for i in range(n))


_M256 = 2**256
_NA1 = _u64s(-A1 % _M256)
_NA2 = _u64s(-A2 % _M256)
_NB1 = _u64s(-B1 % _M256)
_NB2 = _u64s(-B2 % _M256)
_G1C = _u64s(G1C, 3)
_G2C = _u64s(G2C, 3)
BETA_G1_MONT = _u64s(to_mont(BETA_G1, Q))
BETA_G2_MONT = _u64s(to_mont(BETA_G2, Q))

_JIT = dict(cache=True, nogil=True)
_U0 = np.uint64(0)
_R = _u64s(R)


@njit(**_JIT)
def _reduce_r(k):
    """k mod r for any 256-bit k (< 6r): callers may pass unreduced scalars."""
    for _ in range(6):
        d0, b = sbb(k[0], _R[0], _U0)
        d1, b = sbb(k[1], _R[1], b)
        d2, b = sbb(k[2], _R[2], b)
        d3, b = sbb(k[3], _R[3], b)
        if b:
            return k
        k = (d0, d1, d2, d3)
    return k


@njit(**_JIT)
def _mul_high(k, g):
    """Limbs 4 and 5 of k * g (k four limbs, g three); the product is below 2^384."""
    k0, k1, k2, k3 = k
    g0, g1, g2 = g
    t0, c = mac(_U0, k0, g0, _U0)
    t1, c = mac(_U0, k0, g1, c)
    t2, t3 = mac(_U0, k0, g2, c)
    t1, c = mac(t1, k1, g0, _U0)
    t2, c = mac(t2, k1, g1, c)
    t3, t4 = mac(t3, k1, g2, c)
    t2, c = mac(t2, k2, g0, _U0)
    t3, c = mac(t3, k2, g1, c)
    t4, t5 = mac(t4, k2, g2, c)
    t3, c = mac(t3, k3, g0, _U0)
    t4, c = mac(t4, k3, g1, c)
    t5, _ = mac(t5, k3, g2, c)
    return t4, t5


@njit(**_JIT)
def _mul_add_mod(acc, c0, c1, v):
    """acc + (c0 + c1 * 2^64) * v mod 2^256, all little-endian limb tuples."""
    r0, r1, r2, r3 = acc
    # c0 * v
    r0, k = mac(r0, c0, v[0], _U0)
    r1, k = mac(r1, c0, v[1], k)
    r2, k = mac(r2, c0, v[2], k)
    r3, _ = mac(r3, c0, v[3], k)
    # c1 * v * 2^64
    r1, k = mac(r1, c1, v[0], _U0)
    r2, k = mac(r2, c1, v[1], k)
    r3, _ = mac(r3, c1, v[2], k)
    return r0, r1, r2, r3


@njit(**_JIT)
def _signed_128(x):
    """(|x|, x < 0) of a 256-bit two's-complement value known to be below 2^128 in magnitude."""
    neg = (x[3] >> np.uint64(63)) != _U0
    if not neg:
        return x[0], x[1], False
    lo, k = adc(~x[0], np.uint64(1), _U0)
    hi, _ = adc(~x[1], _U0, k)
    return lo, hi, True


@njit(**_JIT)
def split_scalar(scalars, i):
    """GLV halves of scalars[i] mod r: (|k1| lo, hi, k1 < 0, |k2| lo, hi, k2 < 0)."""
    k = _reduce_r((scalars[i, 0], scalars[i, 1], scalars[i, 2], scalars[i, 3]))
    c1lo, c1hi = _mul_high(k, _G1C)
    c2lo, c2hi = _mul_high(k, _G2C)
    k1 = _mul_add_mod(_mul_add_mod(k, c1lo, c1hi, _NA1), c2lo, c2hi, _NA2)
    k2 = _mul_add_mod(_mul_add_mod((_U0, _U0, _U0, _U0), c1lo, c1hi, _NB1), c2lo, c2hi, _NB2)
    a0, a1, n1 = _signed_128(k1)
    b0, b1, n2 = _signed_128(k2)
    return a0, a1, n1, b0, b1, n2


def split_reference(k: int) -> tuple[int, int]:
    """(k1, k2) with k = k1 + lambda * k2 mod r, as split_scalar computes them (Python ints)."""
    k %= R
    c1 = (k * G1C) >> 256
    c2 = (k * G2C) >> 256
    return k - c1 * A1 - c2 * A2, -c1 * B1 - c2 * B2
