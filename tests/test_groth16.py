"""Groth16 end to end on the CPU engine, with the negative twin of every positive case."""

import dataclasses

import numpy as np
import pytest
from py_ecc import optimized_bn128 as bn

from conftest import chain_circuit, check_circuit, private_only_circuit
from zkml.crypto import bn254 as B
from zkml.crypto.bn254 import R
from zkml.engines.cpu.prover import prove
from zkml.errors import UnsatisfiedWitness
from zkml.groth16.contribute import contribute, verify_contributions
from zkml.groth16.setup import DevTau, domain_size, setup_from_secrets
from zkml.groth16.verifier import MalformedProof, verify


@pytest.fixture(scope="module")
def chain():
    r1cs, w = chain_circuit(12, n_extra_public=2)
    pk = setup_from_secrets(r1cs, DevTau.random())
    return r1cs, w, pk, pk.verifying_key()


def public(r1cs, w):
    return w[1 : r1cs.n_public + 1]


def test_valid_proof_verifies_and_tampering_fails(chain):
    r1cs, w, pk, vk = chain
    proof = prove(pk, B.ints_to_limbs(w))
    pub = public(r1cs, w)
    assert verify(vk, pub, proof)
    # wrong public input, and aliases of the right one (x + r is malformed, not a second valid x)
    assert not verify(vk, [pub[0] + 1] + pub[1:], proof)
    for alias in (pub[0] + R, R, 2**256 - 1, -1):
        with pytest.raises(MalformedProof):
            verify(vk, [alias] + pub[1:], proof)
    # tampered points that are still on the curve
    a2 = B.g1_from_pyecc(bn.double(B.g1_to_pyecc(proof.a)))
    assert not verify(vk, pub, dataclasses.replace(proof, a=a2))
    assert not verify(vk, pub, dataclasses.replace(proof, c=a2))
    b2 = B.g2_from_pyecc(bn.double(B.g2_to_pyecc(proof.b)))
    assert not verify(vk, pub, dataclasses.replace(proof, b=b2))
    # points off the curve or with coordinates >= q are malformed
    with pytest.raises(MalformedProof, match="not on the curve"):
        verify(vk, pub, dataclasses.replace(proof, a=(proof.a[0], proof.a[1] + 1)))
    with pytest.raises(MalformedProof, match="field modulus"):
        verify(vk, pub, dataclasses.replace(proof, c=(proof.c[0] + B.Q, proof.c[1])))
    with pytest.raises(MalformedProof, match="public inputs"):
        verify(vk, pub[:-1], proof)


def test_g2_point_outside_subgroup_is_rejected(chain):
    r1cs, w, pk, vk = chain
    proof = prove(pk, B.ints_to_limbs(w))
    # a point on the twist but not in the order-r subgroup: solve y^2 = x^3 + b' for some x
    x = bn.FQ2([1, 0])
    while True:
        rhs = x**3 + bn.b2
        y = _fq2_sqrt(rhs)
        if y is not None:
            break
        x = x + bn.FQ2([1, 0])
    pt = (x, y, bn.FQ2.one())
    assert bn.is_on_curve(pt, bn.b2) and not bn.is_inf(bn.multiply(pt, R))
    bad = B.g2_from_pyecc(pt)
    with pytest.raises(MalformedProof, match="subgroup"):
        verify(vk, public(r1cs, w), dataclasses.replace(proof, b=bad))


def _fq2_sqrt(a):
    """A square root in Fq2 (q = 3 mod 4), or None."""
    q = B.Q
    a1 = a ** ((q - 3) // 4)
    alpha = a1 * a1 * a
    x0 = a1 * a
    if alpha == bn.FQ2([q - 1, 0]):
        return bn.FQ2([0, 1]) * x0
    b = (bn.FQ2.one() + alpha) ** ((q - 1) // 2)
    cand = b * x0
    return cand if cand * cand == a else None


def test_proofs_are_randomised_but_reproducible_with_fixed_r_s(chain):
    r1cs, w, pk, vk = chain
    wl = B.ints_to_limbs(w)
    p1, p2 = prove(pk, wl), prove(pk, wl)
    assert p1 != p2 and verify(vk, public(r1cs, w), p1) and verify(vk, public(r1cs, w), p2)
    assert prove(pk, wl, r=5, s=7) == prove(pk, wl, r=5, s=7)
    assert prove(pk, wl, r=5, s=7) != prove(pk, wl, r=5, s=8)


def test_vk_of_another_circuit_rejects(chain):
    r1cs, w, pk, vk = chain
    other_r1cs, _ = chain_circuit(12, n_extra_public=2)
    other_vk = setup_from_secrets(other_r1cs, DevTau.random()).verifying_key()
    assert not verify(other_vk, public(r1cs, w), prove(pk, B.ints_to_limbs(w)))


def test_unsatisfied_witness_is_named_and_its_proof_fails(chain):
    r1cs, w, pk, vk = chain
    bad = list(w)
    bad[5] = (bad[5] + 1) % R  # an intermediate value of the chain
    with pytest.raises(UnsatisfiedWitness, match=r"constraint 0 of 14"):
        r1cs.check_witness(bad)
    assert not verify(vk, public(r1cs, bad), prove(pk, B.ints_to_limbs(bad)))


@pytest.mark.parametrize("shape", ["no public", "one constraint", "domain boundary", "many public"])
def test_circuit_shapes(shape):
    if shape == "no public":
        r1cs, w = private_only_circuit()
        bad = [1, 6, 7, 43]
    elif shape == "one constraint":
        r1cs, w = chain_circuit(1)
        bad = [1, w[1] + 1, w[2]]
    elif shape == "domain boundary":  # constraints + public + 1 == 16 exactly
        r1cs, w = chain_circuit(13)
        assert domain_size(r1cs) == 16 and r1cs.n_constraints + r1cs.n_public + 1 == 16
        bad = list(w)
        bad[-1] = 0
    else:
        r1cs, w = chain_circuit(4, n_extra_public=9)
        bad = list(w)
        bad[1] = (bad[1] + R - 1) % R
    check_circuit(r1cs, valid=[w], invalid=[bad])


def test_contribution_changes_delta_and_keeps_proofs_valid(chain):
    r1cs, w, pk, vk = chain
    assert verify_contributions(pk) == []
    pk2 = contribute(pk, b"more entropy", name="second")
    assert not np.array_equal(pk2.delta1, pk.delta1)
    assert verify_contributions(pk2) == []
    assert len(pk2.contributions) == len(pk.contributions) + 1
    assert verify(pk2.verifying_key(), public(r1cs, w), prove(pk2, B.ints_to_limbs(w)))
    # a proof made with the old key does not verify under the new one
    assert not verify(pk2.verifying_key(), public(r1cs, w), prove(pk, B.ints_to_limbs(w)))
    # a forged record (delta changed without a matching proof of knowledge) is detected
    forged = dataclasses.replace(pk2, contributions=pk2.contributions[:-1] + [
        dataclasses.replace(pk2.contributions[-1], g2_spx=pk2.contributions[0].g2_spx)])
    assert verify_contributions(forged)
