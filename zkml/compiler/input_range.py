"""Each input feature's calibrated range, recorded at compile time and enforced when proving an
inference: a guard against inputs unlike anything the fixed-point scales were chosen from.

It is the prover's refusal, not a proved statement: the circuit itself range-checks only the
input's power-of-two envelope (``input.bits``), which is what keeps every value from wrapping.

Granularity: one range per element of the input tensor (a feature vector, a short sequence);
for image-like inputs (rank 4 or more, ONNX's NCHW), or more than ``MAX_ELEMENTS`` elements,
one range per channel (axis 1): a pixel position has no range of its own worth enforcing.
Feature i is accepted when min_i - m * w_i <= x_i <= max_i + m * w_i, w_i = max_i - min_i,
m the margin (a fraction of the range, 1.0 by default: small calibration sets rarely span a test set). A feature constant on the calibration
data accepts only that value. Fewer than ``MIN_SAMPLES`` calibration samples record no range
(a range from so few samples would refuse most real inputs); the envelope check remains.
"""

from __future__ import annotations

import math

import numpy as np

from zkml.errors import ZkmlError

DEFAULT_MARGIN = 1.0
MIN_SAMPLES = 10
MAX_ELEMENTS = 1 << 16


def calibrated_range(samples: np.ndarray, margin: float = DEFAULT_MARGIN) -> dict | None:
    """The manifest's ``input.range`` for ``samples`` of shape (N, *input shape), or None when
    there are too few samples to speak of a range."""
    samples = np.asarray(samples, np.float64)
    if len(samples) < MIN_SAMPLES:
        return None
    if not (margin >= 0 and math.isfinite(margin)):
        raise ZkmlError(f"--input-margin {margin}: must be a non-negative number (a fraction of each feature's range)")
    shape = samples.shape[1:]
    if len(shape) >= 4 or (len(shape) >= 2 and math.prod(shape) > MAX_ELEMENTS):
        per = "channel"
        flat = np.moveaxis(samples, 2, 0).reshape(shape[1], -1)  # channel = axis 1 of the input
        lo, hi = flat.min(axis=1), flat.max(axis=1)
    else:
        per = "element"
        flat = samples.reshape(len(samples), -1)
        lo, hi = flat.min(axis=0), flat.max(axis=0)
    return {"per": per, "min": lo.tolist(), "max": hi.tolist(), "margin": float(margin), "samples": len(samples)}


def size_for(shape, per: str) -> int:
    """How many (min, max) pairs a range of granularity ``per`` has for an input of ``shape``."""
    return int(shape[1]) if per == "channel" else math.prod(shape)


def check_input_range(rng: dict | None, x: np.ndarray, where: str, shape=None) -> None:
    """Refuse ``x`` (finite, in the input's shape) when an element lies outside its calibrated
    range widened by the margin; the message names the feature and its range."""
    if not rng:
        return
    x = np.asarray(x, np.float64)
    if shape is not None:
        x = x.reshape(tuple(shape))
    lo, hi, m = np.asarray(rng["min"], np.float64), np.asarray(rng["max"], np.float64), float(rng["margin"])
    w = (hi - lo) * m
    if rng.get("per") == "channel":
        idx = np.arange(x.shape[1]).reshape((1, -1) + (1,) * (x.ndim - 2))
        chan = np.broadcast_to(idx, x.shape).ravel()
        flat = x.ravel()
    else:
        chan = np.arange(x.size)
        flat = x.ravel()
    frac = np.flatnonzero(flat != np.round(flat)) if rng.get("token_ids") else ()
    if len(frac):
        raise ZkmlError(f"{where}: token id {flat[frac[0]]:.6g} at position {int(frac[0])} is not an integer")
    bad = np.flatnonzero((flat < (lo - w)[chan]) | (flat > (hi + w)[chan]))
    if not bad.size:
        return
    i = int(bad[0])
    c = int(chan[i])
    more = f" ({bad.size} values are outside)" if bad.size > 1 else ""
    span = f"[{lo[c]:.6g}, {hi[c]:.6g}] (margin {m * 100:g}%)"
    if rng.get("token_ids"):  # a token-id input (zkml/compiler/token_ids.py): the range is the embedding table
        raise ZkmlError(f"{where}: token id {flat[i]:.6g} at position {i} is outside the embedding table's "
                        f"{int(rng['token_ids'])} rows (ids 0..{int(rng['token_ids']) - 1}){more}")
    if rng.get("per") == "channel":
        at = tuple(int(k) for k in np.unravel_index(i, x.shape))
        what = f"element {at} = {flat[i]:.6g} is outside channel {c}'s calibrated range {span}"
    else:
        what = f"feature {i} = {flat[i]:.6g} is outside its calibrated range {span}"
    raise ZkmlError(f"{where}: {what}{more}; recompile with calibration data that covers it "
                    "(or a larger --input-margin)")
