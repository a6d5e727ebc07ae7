"""Solidity source of a Groth16 verifier for one verifying key (template in verifier_contracts/).

Public-input accumulation is unrolled: per input one ecMul (precompile 7) of a constant IC
point and one ecAdd (precompile 6), results kept in memory; a failed precompile call makes the
proof invalid rather than reverting, so every malformed input answers false.

A lookup (two-round) key gets the same contract with the commitment D after c: the challenge
is recomputed on chain (keccak256, challenge.py's bytes) and is the scalar of the last IC point,
and D adds one pair to the single pairing call. The template's ``{{#LOOKUP}}`` blocks are kept
for lookup keys only, ``{{^LOOKUP}}`` blocks for plain keys only, so a plain key's contract is
exactly the plain verifier.
"""

from __future__ import annotations

import re
from pathlib import Path

from zkml.groth16.data_structures import VerifyingKey

TEMPLATE = Path(__file__).resolve().parent.parent.parent / "verifier_contracts" / "Groth16Verifier.sol.tmpl"


def _ic_lines(vk: VerifyingKey) -> tuple[str, str, str]:
    consts, acc = [], []
    for i, p in enumerate(vk.ic):
        x, y = p if p is not None else (0, 0)
        consts.append(f"    uint256 constant IC{i}_X = {x};\n    uint256 constant IC{i}_Y = {y};")
    for i in range(1, len(vk.ic)):
        off = 32 * (i - 1)
        scalar = "z" if i > vk.n_public else f"calldataload(add(input, {off}))"  # z: the challenge
        acc.append(
            f"            mstore(add(m, 64), IC{i}_X)\n"
            f"            mstore(add(m, 96), IC{i}_Y)\n"
            f"            mstore(add(m, 128), {scalar})\n"
            f"            valid := and(valid, staticcall(gas(), 7, add(m, 64), 96, add(m, 64), 64))\n"
            f"            valid := and(valid, staticcall(gas(), 6, m, 128, m, 64))"
        )
    batch = [f"        (ok, x, y) = _ecMul(IC{i}_X, IC{i}_Y, sx[{i - 1}]);\n"
             f"        if (!ok) return false;\n"
             f"        (ok, lx, ly) = _ecAdd(lx, ly, x, y);\n"
             f"        if (!ok) return false;" for i in range(1, len(vk.ic))]
    return "\n".join(consts), "\n".join(acc), "\n".join(batch)


def _sections(src: str, lookup: bool) -> str:
    def block(mark: str) -> str:
        return "^" + re.escape("{{" + mark + "LOOKUP}}") + r"\n(.*?)^" + re.escape("{{/LOOKUP}}") + r"\n"

    keep, drop = ("#", "^") if lookup else ("^", "#")
    src = re.sub(block(drop), "", src, flags=re.S | re.M)
    return re.sub(block(keep), r"\1", src, flags=re.S | re.M)


def _lookup_values(vk: VerifyingKey) -> dict:
    from zkml.groth16.challenge import TAG, vk_digest

    if not vk.has_lookups:
        return {"N_SCALARS": str(vk.n_public), "N_FIXED_PAIRS": "3", "ACC_LEN": "3",
                "D_ARG": "", "D_I": "", "D_LENGTH": ""}
    (rx0, rx1), (ry0, ry1) = vk.delta_round2
    return {"N_SCALARS": str(vk.n_public + 1), "N_FIXED_PAIRS": "4", "ACC_LEN": "5",
            "D_ARG": ", d", "D_I": ", d[i]", "D_LENGTH": " || d.length != a.length",
            "DELTA_ROUND_X1": str(rx1), "DELTA_ROUND_X0": str(rx0), "DELTA_ROUND_Y1": str(ry1), "DELTA_ROUND_Y0": str(ry0),
            "TAG": TAG.decode("ascii"), "VK_DIGEST": "0x" + vk_digest(vk).hex()}


def generate_solidity(vk: VerifyingKey, contract_name: str = "Groth16Verifier") -> str:
    if vk.n_public < 1:
        raise ValueError("a verifier contract needs at least one public input")
    if len(vk.ic) != vk.n_ic:
        raise ValueError(f"the verifying key has {len(vk.ic)} IC points, expected {vk.n_ic}")
    src = _sections(TEMPLATE.read_text(), vk.has_lookups)
    (bx0, bx1), (by0, by1) = vk.beta2
    (gx0, gx1), (gy0, gy1) = vk.gamma2
    (dx0, dx1), (dy0, dy1) = vk.delta2
    consts, acc, batch = _ic_lines(vk)
    values = {
        "CONTRACT_NAME": contract_name, "N_PUBLIC": str(vk.n_public),
        "ALPHA_X": str(vk.alpha1[0]), "ALPHA_Y": str(vk.alpha1[1]),
        "BETA_X1": str(bx1), "BETA_X0": str(bx0), "BETA_Y1": str(by1), "BETA_Y0": str(by0),
        "GAMMA_X1": str(gx1), "GAMMA_X0": str(gx0), "GAMMA_Y1": str(gy1), "GAMMA_Y0": str(gy0),
        "DELTA_X1": str(dx1), "DELTA_X0": str(dx0), "DELTA_Y1": str(dy1), "DELTA_Y0": str(dy0),
        "IC_CONSTANTS": consts, "IC_ACCUMULATE": acc, "IC_BATCH": batch, **_lookup_values(vk),
    }
    for k, v in values.items():
        src = src.replace("{{" + k + "}}", v)
    assert "{{" not in src, "a template placeholder was left unfilled"
    return src
