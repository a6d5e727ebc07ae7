"""Which Groth16 verifier a command uses: the engine's pairing (fast, the default) or py_ecc's
(``--reference``, the independent check that never touches the engines).

Both have one contract (same checks, same ``MalformedProof`` messages, same answer); the
tests run both on every valid and invalid proof. The choice is made once per process by the
CLI, so the stages that verify (claims, attestations, audit, the prover's self-check) call
``verify`` and ``verify_batch`` here without threading a flag through every signature.
"""

from __future__ import annotations

ENGINE, REFERENCE = "engine", "py_ecc"
_choice = ENGINE


def select(name: str) -> None:
    """Use ``"engine"`` or ``"py_ecc"`` for every later verification in this process."""
    global _choice
    if name not in (ENGINE, REFERENCE):
        raise ValueError(f"unknown verifier {name!r}")
    _choice = name


def selected() -> str:
    return _choice


def verify(vk, public: list[int], proof) -> bool:
    if _choice == REFERENCE:
        from zkml.groth16.verifier import verify as reference_verify

        return reference_verify(vk, public, proof)
    from zkml.groth16.fast_verify import verify as engine_verify

    return engine_verify(vk, public, proof)


def verify_batch(vk, items) -> tuple[bool, list[int]]:
    """(all valid, indices of the invalid proofs): n + 3 pairings, then single checks on failure."""
    if _choice == REFERENCE:
        from zkml.groth16.batch_verify import verify_batch as reference_batch

        return reference_batch(vk, items)
    from zkml.groth16.fast_verify import verify_batch as engine_batch

    return engine_batch(vk, items)
