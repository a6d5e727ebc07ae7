"""The attestation document (schema ``zkml.attestation/v1``): what it holds, its EIP-712
signature, how it is checked against its own proof, and its validation on read.

    {
      "schema": "zkml.attestation/v1",
      "claim": {"kind": "inference" | "evaluation",
                "model_id": "0x<32 bytes>", "model_sha256": hex, "weights_sha256": hex,
                inference:  "input": {"commitment": decimal | absent, "values": [...] | absent},
                            "outputs": [{"name", "shape", "values", "argmax", "transform"}],
                evaluation: "dataset": {"commitment": decimal, "n": int},
                            "metric": {"name": "top1", "n": int, "k": int, "correct": int,
                                       "per_class": {"tp": [int], "fn": [int], "fp": [int],
                                                     "k": [int], "names": [str] | absent}},
                "claim_hash": "0x<32 bytes>"},
      "circuit": {"vk_sha256": hex, "verifying_key": {snarkjs verification_key.json},
                  "layout": {how the public signals encode the claim} | absent,
                  "vk_path": where the key was read from, "bundle_path": where the bundle was
                  (inference; hints for the registry's vkURI and metadata URI)},
      "proof": {snarkjs proof.json fields, "public_signals": [decimal strings]}
               | chunked evaluation: {"chunks": [{"index", pi_a, pi_b, pi_c, "public_signals"}],
                                      "public_signals": [correct, n, k, Merkle root]},
      "chain": null | {"chain_id", "registry", "verifier", "verifier_index", "attestation_id", "tx_hash"},
      "issued_at": unix seconds,
      "valid_until": unix seconds | absent (no expiry): after it `zkml check` fails the document,
      "signature": null | {"signer": address, "value": 0x hex (65 bytes)}
    }

An evaluation's public signals are its per-class counts and thresholds, packed
(zkml/compiler/evaluation_signals.py); ``correct`` is the sum of the true positives.

model_id = sha256(model sha256 || weights sha256): the commitment to the ONNX file and its weights.
claim_hash = keccak256 of the public signals as 32-byte words, exactly what the registry records.
vk_sha256 = sha256 of the verifying key as canonical JSON (sorted keys, no spaces): the registry's
vkHash. The owner signs the EIP-712 struct
Attestation{modelId, claimHash, vkHash, kind, issuedAt, documentHash} in the domain
{name "zkml", version "1"}, where documentHash = keccak256 of ``canonical_document``: every field
but ``signature`` and ``chain`` (the chain vouches for its own fields, written after signing),
so editing any readable field of a signed attestation, a label included, voids the signature.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from zkml.crypto.bn254 import R
from zkml.errors import FormatError
from zkml.formats.binfile import write_atomic_text
from zkml.formats.jsonfile import decimal, read_json

SCHEMA = "zkml.attestation/v1"
KINDS = ("inference", "evaluation")


def model_id(model_sha256: str, weights_sha256: str) -> str:
    return "0x" + hashlib.sha256(bytes.fromhex(model_sha256) + bytes.fromhex(weights_sha256)).hexdigest()


def claim_hash(public_signals: list) -> str:
    from eth_utils import keccak

    return "0x" + keccak(b"".join(int(s).to_bytes(32, "big") for s in public_signals)).hex().removeprefix("0x")


def vk_sha256(vk_json: dict) -> str:
    return hashlib.sha256(json.dumps(vk_json, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


UNSIGNED = ("signature", "chain")
MAX_BYTES = 64 << 20  # a verifying key, a layout and a proof (or a few thousand chunk proofs)


def canonical_document(doc: dict) -> bytes:
    """The bytes an attestation's signature covers: the document without ``signature`` and
    ``chain``, as JSON with sorted keys, no whitespace, ASCII only and no NaN or infinity.
    Defined once, here: signing and checking both call it."""
    body = {k: v for k, v in doc.items() if k not in UNSIGNED}
    try:
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()
    except ValueError:
        raise FormatError("the attestation holds a number JSON cannot write exactly (infinity); it cannot be signed") from None


def document_hash(doc: dict) -> bytes:
    from eth_utils import keccak

    return bytes(keccak(canonical_document(doc)))


def _typed(doc: dict) -> dict:
    c = doc["claim"]
    return {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"}],
            "Attestation": [{"name": "modelId", "type": "bytes32"}, {"name": "claimHash", "type": "bytes32"},
                            {"name": "vkHash", "type": "bytes32"}, {"name": "kind", "type": "string"},
                            {"name": "issuedAt", "type": "uint256"}, {"name": "documentHash", "type": "bytes32"}],
        },
        "primaryType": "Attestation",
        "domain": {"name": "zkml", "version": "1"},
        "message": {"modelId": bytes.fromhex(c["model_id"][2:]), "claimHash": bytes.fromhex(c["claim_hash"][2:]),
                    "vkHash": bytes.fromhex(doc["circuit"]["vk_sha256"]), "kind": c["kind"],
                    "issuedAt": int(doc["issued_at"]), "documentHash": document_hash(doc)},
    }


def sign(doc: dict, key) -> dict:
    """The document with the owner's EIP-712 signature (key: an eth_account LocalAccount)."""
    from eth_account.messages import encode_typed_data

    signed = key.sign_message(encode_typed_data(full_message=_typed(doc)))
    return {**doc, "signature": {"signer": key.address, "value": "0x" + bytes(signed.signature).hex().removeprefix("0x")}}


