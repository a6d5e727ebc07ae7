"""Proving what a values-only circuit builder computed, plain or two-round.

A plain circuit's witness is complete once built. A lookup circuit's builder holds round 1; the
prover commits to it, derives the challenge, and only then can round 2 be filled, so the
builder is handed to the prover as a ``complete(challenge)`` callback. A challenge that hits a
table row (ChallengeCollision, about size / r likely) leaves the builder as it was, so the
same builder serves the retry.
"""

from __future__ import annotations

from typing import Callable

from zkml.crypto.bn254 import ints_to_limbs
from zkml.errors import ChallengeCollision


def prove_built(pk, b, *, device: str = "cpu", what: str = "witness", rebuild: Callable | None = None):
    """(proof, public signals) for builder ``b`` (values computed, round 1 committed).
    ``rebuild()`` gives a fresh such builder if round 2 must run again."""
    from zkml.groth16.prover import prove

    round1 = ints_to_limbs(b.witness())
    if not pk.has_lookups:
        return prove(pk, round1, device=device, witness_name=what)
    spare = [b]

    def complete(c: int) -> list[int]:
        bb = spare.pop() if spare else rebuild()
        try:
            bb.round2(c)
        except ChallengeCollision:
            spare.append(bb)
            raise
        return bb.witness()

    return prove(pk, round1, device=device, witness_name=what, complete=complete)
