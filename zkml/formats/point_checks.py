"""Checks on the curve points a key file supplies, before anything computes with them.

Points arrive as zkey/ptau arrays: affine, Montgomery form, four little-endian uint64 limbs per
coordinate, all zeros for the identity. Every point is checked for canonical coordinates (< q)
and for lying on its curve (G1: y^2 = x^3 + 3, which suffices since G1 has cofactor 1; G2:
the twist y^2 = x^3 + 3/(9+u)); G2 points are also checked to be in the order-r subgroup,
with the test of El Housni, Guillevic and Piellard (eprint 2022/348, sec. 3 and 5.1, as
gnark-crypto does it): P is in G2 iff [x0+1]P + psi([x0]P) + psi^2([x0]P) = psi^3([2x0]P),
where x0 is the BN parameter and psi the untwist-Frobenius-twist endomorphism. That costs a
63-bit scalar multiplication instead of a 254-bit one by r.

The on-curve checks run every time (milliseconds for 2^16-point keys); the subgroup check is
done once per content of each run of points (a section, the header's points) and remembered in
this machine's cache (``check_cache``), so a phase-2 contribution, which leaves B2 alone, costs
no second check of B2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

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
from zkml.errors import FormatError
from zkml.formats import check_cache

_JITP = dict(cache=True, nogil=True, parallel=True)
_JIT = dict(cache=True, nogil=True)

OK, NOT_CANONICAL, OFF_CURVE, IDENTITY = 0, 1, 2, 3

BN_X0 = 4965661367192848881  # the BN254 parameter u: q and r are polynomials in it
SUBGROUP_CHECK = "g2-subgroup/eprint-2022-348/v1"


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
def _g1_status(pts, out):
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
def _g2_status(pts, out):
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


@njit(**_JITP)
def _g2_subgroup_status(pts, out):
    """out[i] = 1 for points outside G2; the identity and off-curve points are left to
    ``_g2_status``."""
    for i in prange(pts.shape[0]):
        x, y, inf = g2_load_affine(pts, i)
        out[i] = 0 if inf or _in_g2(x, y) else 1


# --- checking groups of points with errors that name the file, section and point -------------


@dataclass
class Points:
    """One run of points from a file: a section (or part of one) or named header points."""

    section: str  # as the format calls it, e.g. "POINTS_B2"
    array: np.ndarray  # (n, 2, 4) for G1, (n, 2, 2, 4) for G2
    names: tuple[str, ...] | None = None  # labels of the points; default "point <first + i>"
    first: int = 0  # index in the section of array[0]
    identity_ok: bool = True

    @property
    def g2(self) -> bool:
        return self.array.ndim == 4

    def label(self, i: int) -> str:
        return self.names[i] if self.names else f"point {self.first + i}"


_WHAT = {
    NOT_CANONICAL: "has a coordinate that is not below the field modulus q",
    OFF_CURVE: "is not on the curve",
    IDENTITY: "is the point at infinity, which is not allowed there",
}


def _fail(path, group: Points, i: int, what: str, advice: str):
    raise FormatError(f"{path}: section {group.section}, {group.label(i)} {what} (corrupt file); {advice}")


def g2_subgroup_failures(pts: np.ndarray) -> np.ndarray:
    """Indices of the points of an on-curve (n, 2, 2, 4) array that are outside G2."""
    out = np.zeros(len(pts), np.uint8)
    if len(pts):
        _g2_subgroup_status(np.ascontiguousarray(pts, np.uint64), out)
    return np.flatnonzero(out)


def check_points(path, groups: list[Points], advice: str) -> None:
    """Refuse the first bad point of ``groups`` with a one-line error naming file, section
    and point; G2 subgroup membership is looked up in, and recorded to, this machine's cache."""
    for g in groups:
        if not len(g.array):
            continue
        pts = np.ascontiguousarray(g.array, np.uint64)
        status = np.empty(len(pts), np.uint8)
        (_g2_status if g.g2 else _g1_status)(pts, status)
        if g.identity_ok:
            status[status == IDENTITY] = OK
        bad = np.flatnonzero(status)
        if len(bad):
            i = int(bad[0])
            _fail(path, g, i, _WHAT[int(status[i])], advice)
    for g in groups:  # one record per run of points: a contribution leaves B2's record valid
        if not (g.g2 and len(g.array)):
            continue
        pts = np.ascontiguousarray(g.array, "<u8")
        record = check_cache.digest(SUBGROUP_CHECK, [memoryview(pts).cast("B")])
        if check_cache.passed(record):
            continue
        bad = g2_subgroup_failures(pts)
        if len(bad):
            _fail(path, g, int(bad[0]), "is not in the order-r subgroup of G2", advice)
        check_cache.remember(record)
