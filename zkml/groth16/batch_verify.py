"""Batch verification of Groth16 proofs under one verifying key, on py_ecc.

With independent random 128-bit weights r_i, the n equations e(A_i, B_i) = e(alpha, beta)
e(L_i, gamma) e(C_i, delta) hold together, except with probability about n / 2^128, iff

    prod_i e(r_i A_i, B_i) = e((sum r_i) alpha, beta) e(sum r_i L_i, gamma) e(sum r_i C_i, delta)

which costs n + 3 Miller loops and one final exponentiation instead of 4n and n. sum r_i L_i
is one multi-scalar sum over the key's IC points with the weights folded into the inputs.
Every proof is still checked for well-formedness (curve, subgroup, ranges) on its own. When the
batch fails, each proof is verified alone to name the bad ones.
"""

from __future__ import annotations

import secrets

from py_ecc import optimized_bn128 as bn

from zkml.crypto.bn254 import R, g1_to_pyecc, g2_to_pyecc
from zkml.groth16.data_structures import Proof, VerifyingKey
from zkml.groth16.verifier import MalformedProof, check_proof, check_rounds, check_vk, public_with_challenge, verify


def verify_batch_equation(vk: VerifyingKey, items: list[tuple[list[int], Proof]], weights: list[int] | None = None) -> bool:
    """True iff the random linear combination of the n verification equations holds."""
    if not items:
        return True
    check_vk(vk)
    for i, (public, proof) in enumerate(items):
        if len(public) != vk.n_public:
            raise MalformedProof(f"proof {i}: {len(public)} public inputs, the verifying key expects {vk.n_public}")
        if any(not 0 <= x < R for x in public):
            raise MalformedProof(f"proof {i}: a public input is not in [0, r)")
        check_proof(proof)
        try:
            check_rounds(vk, proof)
        except MalformedProof as e:
            raise MalformedProof(f"proof {i}: {e}") from None
    items = [(public_with_challenge(vk, public, proof), proof) for public, proof in items]
    weights = weights or [secrets.randbits(128) | 1 for _ in items]
    # sum r_i L_i = (sum r_i) IC_0 + sum_j (sum_i r_i x_ij) IC_j
    coeffs = [sum(weights) % R] + [sum(r * public[j] for r, (public, _) in zip(weights, items)) % R
                                   for j in range(len(vk.ic) - 1)]
    acc_l = None
    for k, p in zip(coeffs, vk.ic):
        if k and p is not None:
            term = bn.multiply(g1_to_pyecc(p), k)
            acc_l = term if acc_l is None else bn.add(acc_l, term)
    acc_c = acc_d = None
    pairs = []
    for r, (_, proof) in zip(weights, items):
        if proof.d is not None:
            term = bn.multiply(g1_to_pyecc(proof.d), r)
            acc_d = term if acc_d is None else bn.add(acc_d, term)
        if proof.a is not None and proof.b is not None:
            pairs.append((g2_to_pyecc(proof.b), bn.neg(bn.multiply(g1_to_pyecc(proof.a), r))))
        if proof.c is not None:
            term = bn.multiply(g1_to_pyecc(proof.c), r)
            acc_c = term if acc_c is None else bn.add(acc_c, term)
    pairs.append((g2_to_pyecc(vk.beta2), bn.multiply(g1_to_pyecc(vk.alpha1), sum(weights) % R)))
    if acc_l is not None:
        pairs.append((g2_to_pyecc(vk.gamma2), acc_l))
    if acc_c is not None:
        pairs.append((g2_to_pyecc(vk.delta2), acc_c))
    if acc_d is not None and vk.has_lookups:
        pairs.append((g2_to_pyecc(vk.delta_round2), acc_d))
    f = bn.FQ12.one()
    for q_pt, p_pt in pairs:
        if bn.is_inf(q_pt) or bn.is_inf(p_pt):
            continue
        f = f * bn.pairing(q_pt, p_pt, final_exponentiate=False)
    return bn.final_exponentiate(f) == bn.FQ12.one()


def verify_batch(vk: VerifyingKey, items: list[tuple[list[int], Proof]]) -> tuple[bool, list[int]]:
    """(all valid, indices of the invalid proofs): one batch equation, then single
    verification only when it fails. Malformed proofs count as invalid."""
    return batch_then_single(lambda: verify_batch_equation(vk, items), lambda pub, proof: verify(vk, pub, proof), items)


def batch_then_single(equation, single, items) -> tuple[bool, list[int]]:
    """The one strategy both verifiers share: ``equation()`` for the whole batch, and only if it
    fails (or a proof is malformed) ``single(public, proof)`` for each, to name the bad ones."""
    try:
        if equation():
            return True, []
    except MalformedProof:
        pass
    bad = []
    for i, (public, proof) in enumerate(items):
        try:
            ok = single(public, proof)
        except MalformedProof:
            ok = False
        if not ok:
            bad.append(i)
    return not bad, bad
