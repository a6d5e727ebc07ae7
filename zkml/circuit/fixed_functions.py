"""The fixed-point rules of the table functions (Exp, Erf, Gelu, Softplus, Elu, Selu, Sigmoid,
Tanh, ...), written once for the witness, the constraints and the recorded error bounds.

Each function is split as f(x) = relu_coef * relu(x) + residual(x), the residual flat (constant
to within a quarter of an output step) beyond clamp points on the sides where it flattens: Gelu
is relu(x) - |x| Phi(-|x|), Softplus relu(x) + log(1 + e^-|x|), Elu relu(x) + alpha (e^min(x,0) - 1).
The residual is a table on a grid of 2^-k steps:

    j = clamp(rescale(q, f - k), j_lo, j_hi)        q the input integer at scale 2^-f
    y = table[j] = quantize(residual(j 2^-k), o)    (fixedpoint.quantize: half away from zero)

``k`` is the finest grid (at most the input's f) whose table over [j_lo, j_hi] stays within the
row budget; the table values come from float64 and, where a value lies within float noise of a
rounding tie, from ``decimal`` at 60 digits, so every machine builds the same table. The error
bound of a table is measured, not assumed: |residual(x) - y_j 2^-o| at both ends and the centre
of every cell (the reals that round to row j) and over the clamped tails up to the input's bound.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, localcontext

import numpy as np

from zkml.circuit import fixedpoint

TABLE_ROWS = 1 << 15  # row budget of one function table (each row costs about two constraints, once)
_PREC = 60


@dataclass(frozen=True, eq=False)
class Function:
    """f = relu_coef * relu(x) + residual(x). ``key`` names the function and its parameters
    (it names the table); ``flat_below``/``flat_above``: the residual tends to a constant there,
    so inputs beyond a clamp point read the table's end row; ``domain_lo``: inputs below it are
    clamped up to it (log and fractional powers of non-positive numbers)."""

    key: str
    residual: object  # numpy float64 array -> float64 array
    exact: object  # Decimal -> Decimal (the same residual, for rounding ties)
    relu_coef: float = 0.0
    flat_below: bool = False
    flat_above: bool = False
    domain_lo: float | None = None
    open_domain: bool = False  # the domain excludes domain_lo itself (log 0): the first grid point above it
    lipschitz: float | None = None  # max |residual'| where known (else measured)

    def __hash__(self):  # tables and their error bounds are cached by the function's key
        return hash(self.key)

    def __eq__(self, other):
        return isinstance(other, Function) and other.key == self.key

    def full(self, x: np.ndarray) -> np.ndarray:
        """f itself (float64), for tests and error reports."""
        return self.relu_coef * np.maximum(x, 0.0) + self.residual(x)


# --- decimal helpers (60 digits; for the few table values near a rounding tie) -----------------


def _dexp(d: Decimal) -> Decimal:
    return Decimal(0) if d < -300 else d.exp()


def _derf(d: Decimal) -> Decimal:
    """erf by its Taylor series (enough digits at 60-digit precision for |d| <= 7)."""
    if abs(d) > 7:
        return Decimal(1) if d > 0 else Decimal(-1)
    total, term, n = Decimal(0), d, 0
    d2 = d * d
    while True:
        add = term / (2 * n + 1)
        total += add
        if abs(add) < Decimal(10) ** -(_PREC - 5):
            break
        n += 1
        term = -term * d2 / n
    return 2 * total / _dpi().sqrt()


@functools.lru_cache(maxsize=1)
def _dpi() -> Decimal:
    with localcontext() as c:
        c.prec = _PREC + 5
        # Machin's formula: pi = 16 atan(1/5) - 4 atan(1/239)
        def atan_inv(n):
            x, total, k, sign = Decimal(1) / n, Decimal(0), 1, 1
            term = x
            while term > Decimal(10) ** -(_PREC + 3):
                total += sign * term / k
                term = term / (n * n)
                k += 2
                sign = -sign
            return total
        return 16 * atan_inv(5) - 4 * atan_inv(239)


def _dsigmoid(d: Decimal) -> Decimal:
    return 1 / (1 + _dexp(-d))


def _dtanh(d: Decimal) -> Decimal:
    return 2 * _dsigmoid(2 * d) - 1


def _dlog1p_exp_neg_abs(d: Decimal) -> Decimal:
    return (1 + _dexp(-abs(d))).ln()


def _vec(fn):
    return np.vectorize(fn, otypes=[np.float64])


# --- the functions --------------------------------------------------------------------------------

_GELU_C = math.sqrt(2.0 / math.pi)


def _gelu_tanh_u(x):
    return _GELU_C * (x + 0.044715 * x ** 3)


def _sigmoid_np(x):
    x = np.asarray(x, np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def function(op: str, **p) -> Function:
    """The Function of an ONNX op (and its attributes)."""
    if op == "Exp":
        return Function("exp", np.exp, _dexp, flat_below=True)
    if op == "Log":
        return Function("log", lambda x: np.log(np.maximum(x, 1e-300)), lambda d: d.ln(), domain_lo=0.0, open_domain=True)
    if op == "Sigmoid":
        return Function("sigmoid", _sigmoid_np, _dsigmoid, flat_below=True, flat_above=True, lipschitz=0.25)
    if op == "Tanh":
        return Function("tanh", np.tanh, _dtanh, flat_below=True, flat_above=True, lipschitz=1.0)
    if op == "Erf":
        return Function("erf", _vec(math.erf), _derf, flat_below=True, flat_above=True, lipschitz=2 / math.sqrt(math.pi))
    if op == "Gelu" and p.get("approximate", "none") == "tanh":
        def res(x):
            a = np.abs(x)
            return -a * _sigmoid_np(-2.0 * _gelu_tanh_u(a))

        def dres(d):
            a = abs(d)
            u = (2 / _dpi()).sqrt() * (a + Decimal("0.044715") * a ** 3)
            return -a * _dsigmoid(-2 * u)
        return Function("gelu_tanh", res, dres, relu_coef=1.0, flat_below=True, flat_above=True)
    if op == "Gelu":
        erfc = _vec(math.erfc)

        def res(x):
            a = np.abs(x)
            return -0.5 * a * erfc(a / math.sqrt(2.0))

        def dres(d):
            a = abs(d)
            return -a * (1 - _derf(a / Decimal(2).sqrt())) / 2
        return Function("gelu", res, dres, relu_coef=1.0, flat_below=True, flat_above=True)
    if op == "Softplus":
        return Function("softplus", lambda x: np.log1p(np.exp(-np.abs(x))), _dlog1p_exp_neg_abs, relu_coef=1.0,
                        flat_below=True, flat_above=True, lipschitz=0.5)
    if op in ("Elu", "Celu"):
        a = float(p.get("alpha", 1.0))
        div = a if op == "Celu" else 1.0
        return Function(f"{op.lower()}({a!r})", lambda x: a * np.expm1(np.minimum(x, 0.0) / div),
                        lambda d: Decimal(a) * (_dexp(min(d, Decimal(0)) / Decimal(div)) - 1),
                        relu_coef=1.0, flat_below=True, flat_above=True)
    if op == "Selu":
        a, g = float(p.get("alpha", 1.67326319217681884765625)), float(p.get("gamma", 1.05070102214813232421875))
        return Function(f"selu({a!r},{g!r})", lambda x: g * a * np.expm1(np.minimum(x, 0.0)),
                        lambda d: Decimal(g) * Decimal(a) * (_dexp(min(d, Decimal(0))) - 1),
                        relu_coef=g, flat_below=True, flat_above=True)
    if op == "Mish":
        def res(x):
            sp = np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0.0)
            return x * np.tanh(sp) - np.maximum(x, 0.0)

        def dres(d):
            sp = _dlog1p_exp_neg_abs(d) + max(d, Decimal(0))
            return d * _dtanh(sp) - max(d, Decimal(0))
        return Function("mish", res, dres, relu_coef=1.0, flat_below=True, flat_above=True)
    if op == "Pow":
        e = float(p["exponent"])
        return Function(f"pow({e!r})", lambda x: np.power(np.maximum(x, 0.0), e),
                        lambda d: (Decimal(e) * d.ln()).exp() if d > 0 else Decimal(0), domain_lo=0.0)
    raise KeyError(op)


# --- tables -------------------------------------------------------------------------------------


def clamp_points(fn: Function, out_frac: int) -> tuple[float | None, float | None]:
    """Reals beyond which the residual is within a quarter output step of its limit (None on a
    side where it does not flatten), on a 1/64 grid, rounded outward to a multiple of 1/4."""
    tol = 2.0 ** -(out_frac + 2)
    xs = np.arange(0, 96 * 64 + 1, dtype=np.float64) / 64.0
    lo = hi = None
    if fn.flat_below:
        r = fn.residual(-xs)
        far = np.abs(r - r[-1]) > tol
        lo = -math.ceil(4 * (xs[np.flatnonzero(far)[-1]] + 1 / 64)) / 4 if far.any() else 0.0
    if fn.flat_above:
        r = fn.residual(xs)
        far = np.abs(r - r[-1]) > tol
        hi = math.ceil(4 * (xs[np.flatnonzero(far)[-1]] + 1 / 64)) / 4 if far.any() else 0.0
    return lo, hi


def choose_grid(fn: Function, in_frac: int, out_frac: int, lo: float, hi: float, rows: int = TABLE_ROWS) -> int:
    """k of the table grid 2^-k over the reals [lo, hi]: the input's own grid when the table fits
    the row budget, else the finest that does (never finer than the accuracy the output grid
    can show: an input step moving the residual by under a quarter output step)."""
    span = max(hi - lo, 2.0 ** -in_frac)
    k = in_frac
    while k > -16 and span * 2.0 ** k + 2 > rows:
        k -= 1
    lip = fn.lipschitz
    if lip is None:
        xs = np.linspace(lo, hi, 4097)
        r = fn.residual(xs)
        lip = float(np.max(np.abs(np.diff(r)) / np.diff(xs))) if len(xs) > 1 else 1.0
    need = out_frac + 2 + (math.frexp(lip)[1] if lip > 0 else -64)
    return int(min(k, max(need, 0)))


def _residual_on_grid(fn: Function, xs: np.ndarray, out_frac: int) -> np.ndarray:
    """quantize(residual(xs), out_frac), exact: float64 where it is unambiguous, decimal near ties."""
    y = fn.residual(xs) * float(2.0 ** out_frac)
    a = np.abs(y)
    near = np.abs(a - np.floor(a) - 0.5) < np.maximum(1e-6, a * 1e-12)
    q = (np.sign(y) * np.floor(a + 0.5)).astype(np.int64)
    if near.any():
        with localcontext() as c:
            c.prec = _PREC
            for i in np.flatnonzero(near):
                d = fn.exact(Decimal(float(xs[i]))) * (Decimal(2) ** out_frac)
                m = int((abs(d) + Decimal("0.5")).to_integral_value(rounding=ROUND_FLOOR))
                q[i] = m if d >= 0 else -m
    return q


@functools.lru_cache(maxsize=512)
def table_values(fn: Function, k: int, j_lo: int, j_hi: int, out_frac: int) -> np.ndarray:
    """The table column y_j = quantize(residual(j 2^-k), out_frac) for j in [j_lo, j_hi]."""
    xs = np.arange(j_lo, j_hi + 1, dtype=np.float64) * float(2.0 ** -k)
    if fn.domain_lo is not None:
        xs = np.maximum(xs, fn.domain_lo)
    v = _residual_on_grid(fn, xs, out_frac)
    v.setflags(write=False)
    return v


@functools.lru_cache(maxsize=512)
def table_error(fn: Function, k: int, s: int, j_lo: int, j_hi: int, out_frac: int,
                x_lo: float, x_hi: float) -> float:
    """max |residual(x) - table[j(x)] 2^-o| over the reals x in [x_lo, x_hi] (cells sampled at
    both ends and the centre; s = 0: the grid points themselves; clamped tails sampled densely)."""
    y = table_values(fn, k, j_lo, j_hi, out_frac).astype(np.float64) * float(2.0 ** -out_frac)
    step = float(2.0 ** -k)
    if fn.domain_lo is not None:  # below its domain the function has no value to miss (log 0, 0^-p)
        x_lo = max(x_lo, j_lo * step)
    xj = np.arange(j_lo, j_hi + 1, dtype=np.float64) * step
    pts = [xj] if s == 0 else [xj - step / 2, xj, xj + step / 2]
    err = 0.0
    for p in pts:
        inside = (p >= x_lo - step) & (p <= x_hi + step)
        p = np.clip(p, x_lo, x_hi)
        if fn.domain_lo is not None:
            p = np.maximum(p, fn.domain_lo)
        if inside.any():
            err = max(err, float(np.max(np.abs(fn.residual(p) - y)[inside])))
    if x_lo < j_lo * step:
        t = np.linspace(x_lo, j_lo * step, 4097)
        if fn.domain_lo is not None:
            t = np.maximum(t, fn.domain_lo)
        err = max(err, float(np.max(np.abs(fn.residual(t) - y[0]))))
    if x_hi > j_hi * step:
        t = np.linspace(j_hi * step, x_hi, 4097)
        err = max(err, float(np.max(np.abs(fn.residual(t) - y[-1]))))
    return err


def domain_row(fn: Function, k: int) -> int | None:
    """The lowest table row the function's domain allows on grid 2^-k (None: no limit)."""
    if fn.domain_lo is None:
        return None
    j = fn.domain_lo * 2.0 ** k
    return int(math.floor(j)) + 1 if fn.open_domain else int(math.ceil(j))


def grid_index(q, in_frac: int, k: int):
    """The table row of input integers q (scale 2^-in_frac) before clamping: rescale(q, f - k)."""
    return fixedpoint.rescale(q, in_frac - k)
