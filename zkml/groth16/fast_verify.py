"""Groth16 verification on the CPU engine's pairing: the contract of ``verifier.verify``
(same counts, ranges, curve and subgroup checks, same ``MalformedProof`` messages), with the
linear combination L = IC_0 + sum x_i IC_i, the subgroup test of the proof's B and the product
of four pairings done in numba. py_ecc's ``verifier`` stays the independent reference.

The verifying key's checks (its G2 points in the subgroup, IC count and points) cost more than
a proof's, and a key is used for many proofs: ``prepare_vk`` does them once and lays the key out
for the engine; ``verify`` takes the prepared key (or a plain one, prepared on the spot).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import numpy as np

from zkml.crypto.bn254 import Q, R, g1_to_array, g2_array, g2_on_twist, ints_to_limbs
from zkml.engines.cpu.native import kernels
from zkml.groth16.data_structures import Proof, VerifyingKey
from zkml.groth16.malformed import MalformedProof, _check_g1, check_ic_count, check_rounds, public_with_challenge


@dataclass(frozen=True)
class PreparedVerifyingKey:
    """A verifying key that passed ``check_vk``'s checks, as engine arrays (Montgomery form)."""

    vk: VerifyingKey
    alpha1: np.ndarray  # (2, 4)
    g2: np.ndarray  # (3, 2, 2, 4): beta2, gamma2, delta2 (and delta_round2 for a lookup key)
    ic: np.ndarray  # (n_ic, 2, 4)

    @property
    def n_public(self) -> int:
        return self.vk.n_public


def _check_g2_curve(name: str, p) -> None:
    """Coordinates below q and on the twist; the subgroup is checked after, for all points at once."""
    for c in (*p[0], *p[1]):
        if not 0 <= c < Q:
            raise MalformedProof(f"{name}: coordinate {c} is not below the field modulus q")
    if not g2_on_twist(p):
        raise MalformedProof(f"{name}: point is not on the twist curve y^2 = x^3 + 3/(9+u)")


def _check_g2_points(named: list[tuple[str, object]]) -> np.ndarray:
    """The checks of ``verifier._check_g2`` for several points, the subgroup test in one engine
    call (psi(Q) == [6x^2] Q); returns the points as an (n, 2, 2, 4) array."""
    for name, p in named:
        if p is not None:
            _check_g2_curve(name, p)
    arr = g2_array([p for _, p in named])
    ok = np.zeros(len(arr), np.bool_)
    kernels().g2_subgroup_check_into(arr, ok)
    for (name, _), good in zip(named, ok):
        if not good:
            raise MalformedProof(f"{name}: point is not in the order-r subgroup of G2")
    return arr


VK_G2_CHECK = "vk-g2-subgroup-v1"  # the check_cache record's name for a key's G2 points


def _vk_g2(vk: VerifyingKey) -> list[tuple[str, object]]:
    g2 = [("vk beta2", vk.beta2), ("vk gamma2", vk.gamma2), ("vk delta2", vk.delta2)]
    return g2 + ([("vk delta_round2", vk.delta_round2)] if vk.has_lookups else [])


def check_vk(vk: VerifyingKey) -> None:
    """``verifier.check_vk`` in the engine. The G2 subgroup tests are done once per key: a pass is
    recorded in this machine's own check cache under a hash of the key's G2 points."""
    _check_g1("vk alpha1", vk.alpha1)
    g2 = _vk_g2(vk)
    for name, p in g2:
        if p is not None:
            _check_g2_curve(name, p)
    from zkml.formats import check_cache

    arr = np.ascontiguousarray(g2_array([p for _, p in g2]), "<u8")
    record = check_cache.digest(VK_G2_CHECK, [memoryview(arr).cast("B")])
    if not check_cache.passed(record):
        _check_g2_points(g2)
        check_cache.remember(record)
    check_ic_count(vk)
    for i, p in enumerate(vk.ic):
        _check_g1(f"vk IC[{i}]", p)


def check_proof(proof: Proof) -> None:
    """``verifier.check_proof`` in the engine (B's subgroup test: psi(B) == [6x^2] B)."""
    _check_g1("proof A", proof.a)
    _check_g2_points([("proof B", proof.b)])
    _check_g1("proof C", proof.c)
    _check_g1("proof D", proof.d)


def prepare_vk(vk: VerifyingKey, *, checked: bool = False) -> PreparedVerifyingKey:
    """Check ``vk`` once (as ``verifier.check_vk`` does) and lay it out for the engine.

    ``checked=True`` skips the checks; pass it only for a key this machine's own cache has
    recorded as checked, keyed by the key file's hash, never on the word of a file someone else
    wrote."""
    if not checked:
        _check_g1("vk alpha1", vk.alpha1)
    g2 = _vk_g2(vk)
    if checked:
        g2_arr = g2_array([p for _, p in g2])
    else:
        g2_arr = _check_g2_points(g2)
        check_ic_count(vk)
        for i, p in enumerate(vk.ic):
            _check_g1(f"vk IC[{i}]", p)
    return PreparedVerifyingKey(vk=vk, alpha1=g1_to_array(vk.alpha1), g2=g2_arr,
                                ic=np.stack([g1_to_array(p) for p in vk.ic]))


