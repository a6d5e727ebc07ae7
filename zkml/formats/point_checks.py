"""Checks on the curve points a key file supplies, before anything computes with them.

Points arrive as zkey/ptau arrays: affine, Montgomery form, four little-endian uint64 limbs per
coordinate, all zeros for the identity. Every point is checked for canonical coordinates (< q)
and for lying on its curve (G1: y^2 = x^3 + 3, which suffices since G1 has cofactor 1; G2:
the twist y^2 = x^3 + 3/(9+u)); G2 points are also checked to be in the order-r subgroup,
with the test of El Housni, Guillevic and Piellard (eprint 2022/348, sec. 3 and 5.1, as
gnark-crypto does it): P is in G2 iff [x0+1]P + psi([x0]P) + psi^2([x0]P) = psi^3([2x0]P),
where x0 is the BN parameter and psi the untwist-Frobenius-twist endomorphism. That costs a
63-bit scalar multiplication instead of a 254-bit one by r.

The kernels are zkml/engines/cpu/point_kernels.py's. The on-curve checks run every time (milliseconds for 2^16-point keys); the subgroup check is
done once per content of each run of points (a section, the header's points) and remembered in
this machine's cache (``check_cache``), so a phase-2 contribution, which leaves B2 alone, costs
no second check of B2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zkml.engines.cpu import threads
from zkml.engines.cpu.native import kernels
from zkml.errors import FormatError
from zkml.formats import check_cache

OK, NOT_CANONICAL, OFF_CURVE, IDENTITY = 0, 1, 2, 3  # the kernels' status codes
SUBGROUP_CHECK = "g2-subgroup/eprint-2022-348/v1"


# --- checking groups of points with errors that name the file, section and point -------------


@dataclass
class Points:
    """One run of points from a file: a section (or part of one) or named header points."""

    section: str  # as the format calls it, e.g. "POINTS_B2"
    array: np.ndarray  # (n, 2, 4) for G1, (n, 2, 2, 4) for G2
    names: tuple[str, ...] | None = None  # labels of the points; default "point <first + i>"
    first: int = 0  # index in the section of array[0]
    identity_ok: bool = True

    @property
    def g2(self) -> bool:
        return self.array.ndim == 4

    def label(self, i: int) -> str:
        return self.names[i] if self.names else f"point {self.first + i}"


_WHAT = {
    NOT_CANONICAL: "has a coordinate that is not below the field modulus q",
    OFF_CURVE: "is not on the curve",
    IDENTITY: "is the point at infinity, which is not allowed there",
}


def _fail(path, group: Points, i: int, what: str, advice: str):
    raise FormatError(f"{path}: section {group.section}, {group.label(i)} {what} (corrupt file); {advice}")


def g2_subgroup_failures(pts: np.ndarray) -> np.ndarray:
    """Indices of the points of an on-curve (n, 2, 2, 4) array that are outside G2."""
    out = np.zeros(len(pts), np.uint8)
    if len(pts):
        threads.run_ranges(kernels().g2_subgroup_status_range, len(pts), np.ascontiguousarray(pts, np.uint64), out,
                           min_chunk=64)
    return np.flatnonzero(out)


def check_points(path, groups: list[Points], advice: str) -> None:
    """Refuse the first bad point of ``groups`` with a one-line error naming file, section
    and point; G2 subgroup membership is looked up in, and recorded to, this machine's cache."""
    for g in groups:
        if not len(g.array):
            continue
        pts = np.ascontiguousarray(g.array, np.uint64)
        status = np.empty(len(pts), np.uint8)
        (kernels().g2_status if g.g2 else kernels().g1_status)(pts, status)
        if g.identity_ok:
            status[status == IDENTITY] = OK
        bad = np.flatnonzero(status)
        if len(bad):
            i = int(bad[0])
            _fail(path, g, i, _WHAT[int(status[i])], advice)
    for g in groups:  # one record per run of points: a contribution leaves B2's record valid
        if not (g.g2 and len(g.array)):
            continue
        pts = np.ascontiguousarray(g.array, "<u8")
        record = check_cache.digest(SUBGROUP_CHECK, [memoryview(pts).cast("B")])
        if check_cache.passed(record):
            continue
        bad = g2_subgroup_failures(pts)
        if len(bad):
            _fail(path, g, int(bad[0]), "is not in the order-r subgroup of G2", advice)
        check_cache.remember(record)
