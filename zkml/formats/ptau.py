"""snarkjs's powers-of-tau ``.ptau`` (version 1), phase 1 of a Groth16 setup.

Sections: 1 header (u32 n8, q, u32 power, u32 ceremonyPower); 2 tau^i G1 for i < 2^(power+1)-1;
3 tau^i G2, 4 alpha tau^i G1, 5 beta tau^i G1 (2^power each); 6 beta G2; 7 contributions;
after ``snarkjs powersoftau prepare phase2``: 12-15 the same in the Lagrange basis (tau G1,
tau G2, alpha tau G1, beta tau G1), for every domain 2^0, 2^1, ..., 2^power one after another,
so domain n starts at point n - 1. Points are affine, Montgomery, little-endian.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from zkml.crypto.bn254 import G1_GENERATOR, G2_GENERATOR, Q, R, g1_to_array, g2_to_array, ints_to_limbs
from zkml.errors import FormatError
from zkml.formats.binfile import BinFile, Reader, le, read_binfile, section_points, write_binfile

ADVICE = "get the .ptau file again (and check it with `snarkjs powersoftau verify`)"


class PtauSection(IntEnum):
    HEADER = 1
    TAU_G1 = 2
    TAU_G2 = 3
    ALPHA_TAU_G1 = 4
    BETA_TAU_G1 = 5
    BETA_G2 = 6
    CONTRIBUTIONS = 7
    LAGRANGE_TAU_G1 = 12
    LAGRANGE_TAU_G2 = 13
    LAGRANGE_ALPHA_TAU_G1 = 14
    LAGRANGE_BETA_TAU_G1 = 15


_LAGRANGE = (PtauSection.LAGRANGE_TAU_G1, PtauSection.LAGRANGE_TAU_G2,
             PtauSection.LAGRANGE_ALPHA_TAU_G1, PtauSection.LAGRANGE_BETA_TAU_G1)


@dataclass
class PowersOfTau:
    """A ``.ptau`` opened for reading; point arrays are sliced from it on demand, and every
    point handed out is checked first (canonical, on its curve, not the identity, G2 in the
    subgroup), so only the points a setup uses are paid for, however large the file."""

    path: str
    power: int
    ceremony_power: int
    file: BinFile = field(repr=False)

    @property
    def prepared(self) -> bool:
        return all(self.file.has(s) for s in _LAGRANGE)

    def _points(self, kind: PtauSection, start: int, count: int, g2: bool) -> np.ndarray:
        size = 128 if g2 else 64
        buf = self.file.section(kind, kind.name)
        if (start + count) * size > len(buf):
            raise FormatError(
                f"{self.path}: section {kind.name} holds {len(buf) // size} points, "
                f"{start + count} needed"
            )
        pts = section_points(buf[start * size : (start + count) * size], 4 if g2 else 2,
                             self.path, kind.name)
        from zkml.formats.point_checks import Points, check_points  # numba, only for points in use

        check_points(self.path, [Points(kind.name, pts, first=start, identity_ok=False)], ADVICE)
        return pts

    def tau_g1(self, count: int) -> np.ndarray:
        return self._points(PtauSection.TAU_G1, 0, count, False)

    def tau_g2(self, count: int) -> np.ndarray:
        return self._points(PtauSection.TAU_G2, 0, count, True)

    def alpha_tau_g1(self, count: int) -> np.ndarray:
        return self._points(PtauSection.ALPHA_TAU_G1, 0, count, False)

    def beta_tau_g1(self, count: int) -> np.ndarray:
        return self._points(PtauSection.BETA_TAU_G1, 0, count, False)

    def beta_g2(self) -> np.ndarray:
        return self._points(PtauSection.BETA_G2, 0, 1, True)[0]

    def _lagrange(self, kind: PtauSection, n: int, g2: bool) -> np.ndarray:
        if not self.prepared:
            raise FormatError(
                f"{self.path}: has no Lagrange sections; run `snarkjs powersoftau prepare phase2` "
                "on it first (or use `zkml groth16 ptau-new` for a development file)"
            )
        if n > 1 << self.power:
            raise FormatError(f"{self.path}: domain {n} is larger than 2^{self.power}")
        return self._points(kind, n - 1, n, g2)

    def lagrange_g1(self, n: int) -> np.ndarray:
        return self._lagrange(PtauSection.LAGRANGE_TAU_G1, n, False)

    def lagrange_g2(self, n: int) -> np.ndarray:
        return self._lagrange(PtauSection.LAGRANGE_TAU_G2, n, True)

    def lagrange_alpha_g1(self, n: int) -> np.ndarray:
        return self._lagrange(PtauSection.LAGRANGE_ALPHA_TAU_G1, n, False)

    def lagrange_beta_g1(self, n: int) -> np.ndarray:
        return self._lagrange(PtauSection.LAGRANGE_BETA_TAU_G1, n, False)


def read_ptau(path) -> PowersOfTau:
    f = read_binfile(path, b"ptau", (1,))
    h = Reader(f.section(PtauSection.HEADER, "header"), f.path, "header")
    h.field(Q, "the field prime q")
    power, ceremony_power = h.u32(), h.u32()
    if not 0 < power <= 28:
        raise FormatError(f"{f.path}: power {power} is outside 1..28")
    expected = {PtauSection.TAU_G1: (2 << power) - 1, PtauSection.TAU_G2: 1 << power,
                PtauSection.ALPHA_TAU_G1: 1 << power, PtauSection.BETA_TAU_G1: 1 << power,
                PtauSection.BETA_G2: 1}
    for kind, count in expected.items():
        size = 128 if kind in (PtauSection.TAU_G2, PtauSection.BETA_G2) else 64
        got = len(f.section(kind, kind.name))
        if got != count * size:
            raise FormatError(f"{f.path}: section {kind.name} has {got} bytes, expected {count * size} for power {power}")
    return PowersOfTau(f.path, power, ceremony_power, f)


def dev_ptau_sections(power: int, tau: int, alpha: int, beta: int) -> list[tuple[int, bytes]]:
    """The sections of a prepared ``.ptau`` for known secrets (development use only)."""
    from zkml.engines.cpu import batch
    from zkml.groth16.setup import lagrange_at

    g1, g2 = g1_to_array(G1_GENERATOR), g2_to_array(G2_GENERATOR)

    def powers(x: int, count: int, scale: int = 1) -> list[int]:
        out, acc = [], scale % R
        for _ in range(count):
            out.append(acc)
            acc = acc * x % R
        return out

    def g1s(scalars):
        return batch.fixed_base_mul("g1", g1, ints_to_limbs(scalars)).astype("<u8").tobytes()

    def g2s(scalars):
        return batch.fixed_base_mul("g2", g2, ints_to_limbs(scalars)).astype("<u8").tobytes()

    n = 1 << power
    lag = [x for p in range(power + 1) for x in lagrange_at(tau, 1 << p)]
    header = struct.pack("<I", 32) + le(Q) + struct.pack("<II", power, power)
    return [
        (PtauSection.HEADER, header),
        (PtauSection.TAU_G1, g1s(powers(tau, 2 * n - 1))),
        (PtauSection.TAU_G2, g2s(powers(tau, n))),
        (PtauSection.ALPHA_TAU_G1, g1s(powers(tau, n, alpha))),
        (PtauSection.BETA_TAU_G1, g1s(powers(tau, n, beta))),
        (PtauSection.BETA_G2, g2s([beta])),
        (PtauSection.CONTRIBUTIONS, struct.pack("<I", 0)),
        (PtauSection.LAGRANGE_TAU_G1, g1s(lag)),
        (PtauSection.LAGRANGE_TAU_G2, g2s(lag)),
        (PtauSection.LAGRANGE_ALPHA_TAU_G1, g1s([alpha * x % R for x in lag])),
        (PtauSection.LAGRANGE_BETA_TAU_G1, g1s([beta * x % R for x in lag])),
    ]


def write_dev_ptau(path, power: int, tau: int, alpha: int, beta: int) -> None:
    write_binfile(path, b"ptau", 1, dev_ptau_sections(power, tau, alpha, beta))