def _as_prepared(vk) -> PreparedVerifyingKey:
    return vk if isinstance(vk, PreparedVerifyingKey) else prepare_vk(vk)


def _check_public(pvk: PreparedVerifyingKey, public: list[int], label: str = "") -> None:
    if len(public) != pvk.n_public:
        raise MalformedProof(f"{label}{len(public)} public inputs given, the verifying key expects {pvk.n_public}")
    for i, x in enumerate(public):
        if not 0 <= x < R:
            raise MalformedProof(f"{label}public input {i} is not in [0, r): {x}")


def _neg_g1(p):
    return None if p is None else (p[0], (Q - p[1]) % Q)


def _g1_sum(points: np.ndarray, scalars: list[int]) -> np.ndarray:
    """sum k_i P_i in the engine, as a (2, 4) affine array (zeros = identity)."""
    out = np.zeros((1, 2, 4), np.uint64)
    kernels().g1_lincomb(points, ints_to_limbs(scalars), out)
    return out[0]


def verify(vk: VerifyingKey | PreparedVerifyingKey, public: list[int], proof: Proof) -> bool:
    """True iff ``proof`` is a valid Groth16 proof for ``public`` under ``vk``:
    e(A, B) = e(alpha, beta) e(L, gamma) e(C, delta), checked as one product of four pairings
    (five with a lookup key's e(D, delta_round), its challenge recomputed into L)."""
    pvk = _as_prepared(vk)
    _check_public(pvk, public)
    _check_g1("proof A", proof.a)
    b_arr = _check_g2_points([("proof B", proof.b)])
    _check_g1("proof C", proof.c)
    _check_g1("proof D", proof.d)
    check_rounds(pvk.vk, proof)
    l_arr = _g1_sum(pvk.ic, [1, *public_with_challenge(pvk.vk, public, proof)])
    g1 = [g1_to_array(_neg_g1(proof.a)), pvk.alpha1, l_arr, g1_to_array(proof.c)]
    g1 = np.stack(g1 + ([g1_to_array(proof.d)] if pvk.vk.has_lookups else []))
    g2 = np.concatenate([b_arr, pvk.g2])
    return bool(kernels().pairing_product_is_one(g1, g2))


def verify_batch_equation(vk: VerifyingKey | PreparedVerifyingKey, items: list[tuple[list[int], Proof]],
                          weights: list[int] | None = None) -> bool:
    """``batch_verify.verify_batch_equation`` in the engine: with random 128-bit weights r_i,
    prod e(r_i A_i, B_i) = e((sum r_i) alpha, beta) e(sum r_i L_i, gamma) e(sum r_i C_i, delta),
    n + 3 pairings and one final exponentiation (n + 4 with a lookup key's e(sum r_i D_i,
    delta_round)). Malformed proofs raise ``MalformedProof``."""
    if not items:
        return True
    pvk = _as_prepared(vk)
    for i, (public, proof) in enumerate(items):
        _check_public(pvk, public, f"proof {i}: ")
        _check_g1(f"proof {i} A", proof.a)
        _check_g1(f"proof {i} C", proof.c)
        _check_g1(f"proof {i} D", proof.d)
        try:
            check_rounds(pvk.vk, proof)
        except MalformedProof as e:
            raise MalformedProof(f"proof {i}: {e}") from None
    items = [(public_with_challenge(pvk.vk, public, proof), proof) for public, proof in items]
    b_arr = _check_g2_points([(f"proof {i} B", proof.b) for i, (_, proof) in enumerate(items)])
    weights = weights or [secrets.randbits(128) | 1 for _ in items]
    n = len(items)
    total = sum(weights) % R
    # sum r_i L_i = (sum r_i) IC_0 + sum_j (sum_i r_i x_ij) IC_j
    coeffs = [total] + [sum(r * public[j] for r, (public, _) in zip(weights, items)) % R
                        for j in range(len(pvk.ic) - 1)]
    a_arr = np.stack([g1_to_array(_neg_g1(proof.a)) for _, proof in items] + [pvk.alpha1])
    ra = np.zeros_like(a_arr)
    kernels().g1_mul_each(a_arr, ints_to_limbs([*weights, total]), ra)
    sum_l = _g1_sum(pvk.ic, coeffs)
    sum_c = _g1_sum(np.stack([g1_to_array(proof.c) for _, proof in items]), weights)
    extra = []
    if pvk.vk.has_lookups:
        extra = [_g1_sum(np.stack([g1_to_array(proof.d) for _, proof in items]), weights)[None]]
    g1 = np.concatenate([ra, sum_l[None], sum_c[None], *extra])
    g2 = np.concatenate([b_arr, pvk.g2])
    assert g1.shape[0] == g2.shape[0] == n + 3 + len(extra)
    return bool(kernels().pairing_product_is_one(g1, g2))


def verify_batch(vk: VerifyingKey | PreparedVerifyingKey,
                 items: list[tuple[list[int], Proof]]) -> tuple[bool, list[int]]:
    """(all valid, indices of the invalid proofs), as ``batch_verify.verify_batch``: one batch
    equation, then single verification only when it fails. Malformed proofs count as invalid."""
    from zkml.groth16.batch_verify import batch_then_single

    pvk = _as_prepared(vk)
    return batch_then_single(lambda: verify_batch_equation(pvk, items), lambda pub, proof: verify(pvk, pub, proof), items)
