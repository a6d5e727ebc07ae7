"""Prover front end: checks the witness against the key (and the R1CS when given), picks an
engine, and never hands out a proof that does not verify.

A lookup key is proved in two rounds: the engine commits to the round-1 signals (D), the
challenge is hashed from the key, the public signals and D (challenge.py), and ``complete(c)``
(the circuit's witness program) fills the second round before the engine finishes the proof."""

from __future__ import annotations

import numpy as np

from zkml.errors import ChallengeCollision, UnsatisfiedWitness, ZkmlError
from zkml.groth16.data_structures import Proof, ProvingKey
from zkml.r1cs import R1CS

DEVICES = ("cpu", "gpu", "auto")


def engine(device: str = "cpu"):
    """The prover module of the engine for ``device`` (``prove``, and ``commit`` for lookup
    keys): ``gpu`` insists on a usable GPU (or the CUDA simulator), ``auto`` takes a real GPU
    when there is one and says so when not."""
    import sys

    if device not in DEVICES:
        raise ZkmlError(f"--device {device}: choose one of {', '.join(DEVICES)}")
    if device in ("gpu", "auto"):
        from zkml.engines import gpu

        usable, what = gpu.status()
        if usable and (device == "gpu" or not gpu.simulated()):
            if gpu.simulated():
                print(f"note: proving in {what}", file=sys.stderr)
            from zkml.engines.gpu import prover as gpu_prover

            return gpu_prover
        if device == "gpu":
            raise ZkmlError(f"--device gpu: {what}; or use --device cpu")
        print(f"note: no usable GPU ({what}); proving on the CPU", file=sys.stderr)
    from zkml.engines.cpu import prover as cpu_prover

    return cpu_prover


COLLISION_RETRIES = 8


def prove(pk: ProvingKey, witness: np.ndarray, *, r1cs: R1CS | None = None,
          device: str = "cpu", witness_name: str = "witness", check: bool = True,
          r: int | None = None, s: int | None = None, complete=None,
          rho: int | None = None) -> tuple[Proof, list[int]]:
    """A proof and its public signals; raises ``UnsatisfiedWitness`` for a bad witness.

    For a lookup key, ``witness`` holds round 1 (the public signals and the round-1 private
    ones; the challenge and round 2 may be zero) and ``complete(challenge)`` returns the whole
    witness (limbs or ints). The public signals returned are the claim's, without the challenge."""
    from zkml.crypto.bn254 import R, ints_to_limbs, limbs_to_ints

    n_round1_rows = pk.n_public + 1 + pk.n_round1
    if witness.shape[0] != pk.n_vars and not (pk.has_lookups and witness.shape[0] == n_round1_rows):
        raise ZkmlError(
            f"{witness_name}: has {witness.shape[0]} signals but the proving key expects "
            f"{pk.n_vars}; the witness and the zkey are for different circuits"
        )
    eng = engine(device)
    n_claim = pk.n_public - (1 if pk.has_lookups else 0)
    public = limbs_to_ints(witness[1 : n_claim + 1])
    extra = {}
    if pk.has_lookups:
        if complete is None:
            raise ZkmlError(f"{witness_name}: this key is for a lookup circuit, whose second round depends on "
                            "a challenge drawn while proving; prove it from its bundle (zkml prove)")
        if not hasattr(eng, "commit"):
            raise ZkmlError("this engine cannot prove lookup circuits yet; use --device cpu")
        import secrets

        from zkml.groth16.challenge import challenge, vk_digest

        vk = pk.verifying_key()
        digest = vk_digest(vk)
        for attempt in range(COLLISION_RETRIES):
            rho_now = secrets.randbelow(R) if rho is None or attempt else rho % R
            d = eng.commit(pk, witness, rho_now)
            c = challenge(vk, public, d, digest)
            try:
                full = complete(c)
                break
            except ChallengeCollision:
                continue
        else:
            raise ZkmlError(f"{witness_name}: {COLLISION_RETRIES} challenges in a row hit a looked-up value; "
                            "the circuit's tables cover too much of the field")
        witness = full if isinstance(full, np.ndarray) else ints_to_limbs(full)
        if witness.shape[0] != pk.n_vars:
            raise ZkmlError(f"{witness_name}: the completed witness has {witness.shape[0]} signals, "
                            f"the proving key expects {pk.n_vars}")
        extra = {"rho": rho_now, "d": d}
    if r1cs is not None:
        r1cs.check_witness(limbs_to_ints(witness), witness_name)
    proof = eng.prove(pk, witness, r=r, s=s, **extra)
    if check:
        from zkml.groth16.verifying import verify

        if not verify(pk.verifying_key(), public, proof):
            raise UnsatisfiedWitness(
                f"{witness_name}: does not satisfy the circuit of this proving key (the proof "
                "does not verify); pass the .r1cs to name the failing constraint"
            )
    return proof, public
