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
