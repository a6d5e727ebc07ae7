"""Rank-1 constraint systems: ``<A_i, w> * <B_i, w> = <C_i, w>`` over Fr for every constraint i.

The witness ``w`` starts with the constant 1, then the public outputs, the public inputs, and
the private signals (circom's order). A lookup circuit (two-round Groth16, DESIGN "Lookups")
ends its public inputs with the challenge and its private signals with the ``n_round2`` signals
that are computed after it (LogUp inverses); every other private signal is in round 1. Matrices are sparse, stored as coordinate lists so a
compiler can emit them and an ``.r1cs`` file can be read without per-term Python objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from zkml.crypto.bn254 import R, limbs_to_ints
from zkml.errors import UnsatisfiedWitness


@dataclass
class SparseMatrix:
    """Coordinate list of one R1CS matrix: ``M[rows[k], cols[k]] = values[k]`` (ints mod r)."""

    rows: np.ndarray  # uint32, constraint index
    cols: np.ndarray  # uint32, signal index
    values: np.ndarray  # (nnz, 4) uint64 little-endian limbs, standard form, < r

    @classmethod
    def empty(cls) -> "SparseMatrix":
        return cls(np.zeros(0, np.uint32), np.zeros(0, np.uint32), np.zeros((0, 4), np.uint64))

    @property
    def nnz(self) -> int:
        return len(self.rows)

    def value_ints(self) -> list[int]:
        return limbs_to_ints(self.values)


@dataclass
class R1CS:
    n_wires: int  # signals including the constant 1 at index 0
    n_pub_out: int
    n_pub_in: int
    n_prv_in: int
    n_constraints: int
    a: SparseMatrix
    b: SparseMatrix
    c: SparseMatrix
    prime: int = R
    n_labels: int = 0
    wire_to_label: np.ndarray | None = None  # uint64 per wire, as in circom's section 3
    custom: dict = field(default_factory=dict)
    n_round2: int = 0  # signals of the second round (the last ones); 0 = a plain circuit

    @property
    def has_lookups(self) -> bool:
        return self.n_round2 > 0

    @property
    def challenge_wire(self) -> int:
        """The challenge is the last public input of a lookup circuit."""
        return self.n_public

    @property
    def n_round1(self) -> int:
        """Private signals committed in round 1 (all private ones of a plain circuit)."""
        return self.n_wires - self.n_public - 1 - self.n_round2

    @property
    def n_public(self) -> int:
        """Public signals, excluding the constant one (snarkjs's nPublic)."""
        return self.n_pub_out + self.n_pub_in

    def evaluate(self, witness: list[int]) -> tuple[list[int], list[int], list[int]]:
        """The three matrix-vector products <A_i, w>, <B_i, w>, <C_i, w> for every i, mod r."""
        out = []
        for m in (self.a, self.b, self.c):
            acc = [0] * self.n_constraints
            for row, col, v in zip(m.rows.tolist(), m.cols.tolist(), m.value_ints()):
                acc[row] += v * witness[col]
            out.append([x % R for x in acc])
        return out[0], out[1], out[2]

    def check_witness(self, witness: list[int], source: str = "witness") -> None:
        """Raise ``UnsatisfiedWitness`` naming the first constraint the witness violates."""
        if len(witness) != self.n_wires:
            raise UnsatisfiedWitness(
                f"{source}: has {len(witness)} values but the circuit has {self.n_wires} wires; "
                "was it computed for another circuit?"
            )
        if witness[0] != 1:
            raise UnsatisfiedWitness(f"{source}: signal 0 must be the constant 1, got {witness[0]}")
        for i, v in enumerate(witness):
            if not 0 <= v < R:
                raise UnsatisfiedWitness(f"{source}: signal {i} is not reduced mod r")
        av, bv, cv = self.evaluate(witness)
        for i, (x, y, z) in enumerate(zip(av, bv, cv)):
            if x * y % R != z:
                raise UnsatisfiedWitness(
                    f"{source}: does not satisfy constraint {i} of {self.n_constraints} "
                    "(A*B != C); recompute the witness for this circuit"
                )
