"""The BN254 tower above Fq2 for the pairing: Fq6 = Fq2[v]/(v^3 - xi), xi = 9 + u, and
Fq12 = Fq6[w]/(w^2 - v), so w^6 = xi (py_ecc's Fq12 = Fq[w]/(w^12 - 18 w^6 + 82) has the same w).

Elements are nested tuples: Fq6 = (c0, c1, c2) of Fq2, Fq12 = (c0, c1) of Fq6, all in the
engine's Montgomery form. Formulas follow arkworks' ``Fp6_3over2``/``Fp12_2over3over2`` (Karatsuba
multiplication, CH-SQR2 squaring, Granger-Scott squaring in the cyclotomic subgroup). The
Frobenius constants are computed here at import from their definition, gamma_k^e with
gamma_k = xi^((p^k - 1)/6), in Python integers.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from zkml.crypto.bn254 import B2, Q, int_to_limbs, to_mont
from zkml.engines.cpu.field import *  # noqa: F401,F403 (fq_*, fq2_*)
from zkml.engines.cpu.field import FQ2_ONE, FQ2_ZERO, FQ_ONE, FQ_ZERO, _JIT  # noqa: F401

# --- constants, from their definitions, in Python ints ---------------------------------------

XI = (9, 1)  # the sextic non-residue 9 + u


def f2_mul(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """(a0 + a1 u)(b0 + b1 u) mod q, u^2 = -1 (Python ints)."""
    return ((a[0] * b[0] - a[1] * b[1]) % Q, (a[0] * b[1] + a[1] * b[0]) % Q)


def f2_pow(a: tuple[int, int], e: int) -> tuple[int, int]:
    acc = (1, 0)
    for bit in bin(e)[2:]:
        acc = f2_mul(acc, acc)
        if bit == "1":
            acc = f2_mul(acc, a)
    return acc


def frobenius_gammas(k: int) -> list[tuple[int, int]]:
    """gamma_k^e for e = 0..5, gamma_k = xi^((p^k - 1)/6): w^(p^k) = w gamma_k (Python ints)."""
    assert (Q**k - 1) % 6 == 0
    g = f2_pow(XI, (Q**k - 1) // 6)
    out = [(1, 0)]
    for _ in range(5):
        out.append(f2_mul(out[-1], g))
    return out


def fq_const(x: int):
    return tuple(np.uint64(v) for v in int_to_limbs(to_mont(x % Q, Q)))


def fq2_const(a: tuple[int, int]):
    return (fq_const(a[0]), fq_const(a[1]))


GAMMA_INT = {k: frobenius_gammas(k) for k in (1, 2, 3)}
GAMMA1 = tuple(fq2_const(g) for g in GAMMA_INT[1])
GAMMA2 = tuple(fq2_const(g) for g in GAMMA_INT[2])
GAMMA3 = tuple(fq2_const(g) for g in GAMMA_INT[3])
TWIST_B = fq2_const(B2)  # b' = 3 / xi of the twist y^2 = x^3 + b'
TWO_INV = fq_const(pow(2, -1, Q))

FQ6_ZERO = (FQ2_ZERO, FQ2_ZERO, FQ2_ZERO)
FQ6_ONE = (FQ2_ONE, FQ2_ZERO, FQ2_ZERO)
FQ12_ONE = (FQ6_ONE, FQ6_ZERO)


def _check_constants() -> None:
    """Cheap consistency checks of the constants (the tests check them against py_ecc)."""
    g1, g2, g3 = (GAMMA_INT[k][1] for k in (1, 2, 3))
    conj1 = (g1[0], -g1[1] % Q)
    assert g2 == f2_mul(g1, conj1) and g2[1] == 0  # gamma_2 = gamma_1^(p+1), a norm: in Fq
    assert g3 == f2_mul(g2, g1)  # gamma_3 = gamma_1^(p^2 + p + 1)
    assert f2_mul(f2_pow(g1, 6), XI) == (9, Q - 1)  # gamma_1^6 = xi^(p-1): gamma_1^6 xi = xi^p = conj(xi)
    assert f2_mul(B2, XI) == (3, 0)


_check_constants()

# --- Fq2 helpers the tower needs ---------------------------------------------------------------


@njit(**_JIT)
def fq2_conj(a):
    """a^p = a0 - a1 u (the Frobenius of Fq2)."""
    return (a[0], fq_neg(a[1]))  # noqa: F405


@njit(**_JIT)
def fq2_mul_fq(a, s):
    return (fq_mul(a[0], s), fq_mul(a[1], s))  # noqa: F405


@njit(**_JIT)
def _fq_nine(a):
    a8 = fq_dbl(fq_dbl(fq_dbl(a)))  # noqa: F405
    return fq_add(a8, a)  # noqa: F405


@njit(**_JIT)
def fq2_mul_xi(a):
    """a (9 + u) = (9 a0 - a1) + (a0 + 9 a1) u."""
    return (fq_sub(_fq_nine(a[0]), a[1]), fq_add(a[0], _fq_nine(a[1])))  # noqa: F405


@njit(**_JIT)
def fq2_triple(a):
    return fq2_add(fq2_dbl(a), a)  # noqa: F405


# --- Fq6 -----------------------------------------------------------------------------------------


@njit(**_JIT)
def fq6_add(a, b):
    return (fq2_add(a[0], b[0]), fq2_add(a[1], b[1]), fq2_add(a[2], b[2]))  # noqa: F405


@njit(**_JIT)
def fq6_sub(a, b):
    return (fq2_sub(a[0], b[0]), fq2_sub(a[1], b[1]), fq2_sub(a[2], b[2]))  # noqa: F405


@njit(**_JIT)
def fq6_neg(a):
    return (fq2_neg(a[0]), fq2_neg(a[1]), fq2_neg(a[2]))  # noqa: F405


@njit(**_JIT)
def fq6_mul_v(a):
    """a v: (a0, a1, a2) -> (xi a2, a0, a1)."""
    return (fq2_mul_xi(a[2]), a[0], a[1])


@njit(**_JIT)
def fq6_mul(a, b):
    """Karatsuba over Fq2: six Fq2 multiplications."""
    a0, a1, a2 = a
    b0, b1, b2 = b
    t0 = fq2_mul(a0, b0)  # noqa: F405
    t1 = fq2_mul(a1, b1)  # noqa: F405
    t2 = fq2_mul(a2, b2)  # noqa: F405
    x = fq2_sub(fq2_sub(fq2_mul(fq2_add(a1, a2), fq2_add(b1, b2)), t1), t2)  # noqa: F405
    c0 = fq2_add(fq2_mul_xi(x), t0)  # noqa: F405
    y = fq2_sub(fq2_sub(fq2_mul(fq2_add(a0, a1), fq2_add(b0, b1)), t0), t1)  # noqa: F405
    c1 = fq2_add(y, fq2_mul_xi(t2))  # noqa: F405
    z = fq2_sub(fq2_sub(fq2_mul(fq2_add(a0, a2), fq2_add(b0, b2)), t0), t2)  # noqa: F405
    c2 = fq2_add(z, t1)  # noqa: F405
    return (c0, c1, c2)


@njit(**_JIT)
def fq6_sqr(a):
    """CH-SQR2 (Chung-Hasan): two squarings and three multiplications in Fq2."""
    a0, a1, a2 = a
    s0 = fq2_sqr(a0)  # noqa: F405
    ab = fq2_mul(a0, a1)  # noqa: F405
    s1 = fq2_dbl(ab)  # noqa: F405
    s2 = fq2_sqr(fq2_add(fq2_sub(a0, a1), a2))  # noqa: F405
    bc = fq2_mul(a1, a2)  # noqa: F405
    s3 = fq2_dbl(bc)  # noqa: F405
    s4 = fq2_sqr(a2)  # noqa: F405
    c0 = fq2_add(fq2_mul_xi(s3), s0)  # noqa: F405
    c1 = fq2_add(fq2_mul_xi(s4), s1)  # noqa: F405
    c2 = fq2_sub(fq2_sub(fq2_add(fq2_add(s1, s2), s3), s0), s4)  # noqa: F405
    return (c0, c1, c2)


@njit(**_JIT)
def fq6_mul_fq2(a, s):
    return (fq2_mul(a[0], s), fq2_mul(a[1], s), fq2_mul(a[2], s))  # noqa: F405


@njit(**_JIT)
def fq6_mul_by_01(a, b0, b1):
    """a (b0 + b1 v): five Fq2 multiplications."""
    a0, a1, a2 = a
    t0 = fq2_mul(a0, b0)  # noqa: F405
    t1 = fq2_mul(a1, b1)  # noqa: F405
    c0 = fq2_add(fq2_mul_xi(fq2_sub(fq2_mul(b1, fq2_add(a1, a2)), t1)), t0)  # noqa: F405
    c1 = fq2_sub(fq2_sub(fq2_mul(fq2_add(b0, b1), fq2_add(a0, a1)), t0), t1)  # noqa: F405
    c2 = fq2_add(fq2_sub(fq2_mul(b0, fq2_add(a0, a2)), t0), t1)  # noqa: F405
    return (c0, c1, c2)


@njit(**_JIT)
def fq6_inv(a):
    a0, a1, a2 = a
    t0 = fq2_sub(fq2_sqr(a0), fq2_mul_xi(fq2_mul(a1, a2)))  # noqa: F405
    t1 = fq2_sub(fq2_mul_xi(fq2_sqr(a2)), fq2_mul(a0, a1))  # noqa: F405
    t2 = fq2_sub(fq2_sqr(a1), fq2_mul(a0, a2))  # noqa: F405
    d = fq2_add(fq2_mul(a0, t0), fq2_mul_xi(fq2_add(fq2_mul(a2, t1), fq2_mul(a1, t2))))  # noqa: F405
    di = fq2_inv(d)  # noqa: F405
    return (fq2_mul(t0, di), fq2_mul(t1, di), fq2_mul(t2, di))  # noqa: F405


# --- Fq12 ----------------------------------------------------------------------------------------


@njit(**_JIT)
def fq12_mul(a, b):
    """(a0 + a1 w)(b0 + b1 w), w^2 = v: three Fq6 multiplications."""
    t0 = fq6_mul(a[0], b[0])
    t1 = fq6_mul(a[1], b[1])
    c1 = fq6_sub(fq6_sub(fq6_mul(fq6_add(a[0], a[1]), fq6_add(b[0], b[1])), t0), t1)
    return (fq6_add(t0, fq6_mul_v(t1)), c1)


@njit(**_JIT)
def fq12_sqr(a):
    """Complex squaring: two Fq6 multiplications."""
    a0, a1 = a
    ab = fq6_mul(a0, a1)
    t = fq6_mul(fq6_add(a0, a1), fq6_add(a0, fq6_mul_v(a1)))
    c0 = fq6_sub(fq6_sub(t, ab), fq6_mul_v(ab))
    return (c0, fq6_add(ab, ab))


@njit(**_JIT)
def fq12_conj(a):
    """a^(p^6) = a0 - a1 w; the inverse of a unitary element."""
    return (a[0], fq6_neg(a[1]))


@njit(**_JIT)
def fq12_inv(a):
    """(a0 - a1 w) / (a0^2 - v a1^2); 0 maps to 0."""
    d = fq6_inv(fq6_sub(fq6_sqr(a[0]), fq6_mul_v(fq6_sqr(a[1]))))
    return (fq6_mul(a[0], d), fq6_neg(fq6_mul(a[1], d)))


@njit(**_JIT)
def fq12_eq(a, b):
    for i in range(2):
        for j in range(3):
            if not fq2_eq(a[i][j], b[i][j]):  # noqa: F405
                return False
    return True


@njit(**_JIT)
def fq12_is_one(a):
    return fq12_eq(a, FQ12_ONE)


@njit(**_JIT)
def _fq12_frobenius(a, odd, g):
    """a^(p^k) for the constants g = gamma_k^0..5: c0[i] is the coefficient of w^(2i), c1[i] of
    w^(2i+1); Fq2 coefficients are conjugated when k is odd."""
    c0, c1 = a
    if odd:
        c0 = (fq2_conj(c0[0]), fq2_conj(c0[1]), fq2_conj(c0[2]))
        c1 = (fq2_conj(c1[0]), fq2_conj(c1[1]), fq2_conj(c1[2]))
    return ((c0[0], fq2_mul(c0[1], g[2]), fq2_mul(c0[2], g[4])),  # noqa: F405
            (fq2_mul(c1[0], g[1]), fq2_mul(c1[1], g[3]), fq2_mul(c1[2], g[5])))  # noqa: F405


@njit(**_JIT)
def fq12_frob1(a):
    return _fq12_frobenius(a, True, GAMMA1)


@njit(**_JIT)
def fq12_frob2(a):
    return _fq12_frobenius(a, False, GAMMA2)


@njit(**_JIT)
def fq12_frob3(a):
    return _fq12_frobenius(a, True, GAMMA3)


@njit(**_JIT)
def fq12_mul_by_034(a, c0, c3, c4):
    """a (c0 + c3 w + c4 w^3), the shape of a line evaluated at a G1 point: 13 Fq2 products."""
    x = fq6_mul_fq2(a[0], c0)
    y = fq6_mul_by_01(a[1], c3, c4)
    e = fq6_mul_by_01(fq6_add(a[0], a[1]), fq2_add(c0, c3), c4)  # noqa: F405
    return (fq6_add(x, fq6_mul_v(y)), fq6_sub(e, fq6_add(x, y)))


@njit(**_JIT)
def _fq4_sqr(a, b):
    """(a + b s)^2 in Fq4 = Fq2[s]/(s^2 - xi): (a^2 + xi b^2, 2ab)."""
    t = fq2_mul(a, b)  # noqa: F405
    c0 = fq2_sub(fq2_sub(fq2_mul(fq2_add(a, b), fq2_add(fq2_mul_xi(b), a)), t), fq2_mul_xi(t))  # noqa: F405
    return c0, fq2_dbl(t)  # noqa: F405


@njit(**_JIT)
def fq12_cyclotomic_sqr(a):
    """Granger-Scott squaring, valid only in the cyclotomic subgroup (a^(p^4 - p^2 + 1) = 1, which
    holds after the easy part of the final exponentiation): six Fq2 multiplications."""
    r0, r4, r3 = a[0]
    r2, r1, r5 = a[1]
    t0, t1 = _fq4_sqr(r0, r1)
    t2, t3 = _fq4_sqr(r2, r3)
    t4, t5 = _fq4_sqr(r4, r5)
    z0 = fq2_add(fq2_dbl(fq2_sub(t0, r0)), t0)  # 3 t0 - 2 r0  # noqa: F405
    z1 = fq2_add(fq2_dbl(fq2_add(t1, r1)), t1)  # 3 t1 + 2 r1  # noqa: F405
    x5 = fq2_mul_xi(t5)
    z2 = fq2_add(fq2_dbl(fq2_add(r2, x5)), x5)  # 3 xi t5 + 2 r2  # noqa: F405
    z3 = fq2_add(fq2_dbl(fq2_sub(t4, r3)), t4)  # 3 t4 - 2 r3  # noqa: F405
    z4 = fq2_add(fq2_dbl(fq2_sub(t2, r4)), t2)  # 3 t2 - 2 r4  # noqa: F405
    z5 = fq2_add(fq2_dbl(fq2_add(r5, t3)), t3)  # 3 t3 + 2 r5  # noqa: F405
    return ((z0, z4, z3), (z2, z1, z5))


def fq12_to_ints(a) -> list[int]:
    """A tower element as py_ecc's 12 Fq coefficients in the basis 1, w, ..., w^11 (standard
    form): sum_e (x_e + y_e u) w^e with u = w^6 - 9 gives c_e = x_e - 9 y_e, c_(e+6) = y_e."""
    from zkml.crypto.bn254 import from_mont, limbs_to_int

    def dec(t):
        return from_mont(limbs_to_int(np.array(t, dtype=np.uint64)), Q)

    by_e = {2 * i + j: a[j][i] for j in range(2) for i in range(3)}
    out = [0] * 12
    for e, (x, y) in by_e.items():
        xv, yv = dec(x), dec(y)
        out[e] = (xv - 9 * yv) % Q
        out[e + 6] = yv
    return out


def fq12_from_ints(c: list[int]):
    """The inverse of ``fq12_to_ints``."""
    coeff = [fq2_const(((c[e] + 9 * c[e + 6]) % Q, c[e + 6] % Q)) for e in range(6)]
    return ((coeff[0], coeff[2], coeff[4]), (coeff[1], coeff[3], coeff[5]))
