"""pytest-benchmark micro-benchmarks of the CPU engine (zkml only; the peer comparison is
bench_groth16.py). Run with `make bench` or `pytest bench/test_engine_bench.py`."""

import random

import numpy as np
import pytest

from zkml.crypto import bn254 as B
from zkml.engines.cpu import batch
from zkml.engines.cpu.msm import msm_g1, msm_g2, msm_many
from zkml.engines.cpu.ntt import ntt


@pytest.fixture(scope="module")
def points():
    rnd = random.Random(7)
    n = 1 << 16
    ks = B.ints_to_limbs([rnd.randrange(1, B.R) for _ in range(n)])
    g1 = batch.fixed_base_mul("g1", B.g1_to_array(B.G1_GENERATOR), ks)
    g2 = batch.fixed_base_mul("g2", B.g2_to_array(B.G2_GENERATOR), ks)
    scalars = B.ints_to_limbs([rnd.randrange(B.R) for _ in range(n)])
    return g1, g2, scalars


@pytest.mark.parametrize("log_n", [12, 16])
def test_msm_g1(benchmark, points, log_n):
    g1, _, s = points
    n = 1 << log_n
    benchmark(msm_g1, np.ascontiguousarray(g1[:n]), np.ascontiguousarray(s[:n]))


@pytest.mark.parametrize("log_n", [12, 16])
def test_msm_g2(benchmark, points, log_n):
    _, g2, s = points
    n = 1 << log_n
    benchmark(msm_g2, np.ascontiguousarray(g2[:n]), np.ascontiguousarray(s[:n]))


def test_msm_prove_set(benchmark, points):
    """The five MSMs of a 2^16 prove (four G1, one G2) in one msm_many call, as prove does."""
    g1, g2, s = points
    jobs = [("g1", g1, s)] * 4 + [("g2", g2, s)]
    benchmark(msm_many, jobs)


def test_msm_g1_binary_scalars(benchmark, points):
    """0/1 scalars, as in range-check-heavy ML witnesses."""
    g1, _, _ = points
    bits = B.ints_to_limbs([random.Random(3).randrange(2) for _ in range(len(g1))])
    benchmark(msm_g1, g1, bits)


@pytest.mark.parametrize("log_n", [16, 20])
def test_ntt(benchmark, log_n):
    vals = np.random.default_rng(1).integers(0, 2**62, size=(1 << log_n, 4), dtype=np.uint64)
    vals[:, 3] &= np.uint64(2**60 - 1)
    benchmark(ntt, vals)