def recover_signer(doc: dict) -> str | None:
    """The address that signed the document, or None when unsigned or the signature is invalid
    (a signature by one key presented as another's recovers to a third address, never the claimed one)."""
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    sig = doc.get("signature")
    if not sig:
        return None
    try:
        signer = Account.recover_message(encode_typed_data(full_message=_typed(doc)), signature=sig["value"])
    except Exception:
        return None
    return signer if signer.lower() == str(sig.get("signer", "")).lower() else None


DEFAULT_VALID_DAYS = 90  # a quarter: AIUC-1 asks for re-attestation every quarter


def new_document(kind: str, claim: dict, circuit: dict, proof: dict, public_signals: list,
                 valid_until: int | None = None, now: int | None = None) -> dict:
    """An unsigned document issued now, valid until ``valid_until`` (default: DEFAULT_VALID_DAYS later)."""
    issued = int(time.time()) if now is None else int(now)
    doc = {"schema": SCHEMA, "claim": {"kind": kind, **claim, "claim_hash": claim_hash(public_signals)},
           "circuit": circuit,
           "proof": {**proof, "public_signals": [str(s) for s in public_signals]},
           "chain": None, "issued_at": issued,
           "valid_until": issued + DEFAULT_VALID_DAYS * 86400 if valid_until is None else int(valid_until),
           "signature": None}
    validate(doc, "new attestation")
    return doc


def utc(t: int) -> str:
    """A unix time as a UTC date and time, as reports print it."""
    import datetime

    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def weights_committed(doc: dict) -> bool:
    """Whether the attested model's weights are behind a commitment (the claim's weights_sha256
    is then that commitment): an evaluation says so in its claim, an inference in its layout."""
    layout = doc["circuit"].get("layout") or {}
    return doc["claim"].get("weights") == "committed" or (layout.get("config") or {}).get("weights") == "committed"


def claim_signals(doc: dict, where: str) -> list[int]:
    """The public signals the readable claim implies: a claim whose text disagrees with what was
    proved is caught here, without the bundle."""
    c = doc["claim"]
    if c["kind"] == "evaluation":
        from zkml.compiler.evaluation_signals import public_signals

        m, d = c["metric"], c["dataset"]
        pc = m["per_class"]
        weights = int(c["weights_sha256"], 16) if c.get("weights") == "committed" else None
        return public_signals(pc["tp"], pc["fn"], pc["fp"], m["k"], pc["k"], m["n"], int(d["commitment"]),
                              weights_commitment=weights)
    from zkml.bundle.claims import expected_public

    layout = doc["circuit"].get("layout")
    if not isinstance(layout, dict):
        raise FormatError(f"{where}: circuit.layout is missing; it says how the outputs are encoded")
    return expected_public(layout, c, Path(where))


