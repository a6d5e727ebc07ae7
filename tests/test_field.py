"""Fq, Fr and Fq2 arithmetic of the CPU engine against Python ints and py_ecc."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py_ecc import optimized_bn128 as bn

from zkml.crypto.bn254 import Q, R, from_mont, int_to_limbs, limbs_to_int, to_mont
from zkml.engines.cpu import field as F

FIELDS = {"fq": Q, "fr": R}


def enc(x: int, p: int):
    return tuple(np.uint64(v) for v in int_to_limbs(to_mont(x % p, p)))


def dec(t, p: int) -> int:
    return from_mont(limbs_to_int(np.array(t, dtype=np.uint64)), p)


def op(name, fn):
    return getattr(F, f"{name}_{fn}")


edge = lambda p: st.one_of(st.sampled_from([0, 1, 2, p - 1, p - 2, (p - 1) // 2]), st.integers(0, p - 1))  # noqa: E731


@pytest.mark.parametrize("name", FIELDS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_ring_ops_match_integers(name, data):
    p = FIELDS[name]
    a, b = data.draw(edge(p)), data.draw(edge(p))
    A, Bv = enc(a, p), enc(b, p)
    assert dec(op(name, "mul")(A, Bv), p) == a * b % p
    assert dec(op(name, "sqr")(A), p) == a * a % p
    assert dec(op(name, "add")(A, Bv), p) == (a + b) % p
    assert dec(op(name, "sub")(A, Bv), p) == (a - b) % p
    assert dec(op(name, "neg")(A), p) == -a % p
    assert op(name, "eq")(A, Bv) == (a == b)
    assert op(name, "is_zero")(A) == (a == 0)


@pytest.mark.parametrize("name", FIELDS)
@pytest.mark.parametrize("a", [1, 2, 5, -1, 123456789, 2**200 + 7])
def test_inverse(name, a):
    p = FIELDS[name]
    got = dec(op(name, "inv")(enc(a, p)), p)
    assert got == pow(a % p, -1, p)
    assert got * a % p == 1


@pytest.mark.parametrize("name", FIELDS)
def test_inverse_of_zero_is_zero(name):
    p = FIELDS[name]
    assert dec(op(name, "inv")(enc(0, p)), p) == 0


@pytest.mark.parametrize("name", FIELDS)
def test_results_are_fully_reduced(name):
    """Montgomery outputs must be canonical (< p), or equality tests and files go wrong."""
    p = FIELDS[name]
    for a, b in [(p - 1, p - 1), (p - 1, 1), (p - 2, p - 1)]:
        for fn in ("mul", "add", "sub"):
            raw = limbs_to_int(np.array(op(name, fn)(enc(a, p), enc(b, p)), dtype=np.uint64))
            assert raw < p


@pytest.mark.parametrize("name", FIELDS)
def test_montgomery_round_trip(name):
    p = FIELDS[name]
    x = 0x1234567890ABCDEF1234567890ABCDEF % p
    plain = tuple(np.uint64(v) for v in int_to_limbs(x))
    m = op(name, "to_mont")(plain)
    assert limbs_to_int(np.array(m, np.uint64)) == to_mont(x, p)
    assert limbs_to_int(np.array(op(name, "from_mont")(m), np.uint64)) == x


def enc2(x):
    return (enc(int(x.coeffs[0]), Q), enc(int(x.coeffs[1]), Q))


def dec2(t):
    return bn.FQ2([dec(t[0], Q), dec(t[1], Q)])


@settings(max_examples=25, deadline=None)
@given(st.integers(0, Q - 1), st.integers(0, Q - 1), st.integers(0, Q - 1), st.integers(0, Q - 1))
def test_fq2_against_py_ecc(a0, a1, b0, b1):
    a, b = bn.FQ2([a0, a1]), bn.FQ2([b0, b1])
    assert dec2(F.fq2_mul(enc2(a), enc2(b))) == a * b
    assert dec2(F.fq2_sqr(enc2(a))) == a * a
    assert dec2(F.fq2_add(enc2(a), enc2(b))) == a + b
    assert dec2(F.fq2_sub(enc2(a), enc2(b))) == a - b
    if a != bn.FQ2.zero():
        assert dec2(F.fq2_inv(enc2(a))) == bn.FQ2.one() / a


def test_curve_constants_agree_with_py_ecc():
    """bn254's generator and twist coefficient are checked against py_ecc here rather than at
    import, so that commands which never need py_ecc do not pay for importing it."""
    from zkml.crypto import bn254

    assert bn254.pyecc_constants_agree()
