"""Setup's compiled kernels against the readable paths: fixed-base products against py_ecc,
Lagrange and H scalars against Python ints, and whole keys against points computed one by one."""

import random

import numpy as np
import pytest
from py_ecc import optimized_bn128 as bn

from conftest import chain_circuit
from zkml.crypto import bn254 as B
from zkml.crypto.bn254 import R
from zkml.engines.cpu import batch
from zkml.groth16 import setup as S

GROUPS = {
    "g1": (bn.G1, B.g1_to_array, B.g1_from_array, B.g1_from_pyecc),
    "g2": (bn.G2, B.g2_to_array, B.g2_from_array, B.g2_from_pyecc),
}
# 2^255 - r and 2r meet the table point of their top 2-bit window (the same point, then its
# negative) when the windows are 2 bits wide: the exceptional additions.
EDGE = [0, 1, 2, 3, R - 1, R, R + 1, 2**255 - R, 2 * R, 2**256 - 1, 2**128 + 1]


@pytest.mark.parametrize("name", GROUPS)
def test_fixed_base_matches_py_ecc(name):
    gen, to_arr, from_arr, from_py = GROUPS[name]
    rng = random.Random(11)
    ks = EDGE + [rng.randrange(R) for _ in range(9)]
    base = to_arr(from_py(gen))
    for bits in (2, 5, 7, 16):
        got = batch.fixed_base_mul(name, base, B.ints_to_limbs(ks), bits=bits)
        for k, p in zip(ks, got):
            assert from_arr(p) == from_py(bn.multiply(gen, k % R)), (bits, k)
    # negative twin: a neighbouring scalar is a different point
    wrong = batch.fixed_base_mul(name, base, B.ints_to_limbs([(k + 1) % R for k in ks]))
    assert all(from_arr(p) != from_py(bn.multiply(gen, k % R)) for k, p in zip(ks, wrong))


@pytest.mark.parametrize("name", GROUPS)
def test_fixed_base_many_scalars_agree_across_widths(name):
    """More scalars than one batch (1024) and than one thread's share, with zeros among them;
    every window width gives the same points, and sampled ones match py_ecc."""
    gen, to_arr, from_arr, from_py = GROUPS[name]
    rng = random.Random(12)
    ks = [0 if i % 97 == 0 else rng.randrange(R) for i in range(2500)]
    base = to_arr(from_py(gen))
    ref = batch.fixed_base_mul(name, base, B.ints_to_limbs(ks))
    for bits in (6, 13):
        assert np.array_equal(batch.fixed_base_mul(name, base, B.ints_to_limbs(ks), bits=bits), ref)
    for i in (0, 1, 1023, 1024, 2499):
        assert from_arr(ref[i]) == from_py(bn.multiply(gen, ks[i]))
    assert not ref[97].any()  # zero scalar: the identity, all-zero in zkey layout


def test_fixed_base_of_another_base_point():
    p = bn.multiply(bn.G1, 987654321)
    ks = [5, R - 7, 123456789123456789]
    got = batch.fixed_base_mul("g1", B.g1_to_array(B.g1_from_pyecc(p)), B.ints_to_limbs(ks))
    assert [B.g1_from_array(q) for q in got] == [B.g1_from_pyecc(bn.multiply(p, k)) for k in ks]
    assert B.g1_from_array(got[0]) != B.g1_from_pyecc(bn.multiply(bn.G1, 5))


@pytest.mark.parametrize("n", [1, 2, 16, 1 << 13])
def test_lagrange_and_h_scalars_match_python(n):
    rng = random.Random(n)
    tau, delta = rng.randrange(R), rng.randrange(1, R)
    ref = S.lagrange_at(tau, n)
    assert B.limbs_to_ints(S.lagrange_limbs(tau, n)) == ref
    mont = B.limbs_to_ints(S.lagrange_limbs(tau, n, mont=True))
    assert mont == [(x << 256) % R for x in ref]
    d_inv = pow(delta, -1, R)
    ref2 = S.lagrange_at(tau, 2 * n)
    assert B.limbs_to_ints(S.h_scalars(tau, n, d_inv)) == [ref2[2 * i + 1] * d_inv % R for i in range(n)]
    # negative twin: another tau gives other values (L_0 = 1 on a domain of one point)
    assert n == 1 or B.limbs_to_ints(S.lagrange_limbs(tau + 1, n)) != ref