def check_proof(doc: dict, where: str) -> tuple[bool, str]:
    """(valid, reason): the claim matches the public signals and the proof verifies (engine, or py_ecc with --reference)
    under the document's verifying key."""
    from zkml.formats.snarkjs_json import proof_from_json, vk_from_json
    from zkml.groth16.verifying import verify

    public = [int(s) for s in doc["proof"]["public_signals"]]
    try:
        if claim_signals(doc, where) != public:
            return False, "the claim's readable values do not match the proof's public signals"
    except FormatError as e:  # a label or value that disagrees with the layout: the claim is false
        return False, str(e).removeprefix(f"{where}: ")
    except (KeyError, TypeError, ValueError) as e:
        raise FormatError(f"{where}: claim is incomplete ({type(e).__name__}: {e})") from None
    if "chunks" in doc["proof"]:
        from zkml.scale.chunked_evaluation import check_chunks

        try:
            return check_chunks(doc, where)
        except (KeyError, TypeError, ValueError) as e:
            raise FormatError(f"{where}: a chunk proof is incomplete ({type(e).__name__}: {e})") from None
    vk = vk_from_json(doc["circuit"]["verifying_key"], f"{where}: circuit.verifying_key")
    proof = proof_from_json(doc["proof"], where, "proof.")
    try:
        ok = verify(vk, public, proof)
    except FormatError as e:
        return False, str(e)
    return ok, "verifies under the document's verifying key" if ok else "the Groth16 proof does not verify"


def _need(cond: bool, where: str, msg: str) -> None:
    if not cond:
        raise FormatError(f"{where}: {msg}")


def _hex(v, n: int) -> bool:
    try:
        return isinstance(v, str) and len(v) == n and bytes.fromhex(v) is not None
    except ValueError:
        return False


def validate(doc, where: str) -> dict:
    """Check the document's structure against the schema; raise FormatError naming the field."""
    _need(isinstance(doc, dict), where, "an attestation must be a JSON object")
    _need("schema" in doc, where, "field 'schema' is missing; is this a zkml attestation?")
    _need(doc["schema"] == SCHEMA, where, f"schema {doc['schema']!r} is not supported (this zkml reads {SCHEMA!r})")
    for key in ("claim", "circuit", "proof", "issued_at"):
        _need(key in doc, where, f"field '{key}' is missing")
    c = doc["claim"]
    _need(isinstance(c, dict), where, "field 'claim' must be an object")
    _need(c.get("kind") in KINDS, where, f"claim.kind must be one of {', '.join(KINDS)}, got {c.get('kind')!r}")
    for key in ("model_id", "claim_hash"):
        v = c.get(key)
        _need(isinstance(v, str) and v.startswith("0x") and _hex(v[2:], 64), where, f"claim.{key} must be 0x and 32 bytes of hex")
    for key in ("model_sha256", "weights_sha256"):
        _need(_hex(c.get(key), 64), where, f"claim.{key} must be a sha256 hex digest")
    _need(c["model_id"] == model_id(c["model_sha256"], c["weights_sha256"]), where,
          "claim.model_id does not match claim.model_sha256 and claim.weights_sha256")
    _need(c.get("weights", "fixed") in ("fixed", "committed"), where,
          f"claim.weights must be 'fixed' or 'committed', got {c.get('weights')!r}")
    if c["kind"] == "evaluation":
        m, d = c.get("metric"), c.get("dataset")
        _need(isinstance(m, dict) and all(isinstance(m.get(k), int) for k in ("n", "k", "correct")), where,
              "claim.metric must hold integers n, k and correct")
        _need(0 <= m["k"] <= m["correct"] <= m["n"], where, "claim.metric must have 0 <= k <= correct <= n")
        _validate_per_class(m, where)
        _need(isinstance(d, dict) and isinstance(d.get("commitment"), str) and d["commitment"].isdigit(), where,
              "claim.dataset.commitment must be a decimal string")
    else:
        _need(isinstance(c.get("outputs"), list) and isinstance(c.get("input"), dict), where,
              "an inference claim holds 'input' (object) and 'outputs' (list)")
    ci = doc["circuit"]
    _need(isinstance(ci, dict) and isinstance(ci.get("verifying_key"), dict), where, "circuit.verifying_key must be an object")
    _need(ci.get("vk_sha256") == vk_sha256(ci["verifying_key"]), where, "circuit.vk_sha256 does not match circuit.verifying_key")
    p = doc["proof"]
    chunked = isinstance(p, dict) and "chunks" in p
    _need(isinstance(p, dict) and all(k in p for k in (("chunks",) if chunked else ("pi_a", "pi_b", "pi_c")) + ("public_signals",)),
          where, "proof must hold pi_a, pi_b, pi_c (or chunks) and public_signals")
    if chunked:
        _need(c["kind"] == "evaluation" and isinstance(p["chunks"], list)
              and all(isinstance(ch, dict) and isinstance(ch.get("index"), int) and isinstance(ch.get("public_signals"), list)
                      for ch in p["chunks"]), where, "proof.chunks must be a list of chunk proofs with an integer index")
        d = c["dataset"]
        _need(isinstance(d.get("chunks"), int) and isinstance(d.get("chunk_size"), int), where,
              "a chunked evaluation's claim.dataset holds chunks and chunk_size (integers)")
    _need(isinstance(p["public_signals"], list) and all(isinstance(s, str) for s in p["public_signals"]),
          where, "proof.public_signals must be a list of decimal strings")
    for i, s in enumerate(p["public_signals"]):
        decimal(s, f"proof.public_signals[{i}]", where, below=R)
    _need(c["claim_hash"] == claim_hash(p["public_signals"]), where, "claim.claim_hash does not match the proof's public signals")
    _need(isinstance(doc["issued_at"], int) and not isinstance(doc["issued_at"], bool), where, "issued_at must be an integer (unix seconds)")
    vu = doc.get("valid_until")
    if vu is not None:
        _need(isinstance(vu, int) and not isinstance(vu, bool) and 0 <= vu < 1 << 64, where,
              "valid_until must be an integer (unix seconds) or absent")
        _need(vu > doc["issued_at"], where, f"valid_until ({utc(vu)}) precedes issued_at ({utc(doc['issued_at'])}): "
              "an attestation must be valid for some time after it is issued")
    ch = doc.get("chain")
    if ch is not None:
        _need(isinstance(ch, dict), where, "chain must be an object or null")
        for key in ("chain_id", "registry", "verifier", "verifier_index", "attestation_id", "tx_hash"):
            _need(key in ch, where, f"chain.{key} is missing")
        for key in ("chain_id", "verifier_index", "attestation_id"):
            _need(isinstance(ch[key], int), where, f"chain.{key} must be an integer")
    sig = doc.get("signature")
    if sig is not None:
        _need(isinstance(sig, dict) and isinstance(sig.get("signer"), str) and isinstance(sig.get("value"), str), where,
              "signature must hold signer and value (strings)")
    return doc


