"""Groth16 keys and proofs as numbers and points, shared by the prover engines and the files.

Proving-key points are kept exactly as snarkjs lays them out in a ``.zkey`` (affine, Montgomery
form, little-endian uint64 limbs, zero = identity) so reading a zkey is one ``frombuffer`` and
the engines work on the same arrays. Verifying keys and proofs use ints (see crypto.bn254).

Lookup circuits use two-round Groth16 (DESIGN "Lookups"): the private signals of round 1 are
committed in D over their own delta (delta_round), the rest over delta (delta_final); the
challenge is the circuit's last public input, computed by every verifier (challenge.py), never
supplied by the prover, so a lookup key's IC has one point more than its ``n_public``.
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
    delta2: tuple  # delta_final for a lookup key
    ic: list  # n_public + 1 G1 points (+ 1 for the challenge of a lookup key)
    delta_round2: tuple | None = None  # G2; set for a lookup (two-round) key

    @property
    def has_lookups(self) -> bool:
        return self.delta_round2 is not None

    @property
    def n_ic(self) -> int:
        """IC points the key must have: one per public signal, the constant, the challenge."""
        return self.n_public + 1 + (1 if self.has_lookups else 0)


@dataclass
class Proof:
    a: tuple  # G1
    b: tuple  # G2
    c: tuple  # G1
    d: tuple | None = None  # G1: the round-1 commitment of a lookup proof


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
    # two-round (lookup) keys: the last n_round2 signals are round 2; c's first n_round1 points
    # are over delta_round, the rest (and h) over delta (= delta_final)
    n_round2: int = 0
    delta_round1: np.ndarray | None = None  # (2, 4)
    delta_round2: np.ndarray | None = None  # (2, 2, 4)
    round_contributions: list[Contribution] = field(default_factory=list)

    @property
    def has_lookups(self) -> bool:
        return self.delta_round1 is not None

    @property
    def n_round1(self) -> int:
        """Private signals committed in D (none for a plain key)."""
        return self.n_vars - self.n_public - 1 - self.n_round2 if self.has_lookups else 0

    def verifying_key(self) -> VerifyingKey:
        from zkml.crypto.bn254 import g1_from_array, g2_from_array

        return VerifyingKey(
            n_public=self.n_public - (1 if self.has_lookups else 0),
            alpha1=g1_from_array(self.alpha1),
            beta2=g2_from_array(self.beta2),
            gamma2=g2_from_array(self.gamma2),
            delta2=g2_from_array(self.delta2),
            ic=[g1_from_array(p) for p in self.ic],
            delta_round2=g2_from_array(self.delta_round2) if self.has_lookups else None,
        )
