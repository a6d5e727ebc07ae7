"""The independent Groth16 verifier, on py_ecc only (it never imports the prover engines).

Accepts iff e(A, B) = e(alpha, beta) * e(L, gamma) * e(C, delta), L = IC_0 + sum x_i IC_i,
checked as one product of four Miller loops and a single final exponentiation; a lookup key adds
e(D, delta_round) and the challenge (recomputed here, challenge.py) as the last input of L: five
Miller loops. Malformed input
(wrong counts, coordinates >= q, points off the curve or outside the r-torsion, public inputs
>= r) raises ``MalformedProof``; a well-formed proof that does not check returns False.
"""

from __future__ import annotations

from py_ecc import optimized_bn128 as bn

from zkml.crypto.bn254 import Q, R, g1_to_pyecc, g2_to_pyecc
from zkml.groth16.malformed import (  # noqa: F401 (MalformedProof is part of this module's interface)
    MalformedProof,
    _check_g1,
    check_ic_count,
    check_rounds,
    public_with_challenge,
)
from zkml.groth16.data_structures import Proof, VerifyingKey


def _check_g2(name: str, p) -> None:
    if p is None:
        return
    for c in (*p[0], *p[1]):
        if not 0 <= c < Q:
            raise MalformedProof(f"{name}: coordinate {c} is not below the field modulus q")
    pt = g2_to_pyecc(p)
    if not bn.is_on_curve(pt, bn.b2):
        raise MalformedProof(f"{name}: point is not on the twist curve y^2 = x^3 + 3/(9+u)")
    if not bn.is_inf(bn.multiply(pt, R)):
        raise MalformedProof(f"{name}: point is not in the order-r subgroup of G2")


def check_vk(vk: VerifyingKey) -> None:
    _check_g1("vk alpha1", vk.alpha1)
    for name, p in (("vk beta2", vk.beta2), ("vk gamma2", vk.gamma2), ("vk delta2", vk.delta2),
                    ("vk delta_round2", vk.delta_round2)):
        _check_g2(name, p)
    check_ic_count(vk)
    for i, p in enumerate(vk.ic):
        _check_g1(f"vk IC[{i}]", p)


def check_proof(proof: Proof) -> None:
    _check_g1("proof A", proof.a)
    _check_g2("proof B", proof.b)
    _check_g1("proof C", proof.c)
    _check_g1("proof D", proof.d)


def verify(vk: VerifyingKey, public: list[int], proof: Proof) -> bool:
    """True iff ``proof`` is a valid Groth16 proof for ``public`` under ``vk``."""
    if len(public) != vk.n_public:
        raise MalformedProof(f"{len(public)} public inputs given, the verifying key expects {vk.n_public}")
    for i, x in enumerate(public):
        if not 0 <= x < R:
            raise MalformedProof(f"public input {i} is not in [0, r): {x}")
    check_vk(vk)
    check_proof(proof)
    check_rounds(vk, proof)
    acc = g1_to_pyecc(vk.ic[0])
    for x, p in zip(public_with_challenge(vk, public, proof), vk.ic[1:]):
        if x:
            acc = bn.add(acc, bn.multiply(g1_to_pyecc(p), x))
    pairs = [
        (g2_to_pyecc(proof.b), bn.neg(g1_to_pyecc(proof.a))),
        (g2_to_pyecc(vk.beta2), g1_to_pyecc(vk.alpha1)),
        (g2_to_pyecc(vk.gamma2), acc),
        (g2_to_pyecc(vk.delta2), g1_to_pyecc(proof.c)),
    ]
    if vk.has_lookups:
        pairs.append((g2_to_pyecc(vk.delta_round2), g1_to_pyecc(proof.d)))
    f = bn.FQ12.one()
    for q_pt, p_pt in pairs:
        if bn.is_inf(q_pt) or bn.is_inf(p_pt):
            continue  # e(O, .) = 1
        f = f * bn.pairing(q_pt, p_pt, final_exponentiate=False)
    return bn.final_exponentiate(f) == bn.FQ12.one()