def _validate_per_class(m: dict, where: str) -> None:
    """Per-class counts: one list entry per class, consistent with n and correct."""
    pc = m.get("per_class")
    _need(isinstance(pc, dict), where, "claim.metric.per_class is missing (tp, fn, fp and k per class)")
    lists = {}
    for key in ("tp", "fn", "fp", "k"):
        v = pc.get(key)
        _need(isinstance(v, list) and v and all(isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= m["n"] for x in v),
              where, f"claim.metric.per_class.{key} must be a non-empty list of integers between 0 and n")
        lists[key] = v
    n_classes = len(lists["tp"])
    _need(all(len(v) == n_classes for v in lists.values()), where,
          "claim.metric.per_class lists (tp, fn, fp, k) must have one entry per class")
    _need(sum(lists["tp"]) == m["correct"], where, "claim.metric.correct must equal the sum of per_class.tp")
    _need(sum(lists["tp"]) + sum(lists["fn"]) == m["n"] == sum(lists["tp"]) + sum(lists["fp"]), where,
          "claim.metric.per_class: tp + fn and tp + fp must each add up to n over the classes")
    bad = [c for c in range(n_classes) if lists["k"][c] > lists["tp"][c]]
    _need(not bad, where, f"claim.metric.per_class.k[{bad[0] if bad else 0}] exceeds tp: a threshold above the proved count")
    if "names" in pc:
        names = pc["names"]
        _need(isinstance(names, list) and len(names) == n_classes and all(isinstance(x, str) and x for x in names)
              and len(set(names)) == n_classes, where,
              "claim.metric.per_class.names must hold one distinct, non-empty name per class")
    extra = [k for k in pc if k not in ("tp", "fn", "fp", "k", "names")]
    _need(not extra, where, f"claim.metric.per_class holds an unknown field {extra[0]!r}" if extra else "")


def read(path) -> dict:
    """A validated document; an unreadable, non-UTF-8, too deep or too large file is one
    FormatError naming it (`zkml check` reports these as "cannot check", exit 2)."""
    return validate(read_json(path, max_bytes=MAX_BYTES), str(path))


def write(path, doc: dict) -> None:
    validate(doc, str(path))
    write_atomic_text(path, json.dumps(doc, indent=1) + "\n")
