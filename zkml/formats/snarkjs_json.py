"""snarkjs's JSON files: ``verification_key.json``, ``proof.json``, ``public.json``.

Numbers are decimal strings; points are projective with z = "1" (G2: ["1", "0"]). We do not
write snarkjs's optional ``vk_alphabeta_12``: its value depends on the pairing library's Miller
loop normalisation (py_ecc's differs from ffjavascript's by a fixed power) and no verifier,
snarkjs's included, reads it.

Lookup (two-round) keys and proofs are ours: protocol ``groth16-lookup``; the key adds
``vk_delta_round_2`` and ``challenge`` (how the challenge is hashed, with the key's digest, which
a reader recomputes and compares), its IC one point more than ``nPublic`` + 1 (the challenge's);
the proof adds ``pi_d``. public.json holds the claim's signals only: verifiers compute the
challenge themselves.
"""

from __future__ import annotations

import json

from zkml.crypto.bn254 import Q, R
from zkml.errors import FormatError
from zkml.formats.binfile import write_atomic_text
from zkml.formats.jsonfile import decimal, read_json, type_name
from zkml.groth16.data_structures import Proof, VerifyingKey
from zkml.groth16.malformed import MalformedProof


def check_vk(vk: VerifyingKey) -> None:
    """The selected verifier's key checks (zkml.groth16.verifying): the engine's by default,
    py_ecc's under --reference, so the reference path never touches the engine."""
    from zkml.groth16 import verifying

    if verifying.selected() == verifying.REFERENCE:
        from zkml.groth16.verifier import check_vk as chosen
    else:
        from zkml.groth16.fast_verify import check_vk as chosen
    chosen(vk)


def check_proof(proof: Proof) -> None:
    from zkml.groth16 import verifying

    if verifying.selected() == verifying.REFERENCE:
        from zkml.groth16.verifier import check_proof as chosen
    else:
        from zkml.groth16.fast_verify import check_proof as chosen
    chosen(proof)


def _g1_json(p) -> list[str]:
    if p is None:
        return ["0", "1", "0"]
    return [str(p[0]), str(p[1]), "1"]


def _g2_json(p) -> list[list[str]]:
    if p is None:
        return [["0", "0"], ["1", "0"], ["0", "0"]]
    return [[str(p[0][0]), str(p[0][1])], [str(p[1][0]), str(p[1][1])], ["1", "0"]]


LOOKUP_PROTOCOL = "groth16-lookup"


def _challenge_json(vk: VerifyingKey) -> dict:
    from zkml.groth16.challenge import TAG, VK_TAG, vk_digest

    return {"hash": "keccak256", "tag": TAG.decode(), "vk_tag": VK_TAG.decode(),
            "vk_digest": "0x" + vk_digest(vk).hex()}


def vk_to_json(vk: VerifyingKey) -> dict:
    out = {
        "protocol": LOOKUP_PROTOCOL if vk.has_lookups else "groth16",
        "curve": "bn128",
        "nPublic": vk.n_public,
        "vk_alpha_1": _g1_json(vk.alpha1),
        "vk_beta_2": _g2_json(vk.beta2),
        "vk_gamma_2": _g2_json(vk.gamma2),
        "vk_delta_2": _g2_json(vk.delta2),
        "IC": [_g1_json(p) for p in vk.ic],
    }
    if vk.has_lookups:
        out["vk_delta_round_2"] = _g2_json(vk.delta_round2)
        out["challenge"] = _challenge_json(vk)
    return out


def proof_to_json(proof: Proof) -> dict:
    out = {"pi_a": _g1_json(proof.a), "pi_b": _g2_json(proof.b), "pi_c": _g1_json(proof.c)}
    if proof.d is not None:
        out["pi_d"] = _g1_json(proof.d)
    return {**out, "protocol": LOOKUP_PROTOCOL if proof.d is not None else "groth16", "curve": "bn128"}


def write_vk(path, vk: VerifyingKey) -> None:
    write_atomic_text(path, json.dumps(vk_to_json(vk), indent=1) + "\n")


def write_proof(path, proof: Proof) -> None:
    write_atomic_text(path, json.dumps(proof_to_json(proof), indent=1) + "\n")


