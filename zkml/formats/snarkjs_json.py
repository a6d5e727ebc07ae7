"""snarkjs's JSON files: ``verification_key.json``, ``proof.json``, ``public.json``.

Numbers are decimal strings; points are projective with z = "1" (G2: ["1", "0"]). We do not
write snarkjs's optional ``vk_alphabeta_12``: its value depends on the pairing library's Miller
loop normalisation (py_ecc's differs from ffjavascript's by a fixed power) and no verifier,
snarkjs's included, reads it.
"""

from __future__ import annotations

import json
from pathlib import Path

from zkml.crypto.bn254 import R
from zkml.errors import FormatError
from zkml.formats.binfile import write_atomic_text
from zkml.groth16.data_structures import Proof, VerifyingKey


def _g1_json(p) -> list[str]:
    if p is None:
        return ["0", "1", "0"]
    return [str(p[0]), str(p[1]), "1"]


def _g2_json(p) -> list[list[str]]:
    if p is None:
        return [["0", "0"], ["1", "0"], ["0", "0"]]
    return [[str(p[0][0]), str(p[0][1])], [str(p[1][0]), str(p[1][1])], ["1", "0"]]


def vk_to_json(vk: VerifyingKey) -> dict:
    return {
        "protocol": "groth16",
        "curve": "bn128",
        "nPublic": vk.n_public,
        "vk_alpha_1": _g1_json(vk.alpha1),
        "vk_beta_2": _g2_json(vk.beta2),
        "vk_gamma_2": _g2_json(vk.gamma2),
        "vk_delta_2": _g2_json(vk.delta2),
        "IC": [_g1_json(p) for p in vk.ic],
    }


def proof_to_json(proof: Proof) -> dict:
    return {"pi_a": _g1_json(proof.a), "pi_b": _g2_json(proof.b), "pi_c": _g1_json(proof.c),
            "protocol": "groth16", "curve": "bn128"}


def write_vk(path, vk: VerifyingKey) -> None:
    write_atomic_text(path, json.dumps(vk_to_json(vk), indent=1) + "\n")


def write_proof(path, proof: Proof) -> None:
    write_atomic_text(path, json.dumps(proof_to_json(proof), indent=1) + "\n")


def write_public(path, public: list[int]) -> None:
    write_atomic_text(path, json.dumps([str(x) for x in public], indent=1) + "\n")


# --- reading ----------------------------------------------------------------------------------


def _load(path) -> object:
    try:
        return json.loads(Path(path).read_text())
    except OSError as e:
        raise FormatError(f"{path}: cannot read ({e.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise FormatError(f"{path}: not valid JSON ({e})") from None


def _int(path, field: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        raise FormatError(f"{path}: {field} must be a decimal string, got {type(v).__name__}")
    try:
        return int(v, 10) if isinstance(v, str) else v
    except ValueError:
        raise FormatError(f"{path}: {field} is not a decimal number: {v!r}") from None


def _g1(path, field: str, v):
    if not isinstance(v, list) or len(v) not in (2, 3):
        raise FormatError(f"{path}: {field} must be a G1 point [x, y, z]")
    x, y = _int(path, f"{field}[0]", v[0]), _int(path, f"{field}[1]", v[1])
    z = _int(path, f"{field}[2]", v[2]) if len(v) == 3 else 1
    if z == 0:
        return None
    if z != 1:
        raise FormatError(f"{path}: {field} has z = {z}; only affine points (z = 1) are accepted")
    return (x, y)


def _g2(path, field: str, v):
    if not isinstance(v, list) or len(v) not in (2, 3) or not all(isinstance(c, list) and len(c) == 2 for c in v):
        raise FormatError(f"{path}: {field} must be a G2 point [[x0, x1], [y0, y1], [z0, z1]]")
    x = tuple(_int(path, f"{field}[0]", c) for c in v[0])
    y = tuple(_int(path, f"{field}[1]", c) for c in v[1])
    z = tuple(_int(path, f"{field}[2]", c) for c in v[2]) if len(v) == 3 else (1, 0)
    if z == (0, 0):
        return None
    if z != (1, 0):
        raise FormatError(f"{path}: {field} has z = {z}; only affine points are accepted")
    return (x, y)


def _obj(path, data, keys: list[str]) -> dict:
    if not isinstance(data, dict):
        raise FormatError(f"{path}: expected a JSON object")
    for k in keys:
        if k not in data:
            raise FormatError(f"{path}: field {k!r} is missing")
    return data


def read_vk(path) -> VerifyingKey:
    return vk_from_json(_load(path), path)


def vk_from_json(data, path) -> VerifyingKey:
    """A verifying key from snarkjs's JSON object; `path` names where it came from in errors."""
    d = _obj(path, data, ["protocol", "vk_alpha_1", "vk_beta_2", "vk_gamma_2", "vk_delta_2", "IC"])
    if d["protocol"] != "groth16":
        raise FormatError(f"{path}: protocol is {d['protocol']!r}, not 'groth16'")
    if d.get("curve", "bn128") not in ("bn128", "bn254"):
        raise FormatError(f"{path}: curve is {d['curve']!r}; only bn128 (BN254) is supported")
    if not isinstance(d["IC"], list) or not d["IC"]:
        raise FormatError(f"{path}: IC must be a non-empty list of G1 points")
    ic = [_g1(path, f"IC[{i}]", p) for i, p in enumerate(d["IC"])]
    n_public = d.get("nPublic", len(ic) - 1)
    if n_public != len(ic) - 1:
        raise FormatError(f"{path}: nPublic is {n_public} but IC has {len(ic)} points (expected nPublic + 1)")
    return VerifyingKey(n_public=n_public, alpha1=_g1(path, "vk_alpha_1", d["vk_alpha_1"]),
                        beta2=_g2(path, "vk_beta_2", d["vk_beta_2"]),
                        gamma2=_g2(path, "vk_gamma_2", d["vk_gamma_2"]),
                        delta2=_g2(path, "vk_delta_2", d["vk_delta_2"]), ic=ic)


def read_proof(path) -> Proof:
    d = _obj(path, _load(path), ["pi_a", "pi_b", "pi_c"])
    if d.get("protocol", "groth16") != "groth16":
        raise FormatError(f"{path}: protocol is {d['protocol']!r}, not 'groth16'")
    return Proof(a=_g1(path, "pi_a", d["pi_a"]), b=_g2(path, "pi_b", d["pi_b"]), c=_g1(path, "pi_c", d["pi_c"]))


def read_public(path) -> list[int]:
    d = _load(path)
    if not isinstance(d, list):
        raise FormatError(f"{path}: expected a JSON list of decimal strings")
    return [_int(path, f"[{i}]", v) for i, v in enumerate(d)]


__all__ = ["read_proof", "read_public", "read_vk", "write_proof", "write_public", "write_vk", "R"]
