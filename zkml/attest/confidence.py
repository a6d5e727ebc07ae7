"""Exact (Clopper-Pearson) confidence bounds for a proportion proved as k successes in n trials.

The one-sided lower bound at confidence 1 - alpha is the alpha quantile of Beta(k, n - k + 1)
(0 when k = 0): the smallest p for which seeing k or more successes has probability at least
alpha. It is exact (never below its confidence, whatever p is), so 8 of 8 right supports only
p >= 0.688 at 95%. Computed here without scipy: the regularized incomplete beta function by
its continued fraction (modified Lentz, Numerical Recipes 6.4), inverted by bisection, which
cannot fail to converge because I_x(a, b) is monotone in x.
"""

from __future__ import annotations

import math

from zkml.errors import ZkmlError

_EPS = 1e-16
_TINY = 1e-300


def _beta_cf(a: float, b: float, x: float) -> float:
    """The continued fraction of I_x(a, b), for x < (a + 1) / (a + b + 2)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            return h
    raise ArithmeticError(f"the incomplete beta continued fraction did not converge (a={a}, b={b}, x={x})")


def regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b), the Beta(a, b) distribution function at x (a, b > 0)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_cf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_cf(b, a, 1.0 - x) / b


def beta_quantile(q: float, a: float, b: float) -> float:
    """The x with I_x(a, b) = q, by bisection to the resolution of a double."""
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if regularized_beta(mid, a, b) < q:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def check_confidence(confidence: float, where: str = "confidence") -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise ZkmlError(f"{where} = {confidence!r} must lie strictly between 0 and 1 (e.g. 0.95)")
    return float(confidence)


def lower_bound(k: int, n: int, confidence: float = 0.95) -> float:
    """One-sided Clopper-Pearson lower bound on the proportion after k successes in n trials."""
    check_confidence(confidence)
    if not 0 <= k <= n or n < 1:
        raise ZkmlError(f"a proportion of {k} in {n} is not a count of successes (0 <= k <= n, n >= 1)")
    if k == 0:
        return 0.0
    return beta_quantile(1.0 - confidence, k, n - k + 1)