def write_public(path, public: list[int]) -> None:
    write_atomic_text(path, json.dumps([str(x) for x in public], indent=1) + "\n")


# --- reading ----------------------------------------------------------------------------------
#
# Every coordinate is a canonical decimal below q and every point is checked on its curve (G2 in
# the subgroup) as it is read, with the verifier's own checks, so a bad point is reported with the
# file it came from; the verifier checks again, as it must for callers that build keys in memory.

ADVICE = {"vk": "corrupt file; export the verifying key again", "proof": "corrupt or altered proof"}


def _load(path) -> object:
    return read_json(path)


def _int(path, field: str, v, below: int | None = None) -> int:
    return decimal(v, field, str(path), below=below)


def _g1(path, field: str, v):
    if not isinstance(v, list) or len(v) not in (2, 3):
        raise FormatError(f"{path}: {field} must be a G1 point [x, y, z]")
    x, y = _int(path, f"{field}[0]", v[0], Q), _int(path, f"{field}[1]", v[1], Q)
    z = _int(path, f"{field}[2]", v[2], Q) if len(v) == 3 else 1
    if z == 0:
        return None
    if z != 1:
        raise FormatError(f"{path}: {field} has z = {z}; only affine points (z = 1) are accepted")
    return (x, y)


def _g2(path, field: str, v):
    if not isinstance(v, list) or len(v) not in (2, 3) or not all(isinstance(c, list) and len(c) == 2 for c in v):
        raise FormatError(f"{path}: {field} must be a G2 point [[x0, x1], [y0, y1], [z0, z1]]")
    x = tuple(_int(path, f"{field}[0][{j}]", c, Q) for j, c in enumerate(v[0]))
    y = tuple(_int(path, f"{field}[1][{j}]", c, Q) for j, c in enumerate(v[1]))
    z = tuple(_int(path, f"{field}[2][{j}]", c, Q) for j, c in enumerate(v[2])) if len(v) == 3 else (1, 0)
    if z == (0, 0):
        return None
    if z != (1, 0):
        raise FormatError(f"{path}: {field} has z = {z}; only affine points are accepted")
    return (x, y)


def _obj(path, data, keys: list[str]) -> dict:
    if not isinstance(data, dict):
        raise FormatError(f"{path}: expected a JSON object, got {type_name(data)}")
    for k in keys:
        if k not in data:
            raise FormatError(f"{path}: field {k!r} is missing")
    return data


def _checked(path, what: str, check, *args) -> None:
    """Run one of the verifier's point checks; its error gains the file's name and advice."""
    try:
        check(*args)
    except MalformedProof as e:
        raise MalformedProof(f"{path}: {e} ({ADVICE[what]})") from None


def read_vk(path) -> VerifyingKey:
    return vk_from_json(_load(path), path)


def vk_from_json(data, path) -> VerifyingKey:
    """A verifying key from snarkjs's JSON object; `path` names where it came from in errors."""
    d = _obj(path, data, ["protocol", "vk_alpha_1", "vk_beta_2", "vk_gamma_2", "vk_delta_2", "IC"])
    if d["protocol"] not in ("groth16", LOOKUP_PROTOCOL):
        raise FormatError(f"{path}: protocol is {str(d['protocol'])[:40]!r}, not 'groth16' or '{LOOKUP_PROTOCOL}'")
    lookups = d["protocol"] == LOOKUP_PROTOCOL
    if lookups:
        _obj(path, d, ["vk_delta_round_2", "challenge"])
    elif "vk_delta_round_2" in d:
        raise FormatError(f"{path}: a 'groth16' key with vk_delta_round_2; a lookup key says protocol "
                          f"'{LOOKUP_PROTOCOL}' (edited file?)")
    if d.get("curve", "bn128") not in ("bn128", "bn254"):
        raise FormatError(f"{path}: curve is {str(d['curve'])[:40]!r}; only bn128 (BN254) is supported")
    if not isinstance(d["IC"], list) or not d["IC"]:
        raise FormatError(f"{path}: IC must be a non-empty list of G1 points")
    ic = [_g1(path, f"IC[{i}]", p) for i, p in enumerate(d["IC"])]
    extra = 1 if lookups else 0  # the challenge's IC point
    n_public = d.get("nPublic", len(ic) - 1 - extra)
    if isinstance(n_public, bool) or not isinstance(n_public, int):
        raise FormatError(f"{path}: field 'nPublic' must be an integer, got {type_name(n_public)}")
    if n_public != len(ic) - 1 - extra:
        raise FormatError(f"{path}: nPublic is {n_public} but IC has {len(ic)} points (expected nPublic + "
                          f"{1 + extra})")
    vk = VerifyingKey(n_public=n_public, alpha1=_g1(path, "vk_alpha_1", d["vk_alpha_1"]),
                      beta2=_g2(path, "vk_beta_2", d["vk_beta_2"]),
                      gamma2=_g2(path, "vk_gamma_2", d["vk_gamma_2"]),
                      delta2=_g2(path, "vk_delta_2", d["vk_delta_2"]), ic=ic,
                      delta_round2=_g2(path, "vk_delta_round_2", d["vk_delta_round_2"]) if lookups else None)
    for name in ("alpha1", "beta2", "gamma2", "delta2") + (("delta_round2",) if lookups else ()):
        if getattr(vk, name) is None:
            raise FormatError(f"{path}: vk {name} is the point at infinity ({ADVICE['vk']})")
    if lookups and d["challenge"] != _challenge_json(vk):
        raise FormatError(f"{path}: field 'challenge' does not describe this key's challenge (hash keccak256, "
                          "tags and vk_digest as zkml computes them); export the verifying key again")
    _checked(path, "vk", check_vk, vk)
    return vk


