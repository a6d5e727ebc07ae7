"""The exact (Clopper-Pearson) lower bound against scipy's beta quantile (scipy is a test
dependency only: zkml inverts the incomplete beta function itself)."""

import pytest

from zkml.attest.confidence import lower_bound, regularized_beta
from zkml.errors import ZkmlError

stats = pytest.importorskip("scipy.stats")

GRID = [(k, n) for n in (1, 2, 3, 5, 8, 10, 29, 59, 100, 171, 540, 10_000, 1_000_000)
        for k in sorted({0, 1, 2, n // 3, n // 2, n - 2, n - 1, n}) if 0 <= k <= n]


@pytest.mark.parametrize("confidence", [0.5, 0.9, 0.95, 0.99, 0.999])
def test_lower_bound_matches_scipy(confidence):
    for k, n in GRID:
        want = 0.0 if k == 0 else float(stats.beta.ppf(1 - confidence, k, n - k + 1))
        assert lower_bound(k, n, confidence) == pytest.approx(want, abs=1e-10, rel=1e-9), (k, n)


def test_regularized_beta_matches_scipy():
    for a, b in [(1, 1), (0.5, 3), (8, 1), (100, 441), (5000, 2)]:
        for x in (1e-6, 0.01, 0.3, 0.5, 0.9, 0.999):
            assert regularized_beta(x, a, b) == pytest.approx(float(stats.beta.cdf(x, a, b)), abs=1e-12)


def test_known_values_and_bad_input():
    assert lower_bound(8, 8) == pytest.approx(0.05 ** (1 / 8))  # k = n: alpha^(1/n)
    assert lower_bound(59, 59) > 0.95 > lower_bound(58, 58)
    for bad in (0, 1, 1.5, -0.1, True):
        with pytest.raises(ZkmlError, match="strictly between 0 and 1"):
            lower_bound(3, 4, bad)
    with pytest.raises(ZkmlError, match="count of successes"):
        lower_bound(5, 4)
