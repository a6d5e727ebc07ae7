"""Groth16 keys and proofs as numbers and points, shared by the prover engines and the files.

Proving-key points are kept exactly as snarkjs lays them out in a ``.zkey`` (affine, Montgomery
form, little-endian uint64 limbs, zero = identity) so reading a zkey is one ``frombuffer`` and
the engines work on the same arrays. Verifying keys and proofs use ints (see crypto.bn254).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class VerifyingKey:
    n_public: int
    alpha1: tuple
    beta2: tuple
    gamma2: tuple
    delta2: tuple
    ic: list  # n_public + 1 G1 points


@dataclass
class Proof:
    a: tuple  # G1
    b: tuple  # G2
    c: tuple  # G1


@dataclass
class Contribution:
    """One phase-2 contribution as snarkjs records it in zkey section 10."""

    delta_after: tuple  # G1 point: delta after this contribution
    g1_s: tuple  # G1: the contribution's proof-of-knowledge base s
    g1_sx: tuple  # G1: s * x
    g2_spx: tuple  # G2: hash-to-curve point s' * x
    transcript: bytes  # 64-byte blake2b transcript
    type: int = 0
    params: dict = field(default_factory=dict)


@dataclass
class ProvingKey:
    """Everything ``prove`` needs, in zkey layout; ``coeffs`` are the A and B matrices."""

    n_vars: int  # signals including the constant 1
    n_public: int  # public signals, excluding the constant 1
    domain_size: int  # power of two >= n_constraints + n_public + 1
    alpha1: np.ndarray  # (2, 4)
    beta1: np.ndarray  # (2, 4)
    beta2: np.ndarray  # (2, 2, 4)
    gamma2: np.ndarray  # (2, 2, 4)
    delta1: np.ndarray  # (2, 4)
    delta2: np.ndarray  # (2, 2, 4)
    ic: np.ndarray  # (n_public + 1, 2, 4)
    # A and B matrices including the public-input rows snarkjs adds (A[n_cons + i][i] = 1).
    coef_matrix: np.ndarray  # uint32, 0 = A, 1 = B
    coef_constraint: np.ndarray  # uint32
    coef_signal: np.ndarray  # uint32
    coef_value: np.ndarray  # (n_coefs, 4) uint64, standard form (not as stored in the file)
    a: np.ndarray  # (n_vars, 2, 4)
    b1: np.ndarray  # (n_vars, 2, 4)
    b2: np.ndarray  # (n_vars, 2, 2, 4)
    c: np.ndarray  # (n_vars - n_public - 1, 2, 4): private signals only
    h: np.ndarray  # (domain_size, 2, 4)
    contributions: list[Contribution] = field(default_factory=list)
    csh: bytes = b"\x00" * 64  # circuit hash (blake2b-512) for the contributions section

    def verifying_key(self) -> VerifyingKey:
        from zkml.crypto.bn254 import g1_from_array, g2_from_array

        return VerifyingKey(
            n_public=self.n_public,
            alpha1=g1_from_array(self.alpha1),
            beta2=g2_from_array(self.beta2),
            gamma2=g2_from_array(self.gamma2),
            delta2=g2_from_array(self.delta2),
            ic=[g1_from_array(p) for p in self.ic],
        )
