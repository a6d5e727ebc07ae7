"""The BN254 optimal ate pairing in the CPU engine: Miller loop, final exponentiation, and the
multi-pairing check prod_i e(P_i, Q_i) == 1 with one shared final exponentiation.

e(P, Q) = f_{6x+2,Q}(P) * l_{T,psi(Q)}(P) * l_{T+psi(Q),-psi^2(Q)}(P), raised to (p^12 - 1)/r,
x = 4965661367192848881 (Vercauteren's optimal ate; py_ecc computes the same value). The loop
runs over the NAF of 6x + 2 with T in homogeneous projective coordinates on the twist
E': y^2 = x^3 + 3/xi; doubling and addition steps return the line, already scaled by an Fq2
factor the final exponentiation removes, in the sparse form c0 + c3 w + c4 w^3 (formulas of
Costello-Lange-Naehrig as arkworks writes them for a D-type twist). The final exponentiation is
the easy part (p^6 - 1)(p^2 + 1) and the hard part (p^4 - p^2 + 1)/r by the addition chain of
Scott et al. (2009), with Granger-Scott squarings inside the three exponentiations by x.

Points come as the engine stores them: affine, Montgomery form, all-zero = the identity. The
compiled kernels do not check that points are on the curves or in G1/G2: ``pairing_check`` (on
int points) does, and ``g2_in_subgroup`` is the fast membership test the verifiers use. Only the
CPU engine has a pairing: verification never runs on the GPU.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from zkml.crypto.bn254 import Q, R, g1_array, g1_on_curve, g2_array, g2_on_twist  # noqa: F401 (re-exported)
from zkml.engines.cpu.curve import *  # noqa: F401,F403 (g1_*, g2_*)
from zkml.engines.cpu.field import _JIT  # noqa: F401
from zkml.engines.cpu.field import FQ2_ONE, FQ_ONE  # noqa: F401
from zkml.engines.cpu.tower import *  # noqa: F401,F403
from zkml.engines.cpu.tower import FQ12_ONE, GAMMA1, GAMMA2, TWIST_B, TWO_INV  # noqa: F401

BN_X = 4965661367192848881  # the BN parameter: p = 36x^4 + 36x^3 + 24x^2 + 6x + 1


def naf(n: int) -> list[int]:
    """Non-adjacent form of n > 0, least significant digit first, digits in {-1, 0, 1}."""
    out = []
    while n:
        d = (2 - n % 4) if n & 1 else 0
        out.append(d)
        n = (n - d) // 2
    return out


ATE_NAF = np.array(naf(6 * BN_X + 2), dtype=np.int8)  # 66 digits, top digit 1
X_NAF = np.array(naf(BN_X), dtype=np.int8)
# G2 membership: Q in E'(Fq2) lies in G2 iff psi(Q) = [6x^2] Q (El Housni, Guillevic, Piellard
# 2022). On G2 psi is multiplication by p = r + 6x^2, hence "only if". Conversely psi satisfies
# psi^2 - t psi + p = 0 on E' with trace t = 6x^2 + 1, so psi(Q) = [l]Q with l = 6x^2 gives
# 0 = [l^2 - t l + p] Q = [p - 6x^2] Q = [r] Q.
SIX_X2 = np.frombuffer((6 * BN_X * BN_X).to_bytes(32, "little"), dtype="<u8").copy()
assert (36 * BN_X**4 + 36 * BN_X**3 + 18 * BN_X**2 + 6 * BN_X + 1) == R


# --- G2 on the twist ---------------------------------------------------------------------------


@njit(**_JIT)
def g2_psi(x, y):
    """The untwist-Frobenius-twist endomorphism on affine twist points: (x^p gamma_1^2, y^p gamma_1^3)."""
    return (fq2_mul(fq2_conj(x), GAMMA1[2]), fq2_mul(fq2_conj(y), GAMMA1[3]))  # noqa: F405


@njit(**_JIT)
def g2_psi2(x, y):
    """psi^2: (x gamma_2^2, y gamma_2^3) (gamma_2 lies in Fq)."""
    return (fq2_mul(x, GAMMA2[2]), fq2_mul(y, GAMMA2[3]))  # noqa: F405


@njit(**_JIT)
def g2_in_subgroup(x, y):
    """True iff the affine twist point (x, y), assumed on the curve and not the identity, lies
    in the order-r subgroup: psi(Q) == [6x^2] Q, compared in Jacobian coordinates."""
    X, Y, Z = g2_mul_scalar((x, y, FQ2_ONE), (SIX_X2[0], SIX_X2[1], SIX_X2[2], SIX_X2[3]))  # noqa: F405
    if fq2_is_zero(Z):  # noqa: F405
        return False
    px, py = g2_psi(x, y)
    z2 = fq2_sqr(Z)  # noqa: F405
    return fq2_eq(X, fq2_mul(px, z2)) and fq2_eq(Y, fq2_mul(py, fq2_mul(z2, Z)))  # noqa: F405


@njit(**_JIT)
def g2_subgroup_check(points):
    """For each affine point of an (n, 2, 2, 4) array: True if it is the identity or in G2."""
    n = points.shape[0]
    out = np.empty(n, np.bool_)
    for i in range(n):
        x, y, inf = g2_load_affine(points, i)  # noqa: F405
        out[i] = inf or g2_in_subgroup(x, y)
    return out


@njit(**_JIT)
def g2_subgroup_check_into(points, out):
    """``g2_subgroup_check`` writing into a preallocated (n,) boolean array (the native export)."""
    for i in range(points.shape[0]):
        x, y, inf = g2_load_affine(points, i)  # noqa: F405
        out[i] = inf or g2_in_subgroup(x, y)


# --- Miller loop ---------------------------------------------------------------------------------


@njit(**_JIT)
def _doubling_step(t):
    """2T and the tangent line at T as (c0, c3, c4) before scaling by P's coordinates:
    line = c0 * yP + c3 * xP w + c4 w^3."""
    X, Y, Z = t
    a = fq2_mul_fq(fq2_mul(X, Y), TWO_INV)  # noqa: F405
    b = fq2_sqr(Y)  # noqa: F405
    c = fq2_sqr(Z)  # noqa: F405
    e = fq2_mul(TWIST_B, fq2_triple(c))  # noqa: F405
    f = fq2_triple(e)  # noqa: F405
    g = fq2_mul_fq(fq2_add(b, f), TWO_INV)  # noqa: F405
    h = fq2_sub(fq2_sqr(fq2_add(Y, Z)), fq2_add(b, c))  # noqa: F405
    i = fq2_sub(e, b)  # noqa: F405
    j = fq2_sqr(X)  # noqa: F405
    e2 = fq2_sqr(e)  # noqa: F405
    X3 = fq2_mul(a, fq2_sub(b, f))  # noqa: F405
    Y3 = fq2_sub(fq2_sqr(g), fq2_triple(e2))  # noqa: F405
    Z3 = fq2_mul(b, h)  # noqa: F405
    return (X3, Y3, Z3), fq2_neg(h), fq2_triple(j), i  # noqa: F405


@njit(**_JIT)
def _addition_step(t, qx, qy):
    """T + Q for affine Q and the line through them, as in ``_doubling_step``. T != +-Q holds for
    every step of the loop when Q has order r."""
    X, Y, Z = t
    theta = fq2_sub(Y, fq2_mul(qy, Z))  # noqa: F405
    lam = fq2_sub(X, fq2_mul(qx, Z))  # noqa: F405
    c = fq2_sqr(theta)  # noqa: F405
    d = fq2_sqr(lam)  # noqa: F405
    e = fq2_mul(lam, d)  # noqa: F405
    f = fq2_mul(Z, c)  # noqa: F405
    g = fq2_mul(X, d)  # noqa: F405
    h = fq2_sub(fq2_add(e, f), fq2_dbl(g))  # noqa: F405
    X3 = fq2_mul(lam, h)  # noqa: F405
    Y3 = fq2_sub(fq2_mul(theta, fq2_sub(g, h)), fq2_mul(e, Y))  # noqa: F405
    Z3 = fq2_mul(Z, e)  # noqa: F405
    j = fq2_sub(fq2_mul(theta, qx), fq2_mul(lam, qy))  # noqa: F405
    return (X3, Y3, Z3), lam, fq2_neg(theta), j  # noqa: F405


@njit(**_JIT)
def _mul_line(f, c0, c3, c4, px, py):
    return fq12_mul_by_034(f, fq2_mul_fq(c0, py), fq2_mul_fq(c3, px), c4)  # noqa: F405


@njit(**_JIT)
def multi_miller_loop(g1, g2):
    """prod_i f_i(P_i) over the pairs of an (n, 2, 4) G1 and an (n, 2, 2, 4) G2 array, pairs with
    an identity skipped (their pairing is 1); one Fq12 squaring per step serves all pairs."""
    n = g1.shape[0]
    live = np.zeros(n, np.bool_)
    T = np.zeros((n, 3, 2, 4), np.uint64)
    for i in range(n):
        _, _, inf1 = g1_load_affine(g1, i)  # noqa: F405
        qx, qy, inf2 = g2_load_affine(g2, i)  # noqa: F405
        live[i] = not (inf1 or inf2)
        g2_store_jac(T, i, (qx, qy, FQ2_ONE))  # noqa: F405
    f = FQ12_ONE
    for k in range(len(ATE_NAF) - 2, -1, -1):
        if k != len(ATE_NAF) - 2:
            f = fq12_sqr(f)  # noqa: F405
        d = ATE_NAF[k]
        for i in range(n):
            if not live[i]:
                continue
            px, py, _ = g1_load_affine(g1, i)  # noqa: F405
            t = g2_load_jac(T, i)  # noqa: F405
            t, c0, c3, c4 = _doubling_step(t)
            f = _mul_line(f, c0, c3, c4, px, py)
            if d != 0:
                qx, qy, _ = g2_load_affine(g2, i)  # noqa: F405
                if d < 0:
                    qy = fq2_neg(qy)  # noqa: F405
                t, c0, c3, c4 = _addition_step(t, qx, qy)
                f = _mul_line(f, c0, c3, c4, px, py)
            g2_store_jac(T, i, t)  # noqa: F405
    for i in range(n):
        if not live[i]:
            continue
        px, py, _ = g1_load_affine(g1, i)  # noqa: F405
        qx, qy, _ = g2_load_affine(g2, i)  # noqa: F405
        t = g2_load_jac(T, i)  # noqa: F405
        q1x, q1y = g2_psi(qx, qy)
        t, c0, c3, c4 = _addition_step(t, q1x, q1y)
        f = _mul_line(f, c0, c3, c4, px, py)
        q2x, q2y = g2_psi2(qx, qy)
        t, c0, c3, c4 = _addition_step(t, q2x, fq2_neg(q2y))  # noqa: F405
        f = _mul_line(f, c0, c3, c4, px, py)
    return f


# --- final exponentiation ------------------------------------------------------------------------


@njit(**_JIT)
def _cyclotomic_exp_x(a):
    """a^x for a in the cyclotomic subgroup (inverse = conjugate), over the NAF of x."""
    inv = fq12_conj(a)  # noqa: F405
    acc = a
    for k in range(len(X_NAF) - 2, -1, -1):
        acc = fq12_cyclotomic_sqr(acc)  # noqa: F405
        d = X_NAF[k]
        if d > 0:
            acc = fq12_mul(acc, a)  # noqa: F405
        elif d < 0:
            acc = fq12_mul(acc, inv)  # noqa: F405
    return acc


@njit(**_JIT)
def final_exponentiation(f):
    """f^((p^12 - 1)/r): easy part, then the hard part as Scott et al.'s chain
    y0 y1^2 y2^6 y3^12 y4^18 y5^30 y6^36 (the order of go-ethereum's bn256 implementation)."""
    t1 = fq12_mul(fq12_conj(f), fq12_inv(f))  # f^(p^6 - 1)  # noqa: F405
    t1 = fq12_mul(fq12_frob2(t1), t1)  # ^(p^2 + 1)  # noqa: F405
    fp = fq12_frob1(t1)  # noqa: F405
    fp2 = fq12_frob2(t1)  # noqa: F405
    fp3 = fq12_frob1(fp2)  # noqa: F405
    fu = _cyclotomic_exp_x(t1)
    fu2 = _cyclotomic_exp_x(fu)
    fu3 = _cyclotomic_exp_x(fu2)
    y3 = fq12_conj(fq12_frob1(fu))  # noqa: F405
    fu2p = fq12_frob1(fu2)  # noqa: F405
    fu3p = fq12_frob1(fu3)  # noqa: F405
    y2 = fq12_frob2(fu2)  # noqa: F405
    y0 = fq12_mul(fq12_mul(fp, fp2), fp3)  # noqa: F405
    y1 = fq12_conj(t1)  # noqa: F405
    y5 = fq12_conj(fu2)  # noqa: F405
    y4 = fq12_conj(fq12_mul(fu, fu2p))  # noqa: F405
    y6 = fq12_conj(fq12_mul(fu3, fu3p))  # noqa: F405
    t0 = fq12_mul(fq12_mul(fq12_cyclotomic_sqr(y6), y4), y5)  # noqa: F405
    t1 = fq12_mul(fq12_mul(y3, y5), t0)  # noqa: F405
    t0 = fq12_mul(t0, y2)  # noqa: F405
    t1 = fq12_cyclotomic_sqr(fq12_mul(fq12_cyclotomic_sqr(t1), t0))  # noqa: F405
    t0 = fq12_mul(t1, y1)  # noqa: F405
    t1 = fq12_mul(t1, y0)  # noqa: F405
    return fq12_mul(fq12_cyclotomic_sqr(t0), t1)  # noqa: F405


@njit(**_JIT)
def pairing_product_is_one(g1, g2):
    """prod_i e(P_i, Q_i) == 1 for (n, 2, 4) G1 and (n, 2, 2, 4) G2 arrays of valid points."""
    return fq12_is_one(final_exponentiation(multi_miller_loop(g1, g2)))  # noqa: F405


@njit(**_JIT)
def fq12_store(out, a):
    for i in range(2):
        for j in range(3):
            for k in range(2):
                for m in range(4):
                    out[i, j, k, m] = a[i][j][k][m]


@njit(**_JIT)
def pairing_product_into(g1, g2, out, final):
    """prod_i e(P_i, Q_i) (or only the Miller loops' product when ``final`` is False) into
    ``out``, a (2, 3, 2, 4) array: for tests and the Python wrappers."""
    f = multi_miller_loop(g1, g2)
    if final:
        f = final_exponentiation(f)
    fq12_store(out, f)


# --- G1 linear combinations ----------------------------------------------------------------------


@njit(**_JIT)
def g1_lincomb(points, scalars, out):
    """out (2, 4) = affine sum_i k_i P_i for affine (n, 2, 4) points and (n, 4) scalars in standard
    form, by one shared double-and-add (Straus, window 1); (0, 0) if the sum is the identity."""
    n = points.shape[0]
    acc = G1_INF  # noqa: F405
    for li in range(3, -1, -1):
        for bit in range(63, -1, -1):
            acc = g1_dbl(acc)  # noqa: F405
            for i in range(n):
                if (scalars[i, li] >> np.uint64(bit)) & np.uint64(1):
                    x, y, inf = g1_load_affine(points, i)  # noqa: F405
                    if not inf:
                        acc = g1_add_mixed(acc, x, y)  # noqa: F405
    x, y = g1_to_affine(acc)  # noqa: F405
    g1_store_affine(out, 0, x, y)  # noqa: F405


@njit(**_JIT)
def g1_mul_each(points, scalars, out):
    """out[i] = affine k_i P_i for (n, 2, 4) affine points and (n, 4) standard-form scalars."""
    for i in range(points.shape[0]):
        x, y, inf = g1_load_affine(points, i)  # noqa: F405
        if inf:
            g1_store_affine(out, i, x, y)  # noqa: F405
            continue
        k = (scalars[i, 0], scalars[i, 1], scalars[i, 2], scalars[i, 3])
        rx, ry = g1_to_affine(g1_mul_scalar((x, y, FQ_ONE), k))  # noqa: F405
        g1_store_affine(out, i, rx, ry)  # noqa: F405


# --- Python entry points on int points (crypto.bn254 conventions: None is the identity) ---------


def g2_in_g2(points) -> list[bool]:
    """For G2 points on the twist: whether each lies in the order-r subgroup (identity: True)."""
    return [bool(v) for v in g2_subgroup_check(g2_array(list(points)))]


def pairing_check(g1_points, g2_points, *, check_points: bool = True) -> bool:
    """prod_i e(P_i, Q_i) == 1, k Miller loops and one final exponentiation (Ethereum's
    ecPairing). With ``check_points`` a point off its curve, a coordinate >= q or a G2 point
    outside the order-r subgroup raises ValueError; without it the caller vouches for them."""
    g1_points, g2_points = list(g1_points), list(g2_points)
    if len(g1_points) != len(g2_points):
        raise ValueError(f"{len(g1_points)} G1 points but {len(g2_points)} G2 points")
    if check_points:
        for i, p in enumerate(g1_points):
            if not g1_on_curve(p):
                raise ValueError(f"G1 point {i} is not on the curve y^2 = x^3 + 3 (or a coordinate >= q)")
        for i, p in enumerate(g2_points):
            if not g2_on_twist(p):
                raise ValueError(f"G2 point {i} is not on the twist y^2 = x^3 + 3/(9+u) (or a coordinate >= q)")
    g2 = g2_array(g2_points)
    if check_points:
        for i, ok in enumerate(g2_subgroup_check(g2)):
            if not ok:
                raise ValueError(f"G2 point {i} is not in the order-r subgroup")
    return bool(pairing_product_is_one(g1_array(g1_points), g2))


def fq12_array_to_ints(out: np.ndarray) -> list[int]:
    """A (2, 3, 2, 4) Fq12 array as py_ecc's twelve coefficients (see ``tower.fq12_to_ints``)."""
    t = tuple(tuple(tuple(tuple(np.uint64(v) for v in out[i, j, k]) for k in range(2))
                    for j in range(3)) for i in range(2))
    return fq12_to_ints(t)  # noqa: F405


def pairing(p, q, *, final: bool = True) -> list[int]:
    """e(P, Q) for valid points (G1 ``p``, G2 ``q``, as ints) as the twelve coefficients of
    py_ecc's Fq12 (w^12 = 18 w^6 - 82); ``final=False`` stops after the Miller loop."""
    out = np.zeros((2, 3, 2, 4), np.uint64)
    pairing_product_into(g1_array([p]), g2_array([q]), out, final)
    return fq12_array_to_ints(out)
