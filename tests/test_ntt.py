"""NTT, inverse NTT and coset NTT over Fr against the naive transform."""

import random

import numpy as np
import pytest

from zkml.crypto.bn254 import R, from_mont, ints_to_limbs, limbs_to_ints, root_of_unity, to_mont
from zkml.engines.cpu.ntt import coset_intt, coset_ntt, intt, ntt


def mont(values):
    return ints_to_limbs([to_mont(v % R, R) for v in values])


def plain(arr):
    return [from_mont(v, R) for v in limbs_to_ints(arr)]


@pytest.mark.parametrize("n", [1, 2, 8, 16])
def test_ntt_matches_naive_dft(n):
    rnd = random.Random(n)
    coef = [rnd.randrange(R) for _ in range(n)]
    w = root_of_unity(n)
    expected = [sum(c * pow(w, i * j, R) for j, c in enumerate(coef)) % R for i in range(n)]
    assert plain(ntt(mont(coef))) == expected


@pytest.mark.parametrize("n", [8, 32])
def test_coset_ntt_evaluates_on_the_coset(n):
    rnd = random.Random(n + 1)
    coef = [rnd.randrange(R) for _ in range(n)]
    g, w = 7, root_of_unity(n)
    expected = [sum(c * pow(g * pow(w, i, R), j, R) for j, c in enumerate(coef)) % R for i in range(n)]
    evals = coset_ntt(mont(coef), g)
    assert plain(evals) == expected
    assert np.array_equal(coset_intt(evals, g), mont(coef))


@pytest.mark.parametrize("log_n", range(0, 11))
def test_round_trip(log_n):
    rnd = random.Random(log_n)
    a = mont([rnd.randrange(R) for _ in range(1 << log_n)])
    assert np.array_equal(intt(ntt(a)), a)
    assert np.array_equal(ntt(intt(a)), a)


def test_linearity_and_edge_values():
    n = 64
    rnd = random.Random(5)
    a = [rnd.randrange(R) for _ in range(n)]
    b = [R - 1] * n
    lhs = plain(ntt(mont([x + y for x, y in zip(a, b)])))
    rhs = [(x + y) % R for x, y in zip(plain(ntt(mont(a))), plain(ntt(mont(b))))]
    assert lhs == rhs
    # the constant polynomial 1 evaluates to 1 everywhere; a delta at 0 gives all ones
    assert plain(ntt(mont([1] + [0] * (n - 1)))) == [1] * n


def test_rejects_non_power_of_two():
    with pytest.raises(ValueError, match="power of two"):
        ntt(mont([1, 2, 3]))
