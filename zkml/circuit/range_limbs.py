"""Range checks with lookups: every check of a circuit waits until the end, then one limb width
w is chosen for all of them (as gnark's std/rangecheck does) and each becomes lookups into the
table 0 .. 2^w - 1.

A check 0 <= x < 2^bits with bits <= w looks x itself up (a linear combination: no wire, no
constraint besides the lookup); with bits < w it also looks up x * 2^(w - bits). Both are
needed: the first proves x is an integer in [0, 2^w), and only then does x * 2^(w - bits) < 2^w
mean x < 2^bits (alone, x * 2^(w - bits) in the table holds for the field elements
t / 2^(w - bits) of every row t, almost all of them huge). A wider check splits x into
ceil(bits / w) limbs of w bits, looks each limb up, and looks up the top limb shifted the same
way when bits is not a multiple of w. The limbs above the lowest are round-1 wires; the lowest
is the linear combination x - sum_(j>=1) limb_j 2^(jw), which is the recomposition constraint
substituted into its lookup (the same equations, one constraint and one wire fewer).
"""

from __future__ import annotations

import numpy as np

from zkml.circuit.builder import LC, PRIVATE, CircuitBuilder

MAX_WIDTH = 20


def lookups_per_value(bits: int, w: int) -> tuple[int, int]:
    """(lookups, extra constraints) of one range check of ``bits`` bits with limbs of w bits."""
    if bits <= w:
        return 1 + (bits < w), 0
    n_limbs = -(-bits // w)
    return n_limbs + (bits % w != 0), 0


def cost(checks: list[tuple[int, int]], w: int) -> int:
    """Constraints of all range checks ((count, bits) pairs) with width w: lookups (one
    constraint each), recompositions, table rows (one each) and the LogUp sum."""
    total = (1 << w) + 1
    for n, bits in checks:
        lk, extra = lookups_per_value(bits, w)
        total += n * (lk + extra)
    return total


def choose_width(checks: list[tuple[int, int]]) -> int:
    """The w in 1..20 that minimises ``cost`` (the smallest on ties)."""
    return min(range(1, MAX_WIDTH + 1), key=lambda w: (cost(checks, w), w))


def _scaled(lc: LC, shift: int) -> LC:
    """lc * 2^shift, with Python-int coefficients where int64 would overflow."""
    if not len(lc.coeffs) or int(np.abs(lc.coeffs).max()) < 1 << (62 - shift):
        return lc.scale(1 << shift)
    return LC(lc.rows, lc.wires, lc.coeffs.astype(object) * (1 << shift), lc.k)


def decompose(b: CircuitBuilder, table, lc: LC | None, v: np.ndarray, bits: int, w: int, where) -> None:
    """Record the lookups (and make the limbs) of one deferred check of values v < 2^bits."""
    from zkml.circuit.logup import Group

    def look(lc_: LC | None, values: np.ndarray) -> None:
        table.groups.append(Group([lc_] if b.emit else None, values.reshape(-1, 1), values.ravel(), where))

    n = len(v)
    if bits <= w:
        look(lc, v)
        if bits < w:
            look(_scaled(lc, w - bits) if b.emit else None, v << (w - bits))
        return
    n_limbs = -(-bits // w)
    limbs = (v[:, None] >> (np.arange(n_limbs, dtype=np.int64) * w)) & ((1 << w) - 1)
    wires = b.alloc(limbs[:, 1:], PRIVATE)  # (n, n_limbs - 1): the limbs above the lowest
    top_bits = bits - (n_limbs - 1) * w
    low = upper = top = None
    if b.emit:
        weights = np.tile(np.int64(1) << (np.arange(1, n_limbs, dtype=np.int64) * w), n)
        low = lc - LC(np.repeat(np.arange(n, dtype=np.int64), n_limbs - 1), wires.ravel(), weights, n)
        upper = LC.of_wires(wires.ravel())
        top = LC.of_wires(wires[:, -1]).scale(1 << (w - top_bits))
    look(low, limbs[:, 0])
    look(upper, limbs[:, 1:].ravel())
    if top_bits < w:
        look(top, limbs[:, -1] << (w - top_bits))
