"""G1 (over Fq) and G2 (over Fq2) point arithmetic in Jacobian coordinates, for y^2 = x^3 + b.

Formulas are the a = 0 ones from the Explicit-Formulas Database (dbl-2009-l, madd-2007-bl,
add-2007-bl). The identity is any point with Z = 0. One template is instantiated for both
groups by naming the field functions (``fq_*`` or ``fq2_*``), so G1 and G2 cannot drift apart.
Affine points in arrays use the zkey layout: all-zero coordinates mean the identity.
"""

from __future__ import annotations

import numpy as np  # noqa: F401 (used by the generated code)
from numba import njit  # noqa: F401

from zkml.engines.cpu.field import *  # noqa: F401,F403 (the generated field functions)
from zkml.engines.cpu.field import FQ2_ONE, FQ2_ZERO, FQ_ONE, FQ_ZERO, _JIT  # noqa: F401

_TEMPLATE = '''
G_INF = (F_ONE, F_ONE, F_ZERO)

@njit(**_JIT)
def G_is_inf(p):
    return F_is_zero(p[2])

@njit(**_JIT)
def G_dbl(p):
    X1, Y1, Z1 = p
    if F_is_zero(Z1):
        return p
    A = F_sqr(X1)
    B = F_sqr(Y1)
    C = F_sqr(B)
    t = F_sub(F_sub(F_sqr(F_add(X1, B)), A), C)
    D = F_add(t, t)
    E = F_add(F_add(A, A), A)
    Fv = F_sqr(E)
    X3 = F_sub(Fv, F_add(D, D))
    C8 = F_dbl(F_dbl(F_dbl(C)))
    Y3 = F_sub(F_mul(E, F_sub(D, X3)), C8)
    Z3 = F_mul(F_add(Y1, Y1), Z1)
    return (X3, Y3, Z3)

@njit(**_JIT)
def G_add_mixed(p, x2, y2):
    """p + (x2, y2) where the second point is affine and not the identity."""
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
            return G_dbl((x2, y2, F_ONE))
        return G_INF
    HH = F_sqr(H)
    I = F_dbl(F_dbl(HH))
    J = F_mul(H, I)
    rr = F_add(rr, rr)
    V = F_mul(X1, I)
    X3 = F_sub(F_sub(F_sqr(rr), J), F_add(V, V))
    YJ = F_mul(Y1, J)
    Y3 = F_sub(F_mul(rr, F_sub(V, X3)), F_add(YJ, YJ))
    Z3 = F_sub(F_sub(F_sqr(F_add(Z1, H)), Z1Z1), HH)
    return (X3, Y3, Z3)

@njit(**_JIT)
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

@njit(**_JIT)
def G_neg(p):
    return (p[0], F_neg(p[1]), p[2])

@njit(**_JIT)
def G_to_affine(p):
    """(x, y) of p, or (0, 0) for the identity (the zkey encoding)."""
    if F_is_zero(p[2]):
        return (F_ZERO, F_ZERO)
    zi = F_inv(p[2])
    zi2 = F_sqr(zi)
    return (F_mul(p[0], zi2), F_mul(p[1], F_mul(zi2, zi)))

@njit(**_JIT)
def G_mul_scalar(p, e):
    """e * p for e given as four uint64 limbs (standard form): double-and-add."""
    acc = G_INF
    for li in range(3, -1, -1):
        w = e[li]
        for bit in range(63, -1, -1):
            acc = G_dbl(acc)
            if (w >> np.uint64(bit)) & U1:
                acc = G_add(acc, p)
    return acc
'''

