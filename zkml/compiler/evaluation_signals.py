"""The public signals of an evaluation circuit, written once for the circuit and its verifiers.

An evaluation over N samples and C classes publishes, in circom order (outputs, then inputs):

    counts      packed outputs: (TP_c, FN_c, FP_c) for c = 0..C-1, each in ``count_width(N)`` bits
    [index]     a chunk's position in the test set's Merkle tree (chunk proofs only)
    N           the number of samples
    thresholds  packed inputs: (K, K_0 .. K_{C-1}) in the same width: at least K right overall,
                at least K_c true positives of class c
    commitment  Poseidon commitment to (index, inputs, one-hot labels, salt)
    [weights]   --weights committed: the weights commitment (zkml/compiler/committed_weights.py)

so ten classes and N = 540 take 2 + 1 + 1 + 1 signals instead of 31 + 11 + 2. The overall count
is sum_c TP_c. Packing is sound because every count is a sum of N products of bits (so it lies
in [0, N]) and every threshold is range-checked to the width inside the circuit
(DESIGN.md, "Public signals: few and packed").
"""

from __future__ import annotations

import numpy as np

from zkml.circuit.packing import layout, pack_values


def count_width(n: int) -> int:
    """Bits of a count in [0, n]."""
    return max(1, int(n).bit_length())


def _widths(n_values: int, n: int) -> np.ndarray:
    return np.full(n_values, count_width(n), np.int64)


def pack_counts(tp, fn, fp, n: int) -> list[int]:
    """The packed count elements for per-class (TP, FN, FP) over n samples."""
    vals = [v for c in range(len(tp)) for v in (int(tp[c]), int(fn[c]), int(fp[c]))]
    return pack_values(vals, [0] * len(vals), _widths(len(vals), n))


def pack_thresholds(k: int, class_k, n: int) -> list[int]:
    vals = [int(k)] + [int(v) for v in class_k]
    return pack_values(vals, [0] * len(vals), _widths(len(vals), n))


def n_count_elements(n_classes: int, n: int) -> int:
    return len(layout(_widths(3 * n_classes, n)))


def n_threshold_elements(n_classes: int, n: int) -> int:
    return len(layout(_widths(n_classes + 1, n)))


def unpack_counts(elements: list[int], n_classes: int, n: int) -> tuple[list[int], list[int], list[int]] | None:
    """(tp, fn, fp) from packed elements, or None when they are no packing of counts of that width."""
    ws = _widths(3 * n_classes, n)
    groups = layout(ws)
    if len(elements) != len(groups):
        return None
    w = count_width(n)
    vals = [0] * (3 * n_classes)
    for group, e in zip(groups, elements):
        for i, off in group:
            vals[i] = (int(e) >> off) & ((1 << w) - 1)
        if sum(vals[i] << off for i, off in group) != int(e):  # bits above the last value
            return None
    return vals[0::3], vals[1::3], vals[2::3]


def public_signals(tp, fn, fp, k: int, class_k, n: int, commitment: int, chunk_index: int | None = None,
                   weights_commitment: int | None = None) -> list[int]:
    """The evaluation circuit's public signals for these counts and thresholds."""
    index = [] if chunk_index is None else [int(chunk_index)]
    weights = [] if weights_commitment is None else [int(weights_commitment)]
    return pack_counts(tp, fn, fp, n) + index + [int(n)] + pack_thresholds(k, class_k, n) + [int(commitment)] + weights
