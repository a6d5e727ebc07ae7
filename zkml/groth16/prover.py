"""Prover front end: checks the witness against the key (and the R1CS when given), picks an
engine, and never hands out a proof that does not verify."""

from __future__ import annotations

import numpy as np

from zkml.errors import UnsatisfiedWitness, ZkmlError
from zkml.groth16.data_structures import Proof, ProvingKey
from zkml.r1cs import R1CS

DEVICES = ("cpu", "gpu", "auto")


def engine_prove(device: str = "cpu"):
    """The ``prove`` function of the engine for ``device``: ``gpu`` insists on a usable GPU
    (or the CUDA simulator), ``auto`` takes a real GPU when there is one and says so when not."""
    import sys

    if device not in DEVICES:
        raise ZkmlError(f"--device {device}: choose one of {', '.join(DEVICES)}")
    if device in ("gpu", "auto"):
        from zkml.engines import gpu

        usable, what = gpu.status()
        if usable and (device == "gpu" or not gpu.simulated()):
            if gpu.simulated():
                print(f"note: proving in {what}", file=sys.stderr)
            from zkml.engines.gpu.prover import prove

            return prove
        if device == "gpu":
            raise ZkmlError(f"--device gpu: {what}; or use --device cpu")
        print(f"note: no usable GPU ({what}); proving on the CPU", file=sys.stderr)
    from zkml.engines.cpu.prover import prove

    return prove


def prove(pk: ProvingKey, witness: np.ndarray, *, r1cs: R1CS | None = None,
          device: str = "cpu", witness_name: str = "witness", check: bool = True,
          r: int | None = None, s: int | None = None) -> tuple[Proof, list[int]]:
    """A proof and its public signals; raises ``UnsatisfiedWitness`` for a bad witness."""
    from zkml.crypto.bn254 import limbs_to_ints

    if witness.shape[0] != pk.n_vars:
        raise ZkmlError(
            f"{witness_name}: has {witness.shape[0]} signals but the proving key expects "
            f"{pk.n_vars}; the witness and the zkey are for different circuits"
        )
    values = None
    if r1cs is not None:
        values = limbs_to_ints(witness)
        r1cs.check_witness(values, witness_name)
    proof = engine_prove(device)(pk, witness, r=r, s=s)
    public = limbs_to_ints(witness[1 : pk.n_public + 1])
    if check:
        from zkml.groth16.verifying import verify

        if not verify(pk.verifying_key(), public, proof):
            raise UnsatisfiedWitness(
                f"{witness_name}: does not satisfy the circuit of this proving key (the proof "
                "does not verify); pass the .r1cs to name the failing constraint"
            )
    return proof, public
