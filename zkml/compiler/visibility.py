"""The visibility vocabulary shared by the CLI, the manifest, the claim and the README:
input public | committed, weights fixed | committed, outputs public | hashed; and the warning
for a committed or hashed value with so little entropy that trying every value finds it."""

from __future__ import annotations

import numpy as np

INPUT = ("public", "committed")
WEIGHTS = ("fixed", "committed")
OUTPUTS = ("public", "hashed")
DEFAULTS = {"input": "public", "weights": "fixed", "outputs": "public"}

# Below this many bits a value can be recovered from an unsalted hash by enumeration.
FEW_BITS = 64


def value_bits(lo, hi) -> float:
    """log2 of the number of values a tensor with these elementwise bounds can take."""
    span = np.asarray(hi, dtype=object) - np.asarray(lo, dtype=object) + 1
    return float(sum(np.log2(float(max(int(s), 1))) for s in np.ravel(span)))


def entropy_warnings(c) -> list[str]:
    """One line per committed or hashed value an observer could brute-force, with what to do."""
    cfg, out = c.config, []
    if cfg.input_visibility == "committed":
        bits = c.input_bits * int(np.prod(c.input_shape))
        if bits < FEW_BITS:
            out.append(f"input '{c.input_name}' is committed but takes at most 2^{bits} values: its commitment "
                       "hides it only through the salt in the proof's .opening.json; keep that file private and "
                       "never reuse a salt")
    if cfg.public_signals == "hash":
        for (name, _, _), (lo, hi) in zip(c.outputs, c.output_bounds):
            bits = value_bits(lo, hi)
            if bits < FEW_BITS:
                out.append(f"outputs hashed: output '{name}' takes about 2^{bits:.0f} values and the hash has no "
                           "salt, so anyone can find it by trying them; a hashed output is a digest for cheap "
                           "verification, not a secret (the proof file carries the values): to hide it, "
                           "publish only the attestation")
    if cfg.weights == "committed" and c.weight_set is not None and c.weight_set.n_values() * cfg.weight_bits < FEW_BITS:
        out.append("weights committed: the model has so few weights that only the salt hides them; keep "
                   "private/weights.npz private")
    return out