def test_qap_at_matches_python_sums():
    r1cs, _ = chain_circuit(40, n_extra_public=2)
    tau = random.Random(3).randrange(R)
    n = S.domain_size(r1cs)
    lag = S.lagrange_at(tau, n)
    got = S.qap_at(r1cs, S.lagrange_limbs(tau, n, mont=True))
    for (rows, cols, vals), out in zip(S.qap_coefficients(r1cs), got):
        expected = [0] * r1cs.n_wires
        for row, col, v in zip(rows.tolist(), cols.tolist(), B.limbs_to_ints(vals)):
            expected[col] = (expected[col] + v * lag[row]) % R
        assert B.limbs_to_ints(out) == expected
    assert B.limbs_to_ints(got[0]) != B.limbs_to_ints(got[1])


def _reference_key(r1cs, dev, delta):
    """Every key point as a py_ecc product of its Python-int scalar (the slow, readable path)."""
    n = S.domain_size(r1cs)
    lag = S.lagrange_at(dev.tau, n)
    polys = []
    for rows, cols, vals in S.qap_coefficients(r1cs):
        acc = [0] * r1cs.n_wires
        for row, col, v in zip(rows.tolist(), cols.tolist(), B.limbs_to_ints(vals)):
            acc[col] = (acc[col] + v * lag[row]) % R
        polys.append(acc)
    u, v, w = polys
    d_inv = pow(delta, -1, R)
    k = [(dev.beta * a + dev.alpha * b + c) % R for a, b, c in zip(u, v, w)]
    lag2 = S.lagrange_at(dev.tau, 2 * n)
    g1 = lambda s: B.g1_from_pyecc(bn.multiply(bn.G1, s))  # noqa: E731
    g2 = lambda s: B.g2_from_pyecc(bn.multiply(bn.G2, s))  # noqa: E731
    n_ic = r1cs.n_public + 1
    return {
        "a": [g1(x) for x in u], "b1": [g1(x) for x in v], "b2": [g2(x) for x in v],
        "ic": [g1(x) for x in k[:n_ic]], "c": [g1(x * d_inv % R) for x in k[n_ic:]],
        "h": [g1(lag2[2 * i + 1] * d_inv % R) for i in range(n)],
        "alpha1": g1(dev.alpha), "beta1": g1(dev.beta), "delta1": g1(delta),
        "beta2": g2(dev.beta), "gamma2": g2(1), "delta2": g2(delta),
    }


def test_setup_from_secrets_matches_point_by_point_reference():
    r1cs, _ = chain_circuit(5, n_extra_public=1)
    dev = S.DevTau(tau=1234567, alpha=89, beta=1011)
    delta = 424242
    pk = S.setup_from_secrets(r1cs, dev, delta=delta)
    ref = _reference_key(r1cs, dev, delta)
    for name in ("a", "b1", "ic", "c", "h"):
        assert [B.g1_from_array(p) for p in getattr(pk, name)] == ref[name], name
    assert [B.g2_from_array(p) for p in pk.b2] == ref["b2"]
    for name in ("alpha1", "beta1", "delta1"):
        assert B.g1_from_array(getattr(pk, name)) == ref[name], name
    for name in ("beta2", "gamma2", "delta2"):
        assert B.g2_from_array(getattr(pk, name)) == ref[name], name
    # negative twin: another delta moves C and H (and only them, of the point lists)
    other = S.setup_from_secrets(r1cs, dev, delta=delta + 1)
    assert [B.g1_from_array(p) for p in other.h] != ref["h"]
    assert [B.g1_from_array(p) for p in other.c] != ref["c"]
    assert np.array_equal(other.a, pk.a)