# Fq2 elements are pairs of Fq elements, so G2 loads/stores read one more axis.
_G1_IO = '''
@njit(**_JIT)
def g1_load_affine(arr, i):
    """Affine point i of an (n, 2, 4) array; ``inf`` is True for the all-zero identity."""
    x = (arr[i, 0, 0], arr[i, 0, 1], arr[i, 0, 2], arr[i, 0, 3])
    y = (arr[i, 1, 0], arr[i, 1, 1], arr[i, 1, 2], arr[i, 1, 3])
    return x, y, fq_is_zero(x) and fq_is_zero(y)

@njit(**_JIT)
def g1_store_affine(arr, i, x, y):
    for k in range(4):
        arr[i, 0, k] = x[k]
        arr[i, 1, k] = y[k]

@njit(**_JIT)
def g1_load_jac(arr, i):
    return (
        (arr[i, 0, 0], arr[i, 0, 1], arr[i, 0, 2], arr[i, 0, 3]),
        (arr[i, 1, 0], arr[i, 1, 1], arr[i, 1, 2], arr[i, 1, 3]),
        (arr[i, 2, 0], arr[i, 2, 1], arr[i, 2, 2], arr[i, 2, 3]),
    )

@njit(**_JIT)
def g1_store_jac(arr, i, p):
    for c in range(3):
        for k in range(4):
            arr[i, c, k] = p[c][k]
'''

_G2_IO = '''
@njit(**_JIT)
def g2_load_affine(arr, i):
    x = ((arr[i, 0, 0, 0], arr[i, 0, 0, 1], arr[i, 0, 0, 2], arr[i, 0, 0, 3]),
         (arr[i, 0, 1, 0], arr[i, 0, 1, 1], arr[i, 0, 1, 2], arr[i, 0, 1, 3]))
    y = ((arr[i, 1, 0, 0], arr[i, 1, 0, 1], arr[i, 1, 0, 2], arr[i, 1, 0, 3]),
         (arr[i, 1, 1, 0], arr[i, 1, 1, 1], arr[i, 1, 1, 2], arr[i, 1, 1, 3]))
    return x, y, fq2_is_zero(x) and fq2_is_zero(y)

@njit(**_JIT)
def g2_store_affine(arr, i, x, y):
    for j in range(2):
        for k in range(4):
            arr[i, 0, j, k] = x[j][k]
            arr[i, 1, j, k] = y[j][k]

@njit(**_JIT)
def g2_load_jac(arr, i):
    return (
        ((arr[i, 0, 0, 0], arr[i, 0, 0, 1], arr[i, 0, 0, 2], arr[i, 0, 0, 3]),
         (arr[i, 0, 1, 0], arr[i, 0, 1, 1], arr[i, 0, 1, 2], arr[i, 0, 1, 3])),
        ((arr[i, 1, 0, 0], arr[i, 1, 0, 1], arr[i, 1, 0, 2], arr[i, 1, 0, 3]),
         (arr[i, 1, 1, 0], arr[i, 1, 1, 1], arr[i, 1, 1, 2], arr[i, 1, 1, 3])),
        ((arr[i, 2, 0, 0], arr[i, 2, 0, 1], arr[i, 2, 0, 2], arr[i, 2, 0, 3]),
         (arr[i, 2, 1, 0], arr[i, 2, 1, 1], arr[i, 2, 1, 2], arr[i, 2, 1, 3])),
    )

@njit(**_JIT)
def g2_store_jac(arr, i, p):
    for c in range(3):
        for j in range(2):
            for k in range(4):
                arr[i, c, j, k] = p[c][j][k]
'''


def _instantiate(group: str, field: str) -> str:
    src = _TEMPLATE.replace("G_", f"{group}_").replace("F_", f"{field}_")
    return src.replace(f"{field}_ONE", f"{field.upper()}_ONE").replace(
        f"{field}_ZERO", f"{field.upper()}_ZERO"
    ).replace("G_INF", f"{group.upper()}_INF").replace(f"{group}_INF", f"{group.upper()}_INF")


exec(compile(_instantiate("g1", "fq") + _G1_IO + _instantiate("g2", "fq2") + _G2_IO, __file__, "exec"))

G1_JAC_SHAPE = (3, 4)
G2_JAC_SHAPE = (3, 2, 4)
