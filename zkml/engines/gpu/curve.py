"""G1 (over Fq) and G2 (over Fq2) in Jacobian coordinates, for both targets (register_jitable).

One template, instantiated per group with its field's prefix, as in the CPU engine. Points are
tuples (X, Y, Z) of field elements; Z = 0 is the identity. Affine inputs are (x, y) with
(0, 0) the identity, the zkey layout. Formulas for a = 0 curves (EFD): dbl-2009-l,
madd-2007-bl (Jacobian + affine) and add-2007-bl, with the doubling and identity cases
handled explicitly, since MSM buckets can meet equal or opposite points.
"""

from __future__ import annotations

from numba.extending import register_jitable  # noqa: F401 (used by the generated code)

from zkml.engines.gpu.field import *  # noqa: F401,F403 (the generated code calls the field functions)
from zkml.engines.gpu.field import FQ_ONE, FQ_ZERO, FQ2_ONE, FQ2_ZERO  # noqa: F401

_TEMPLATE = '''
G_INF = (F_ONE, F_ONE, F_ZERO)


@register_jitable
def G_is_inf(p):
    return F_is_zero(p[2])


@register_jitable
def G_dbl(p):
    X, Y, Z = p
    if F_is_zero(Z):
        return p
    A = F_sqr(X)
    B = F_sqr(Y)
    C = F_sqr(B)
    D = F_sub(F_sub(F_sqr(F_add(X, B)), A), C)
    D = F_add(D, D)
    E = F_add(F_add(A, A), A)
    Fv = F_sqr(E)
    X3 = F_sub(Fv, F_add(D, D))
    C8 = F_add(C, C)
    C8 = F_add(C8, C8)
    C8 = F_add(C8, C8)
    Y3 = F_sub(F_mul(E, F_sub(D, X3)), C8)
    YZ = F_mul(Y, Z)
    return (X3, Y3, F_add(YZ, YZ))


@register_jitable
def G_add_affine(p, x2, y2):
    """p + (x2, y2); (x2, y2) must not be the identity."""
    X1, Y1, Z1 = p
    if F_is_zero(Z1):
        return (x2, y2, F_ONE)
    Z1Z1 = F_sqr(Z1)
    U2 = F_mul(x2, Z1Z1)
    S2 = F_mul(y2, F_mul(Z1, Z1Z1))
    H = F_sub(U2, X1)
    rr = F_sub(S2, Y1)
    if F_is_zero(H):
        if F_is_zero(rr):
            return G_dbl(p)
        return G_INF
    HH = F_sqr(H)
    I = F_add(HH, HH)
    I = F_add(I, I)
    J = F_mul(H, I)
    rr = F_add(rr, rr)
    V = F_mul(X1, I)
    X3 = F_sub(F_sub(F_sqr(rr), J), F_add(V, V))
    YJ = F_mul(Y1, J)
    Y3 = F_sub(F_mul(rr, F_sub(V, X3)), F_add(YJ, YJ))
    Z3 = F_sub(F_sub(F_sqr(F_add(Z1, H)), Z1Z1), HH)
    return (X3, Y3, Z3)


@register_jitable
def G_add(p, q):
    X1, Y1, Z1 = p
    X2, Y2, Z2 = q
    if F_is_zero(Z1):
        return q
    if F_is_zero(Z2):
        return p
    Z1Z1 = F_sqr(Z1)
    Z2Z2 = F_sqr(Z2)
    U1 = F_mul(X1, Z2Z2)
    U2 = F_mul(X2, Z1Z1)
    S1 = F_mul(Y1, F_mul(Z2, Z2Z2))
    S2 = F_mul(Y2, F_mul(Z1, Z1Z1))
    H = F_sub(U2, U1)
    rr = F_sub(S2, S1)
    if F_is_zero(H):
        if F_is_zero(rr):
            return G_dbl(p)
        return G_INF
    H2 = F_add(H, H)
    I = F_sqr(H2)
    J = F_mul(H, I)
    rr = F_add(rr, rr)
    V = F_mul(U1, I)
    X3 = F_sub(F_sub(F_sqr(rr), J), F_add(V, V))
    SJ = F_mul(S1, J)
    Y3 = F_sub(F_mul(rr, F_sub(V, X3)), F_add(SJ, SJ))
    Z3 = F_mul(F_sub(F_sub(F_sqr(F_add(Z1, Z2)), Z1Z1), Z2Z2), H)
    return (X3, Y3, Z3)


@register_jitable
def G_mul_small(p, k):
    """k * p for a small non-negative k (double-and-add from the top bit)."""
    acc = G_INF
    bit = 1
    while bit * 2 <= k:
        bit *= 2
    while bit > 0:
        acc = G_dbl(acc)
        if k & bit:
            acc = G_add(acc, p)
        bit //= 2
    return acc
'''


def _instantiate(group: str, field: str) -> str:
    return (_TEMPLATE.replace("G_", f"{group}_").replace("F_ONE", f"{field.upper()}_ONE")
            .replace("F_ZERO", f"{field.upper()}_ZERO").replace("F_", f"{field}_"))


exec(compile(_instantiate("g1", "fq") + _instantiate("g2", "fq2"), __file__, "exec"))
