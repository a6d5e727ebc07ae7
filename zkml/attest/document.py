"""The attestation document (schema ``zkml.attestation/v1``), its EIP-712 signature, and its
validation on read.

    {
      "schema": "zkml.attestation/v1",
      "claim": {"kind": "inference" | "evaluation", "model_id": "0x<32 bytes>",
                "model_sha256": hex, "weights_sha256": hex,
                "input_commitment" | "dataset_commitment": decimal string (or null),
                "output": {...} | "metric": {"n": int, "k": int, "correct": int},
                "claim_hash": "0x<32 bytes>"},
      "proof": {<snarkjs proof.json>, "public_signals": [decimal strings]},
      "chain": {"chain_id": int, "verifier": address, "registry": address,
                "attestation_id": int, "tx_hash": hex} | null,
      "issued_at": unix seconds,
      "signature": {"signer": address, "value": hex} | null
    }

model_id = sha256(model sha256 || weights sha256) (the commitment to the ONNX file and its
weights); claim_hash = keccak256 of the public signals as 32-byte words, exactly what the
registry records. The owner signs EIP-712 typed data {modelId, claimHash, kind, issuedAt} in the
domain {name "zkml", version "1"}.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from zkml.errors import FormatError, ZkmlError
from zkml.formats.binfile import write_atomic_text

SCHEMA = "zkml.attestation/v1"
KINDS = ("inference", "evaluation")


def model_id(model_sha256: str, weights_sha256: str) -> str:
    return "0x" + hashlib.sha256(bytes.fromhex(model_sha256) + bytes.fromhex(weights_sha256)).hexdigest()


def claim_hash(public_signals: list) -> str:
    from eth_utils import keccak

    return "0x" + keccak(b"".join(int(s).to_bytes(32, "big") for s in public_signals)).hex().removeprefix("0x")


def _typed(doc: dict) -> dict:
    c = doc["claim"]
    return {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"}],
            "Attestation": [{"name": "modelId", "type": "bytes32"}, {"name": "claimHash", "type": "bytes32"},
                            {"name": "kind", "type": "string"}, {"name": "issuedAt", "type": "uint256"}],
        },
        "primaryType": "Attestation",
        "domain": {"name": "zkml", "version": "1"},
        "message": {"modelId": bytes.fromhex(c["model_id"][2:]), "claimHash": bytes.fromhex(c["claim_hash"][2:]),
                    "kind": c["kind"], "issuedAt": int(doc["issued_at"])},
    }


def sign(doc: dict, key) -> dict:
    """The document with the owner's EIP-712 signature (key: an eth_account LocalAccount)."""
    from eth_account.messages import encode_typed_data

    signed = key.sign_message(encode_typed_data(full_message=_typed(doc)))
    return {**doc, "signature": {"signer": key.address, "value": "0x" + bytes(signed.signature).hex().removeprefix("0x")}}


def recover_signer(doc: dict) -> str | None:
    """The address that signed the document, or None when unsigned or the signature is invalid."""
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    sig = doc.get("signature")
    if not sig:
        return None
    try:
        return Account.recover_message(encode_typed_data(full_message=_typed(doc)), signature=sig["value"])
    except Exception:
        return None


def new_document(kind: str, claim: dict, proof: dict, public_signals: list[str]) -> dict:
    doc = {"schema": SCHEMA, "claim": {"kind": kind, **claim, "claim_hash": claim_hash(public_signals)},
           "proof": {**proof, "public_signals": [str(s) for s in public_signals]},
           "chain": None, "issued_at": int(time.time()), "signature": None}
    validate(doc, "new attestation")
    return doc


def _need(cond: bool, where: str, msg: str) -> None:
    if not cond:
        raise FormatError(f"{where}: {msg}")


def validate(doc, where: str) -> dict:
    """Check the document's structure against the schema; raise FormatError naming the field."""
    _need(isinstance(doc, dict), where, "an attestation must be a JSON object")
    _need("schema" in doc, where, "field 'schema' is missing")
    _need(doc["schema"] == SCHEMA, where, f"schema {doc['schema']!r} is not supported (expected {SCHEMA!r})")
    for key in ("claim", "proof", "issued_at"):
        _need(key in doc, where, f"field '{key}' is missing")
    c = doc["claim"]
    _need(isinstance(c, dict), where, "field 'claim' must be an object")
    _need(c.get("kind") in KINDS, where, f"claim.kind must be one of {KINDS}, got {c.get('kind')!r}")
    for key in ("model_id", "claim_hash"):
        v = c.get(key)
        _need(isinstance(v, str) and v.startswith("0x") and len(v) == 66, where, f"claim.{key} must be 0x and 32 bytes of hex")
    for key in ("model_sha256", "weights_sha256"):
        _need(isinstance(c.get(key), str) and len(c[key]) == 64, where, f"claim.{key} must be a sha256 hex digest")
    _need(c["model_id"] == model_id(c["model_sha256"], c["weights_sha256"]), where, "claim.model_id does not match the model and weights hashes")
    p = doc["proof"]
    _need(isinstance(p, dict) and all(k in p for k in ("pi_a", "pi_b", "pi_c", "public_signals")), where,
          "proof must hold pi_a, pi_b, pi_c and public_signals")
    _need(c["claim_hash"] == claim_hash(p["public_signals"]), where, "claim.claim_hash does not match the proof's public signals")
    _need(isinstance(doc["issued_at"], int), where, "issued_at must be an integer (unix seconds)")
    if doc.get("chain") is not None:
        ch = doc["chain"]
        for key in ("chain_id", "verifier", "registry", "attestation_id", "tx_hash"):
            _need(key in ch, where, f"chain.{key} is missing")
    if doc.get("signature") is not None:
        _need(isinstance(doc["signature"], dict) and "signer" in doc["signature"] and "value" in doc["signature"], where,
              "signature must hold signer and value")
    return doc


def read(path) -> dict:
    try:
        doc = json.loads(Path(path).read_text())
    except OSError as e:
        raise ZkmlError(f"{path}: cannot read ({e.strerror})") from None
    except json.JSONDecodeError as e:
        raise FormatError(f"{path}: not valid JSON ({e})") from None
    return validate(doc, str(path))


def write(path, doc: dict) -> None:
    validate(doc, str(path))
    write_atomic_text(path, json.dumps(doc, indent=1) + "\n")
