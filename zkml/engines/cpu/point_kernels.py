"""Point checks of key files as engine kernels (compiled into the native module): canonical
coordinates, on the curve, and G2 subgroup membership by the test of El Housni, Guillevic and
Piellard (eprint 2022/348, sec. 3 and 5.1, as gnark-crypto does it): P is in G2 iff
[x0+1]P + psi([x0]P) + psi^2([x0]P) = psi^3([2x0]P), x0 the BN parameter and psi the
untwist-Frobenius-twist endomorphism: a 63-bit scalar multiplication instead of one by r.
zkml.formats.point_checks calls them and words the errors.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from zkml.crypto.bn254 import B2, Q, to_mont
from zkml.engines.cpu.curve import (  # the engine's compiled field and curve code
    FQ2_ONE,
    fq2_add,
    fq2_eq,
    fq2_mul,
    fq2_sqr,
    fq_add,
    fq_eq,
    fq_mul,
    fq_neg,
    fq_sqr,
    g1_load_affine,
    g2_add,
    g2_add_mixed,
    g2_dbl,
    g2_is_inf,
    g2_load_affine,
    g2_neg,
)

_JIT = dict(cache=True, nogil=True)

OK, NOT_CANONICAL, OFF_CURVE, IDENTITY = 0, 1, 2, 3  # as zkml.formats.point_checks names them

BN_X0 = 4965661367192848881  # the BN254 parameter u: q and r are polynomials in it


def _mont(x: int) -> tuple:
    m = to_mont(x, Q)
    return tuple(np.uint64((m >> (64 * i)) & (2**64 - 1)) for i in range(4))


def _mont2(c: tuple) -> tuple:
    return (_mont(c[0]), _mont(c[1]))


def _psi_constants():
    """xi^((q-1)/3) and xi^((q-1)/2), xi = 9 + u: psi(x, y) = (conj(x) gx, conj(y) gy)."""
    from py_ecc import optimized_bn128 as bn

    xi = bn.FQ2([9, 1])
    return tuple(tuple(int(c) for c in (xi ** ((Q - 1) // k)).coeffs) for k in (3, 2))


_GX, _GY = _psi_constants()
PSI_X, PSI_Y = _mont2(_GX), _mont2(_GY)
G1_B = _mont(3)
G2_B = _mont2(B2)
Q_LIMBS = tuple(np.uint64((Q >> (64 * i)) & (2**64 - 1)) for i in range(4))
_X0_TOP = BN_X0.bit_length() - 1


@njit(**_JIT)
def _below_q(a):
    for k in range(3, -1, -1):
        if a[k] != Q_LIMBS[k]:
            return a[k] < Q_LIMBS[k]
    return False


@njit(**_JIT)
def g1_status(pts, out):
    for i in range(pts.shape[0]):
        x, y, inf = g1_load_affine(pts, i)
        if not (_below_q(x) and _below_q(y)):
            out[i] = NOT_CANONICAL
        elif inf:
            out[i] = IDENTITY
        elif fq_eq(fq_sqr(y), fq_add(fq_mul(fq_sqr(x), x), G1_B)):
            out[i] = OK
        else:
            out[i] = OFF_CURVE


@njit(**_JIT)
def g2_status(pts, out):
    for i in range(pts.shape[0]):
        x, y, inf = g2_load_affine(pts, i)
        if not (_below_q(x[0]) and _below_q(x[1]) and _below_q(y[0]) and _below_q(y[1])):
            out[i] = NOT_CANONICAL
        elif inf:
            out[i] = IDENTITY
        elif fq2_eq(fq2_sqr(y), fq2_add(fq2_mul(fq2_sqr(x), x), G2_B)):
            out[i] = OK
        else:
            out[i] = OFF_CURVE


@njit(**_JIT)
def _conj(a):
    return (a[0], fq_neg(a[1]))


@njit(**_JIT)
def _psi(p):
    """psi on Jacobian coordinates: Frobenius is a field automorphism, so it maps (X, Y, Z)
    coordinate-wise and the constants scale X and Y as they scale affine x and y."""
    return (fq2_mul(_conj(p[0]), PSI_X), fq2_mul(_conj(p[1]), PSI_Y), _conj(p[2]))


@njit(**_JIT)
def _in_g2(x, y):
    """The subgroup test for an affine point already known to lie on the twist."""
    # [x0]P by double-and-add below the top bit, adding the affine P (mixed additions)
    a = (x, y, FQ2_ONE)
    for bit in range(_X0_TOP - 1, -1, -1):
        a = g2_dbl(a)
        if (BN_X0 >> bit) & 1:
            a = g2_add_mixed(a, x, y)
    psi_a = _psi(a)
    psi2_a = _psi(psi_a)
    lhs = g2_add(g2_add(g2_add_mixed(a, x, y), psi_a), psi2_a)
    rhs = g2_dbl(_psi(psi2_a))
    return g2_is_inf(g2_add(rhs, g2_neg(lhs)))


@njit(**_JIT)
def g2_subgroup_status_range(pts, out, lo, hi):
    """out[i] = 1 for points outside G2; the identity and off-curve points are left to
    ``g2_status``."""
    for i in range(lo, hi):
        x, y, inf = g2_load_affine(pts, i)
        out[i] = 0 if inf or _in_g2(x, y) else 1
