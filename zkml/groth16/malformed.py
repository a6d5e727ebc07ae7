"""Malformed proofs and keys: the error both verifiers raise and the G1 point check they share,
apart from py_ecc so the engine's verifier (zkml.groth16.fast_verify) does not import it."""

from __future__ import annotations

from zkml.crypto.bn254 import Q
from zkml.errors import FormatError


class MalformedProof(FormatError):
    """The proof, key or public inputs are not well-formed (not merely wrong)."""


def _check_g1(name: str, p) -> None:
    if p is None:
        return
    x, y = p
    for c in (x, y):
        if not 0 <= c < Q:
            raise MalformedProof(f"{name}: coordinate {c} is not below the field modulus q")
    if (y * y - x * x * x - 3) % Q:
        raise MalformedProof(f"{name}: point is not on the curve y^2 = x^3 + 3")


def check_rounds(vk, proof) -> None:
    """A lookup key's proofs carry D and a plain key's do not: anything else is malformed (a
    plain proof offered to a lookup key would skip the lookup argument altogether)."""
    if vk.has_lookups and getattr(proof, "d", None) is None:
        raise MalformedProof("proof has no D (pi_d), but the verifying key is for a lookup circuit")
    if not vk.has_lookups and getattr(proof, "d", None) is not None:
        raise MalformedProof("proof carries D (pi_d), but the verifying key is for a plain Groth16 circuit")


def check_ic_count(vk) -> None:
    if len(vk.ic) != vk.n_ic:
        raise MalformedProof(f"vk: IC has {len(vk.ic)} points, expected {vk.n_ic}")


def public_with_challenge(vk, public: list[int], proof) -> list[int]:
    """The scalars of IC[1:]: the claim's public signals, and a lookup key's challenge."""
    if not vk.has_lookups:
        return list(public)
    from zkml.groth16.challenge import challenge

    return [*public, challenge(vk, public, proof.d)]