def read_proof(path) -> Proof:
    proof = proof_from_json(_obj(path, _load(path), ["pi_a", "pi_b", "pi_c"]), path)
    _checked(path, "proof", check_proof, proof)
    return proof


def proof_from_json(d: dict, where, prefix: str = "") -> Proof:
    """The points of a snarkjs-shaped proof object (``prefix`` names it inside a larger file:
    "proof." in a zkml proof file); its protocol must agree with whether it carries pi_d."""
    for key in ("pi_a", "pi_b", "pi_c"):
        if key not in d:
            raise FormatError(f"{where}: field {prefix}{key} is missing")
    protocol = d.get("protocol", "groth16")
    if protocol not in ("groth16", LOOKUP_PROTOCOL):
        raise FormatError(f"{where}: {prefix}protocol is {str(protocol)[:40]!r}, not 'groth16' or "
                          f"'{LOOKUP_PROTOCOL}'")
    if (protocol == LOOKUP_PROTOCOL) != ("pi_d" in d):
        raise FormatError(f"{where}: {prefix}protocol {protocol!r} " + (
            f"without {prefix}pi_d, the lookup proof's commitment" if "pi_d" not in d else
            f"with a {prefix}pi_d point; a lookup proof says protocol '{LOOKUP_PROTOCOL}'") + f" ({ADVICE['proof']})")
    return Proof(a=_g1(where, f"{prefix}pi_a", d["pi_a"]), b=_g2(where, f"{prefix}pi_b", d["pi_b"]),
                 c=_g1(where, f"{prefix}pi_c", d["pi_c"]),
                 d=_g1(where, f"{prefix}pi_d", d["pi_d"]) if "pi_d" in d else None)


def read_public(path) -> list[int]:
    d = _load(path)
    if not isinstance(d, list):
        raise FormatError(f"{path}: expected a JSON list of decimal strings, got {type_name(d)}")
    out = [_int(path, f"[{i}]", v) for i, v in enumerate(d)]
    for i, x in enumerate(out):
        if x >= R:
            raise FormatError(f"{path}: [{i}] is not in [0, r), the scalar field; a public signal must be reduced")
    return out


def read_verify_inputs(vk_path, public_path, proof_path) -> tuple[VerifyingKey, list[int], Proof]:
    """The three files of a snarkjs verification, read and checked to belong together."""
    vk, public, proof = read_vk(vk_path), read_public(public_path), read_proof(proof_path)
    if len(public) != vk.n_public:
        raise FormatError(f"{public_path} has {len(public)} signals, {vk_path} expects {vk.n_public}; "
                          "are they from the same circuit?")
    return vk, public, proof


__all__ = ["read_proof", "read_public", "read_verify_inputs", "read_vk", "write_proof", "write_public",
           "write_vk", "R"]
