"""Views of a signed attestation in formats other tools read: an off-chain EAS attestation and
an in-toto Statement in a DSSE envelope. Both are signed by the owner's key, the one that
signed the zkml document; the zkml document stays the evidence (its proof), and each view names
it by ``documentHash`` (keccak256 of the canonical document, zkml/attest/document.py).

EAS (Ethereum Attestation Service), off-chain attestation version 1:
  schema    ``SCHEMA`` below; its UID = keccak256(abi.encodePacked(schema, resolver 0x0, revocable true))
  data      abi.encode of the schema's fields
  domain    EIP-712 {name "EAS Attestation", version (the EAS contract's, "0.26" on mainnet),
            chainId, verifyingContract (the EAS contract)}
  message   Attest(uint16 version, bytes32 schema, address recipient, uint64 time,
            uint64 expirationTime, bool revocable, bytes32 refUID, bytes data), version 1,
            recipient 0x0, time = issued_at, expirationTime = valid_until (0: none), refUID 0
  uid       keccak256(abi.encodePacked(uint16 1, bytes(schema UID as its 0x hex text), recipient,
            address 0, time, expirationTime, revocable, refUID, data, uint32 0)), as EAS computes it
  output    {"sig": {version, uid, domain, primaryType "Attest", types {Attest}, message,
            signature {r, s, v}}, "signer": address}, the form EAS tools import
The EIP-712 hashing is written here from the standard (hashStruct, domain separator, 0x1901),
so a test can check it against an independent implementation.

in-toto Statement v1 in a DSSE envelope:
  statement {"_type": "https://in-toto.io/Statement/v1",
             "subject": [{"name": model file name, "digest": {"sha256": the ONNX file's sha256}}],
             "predicateType": ``PREDICATE_TYPE``, "predicate": the claim, its dates, documentHash,
             the zkml signature and the chain record}
  envelope  {"payloadType": "application/vnd.in-toto+json", "payload": base64(statement JSON),
             "signatures": [{"keyid": the owner's address, "sig": base64(65 bytes r || s || v)}]}
  signature secp256k1 ECDSA by the owner's key over the EIP-191 personal message of
            PAE(payloadType, payload) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, i.e.
            what ``personal_sign(PAE)`` makes: any Ethereum library recovers the keyid from it.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from zkml.attest import document as D
from zkml.errors import ZkmlError

SCHEMA = ("bytes32 modelId,bytes32 claimHash,bytes32 vkHash,bytes32 documentHash,string kind,uint64 issuedAt,"
          "uint64 validUntil,uint32 n,uint32 correct,uint32 k,uint32[] truePositives,uint32[] falseNegatives,"
          "uint32[] falsePositives,uint32[] classThresholds,string[] classNames,bytes32 datasetCommitment")
EAS_NAME = "EAS Attestation"
EAS_MAINNET = {"chain_id": 1, "address": "0xA1207F3BBa224E2c9c3c6D5aF63D0eb1582Ce587", "version": "0.26"}
ATTEST_TYPE = [("version", "uint16"), ("schema", "bytes32"), ("recipient", "address"), ("time", "uint64"),
               ("expirationTime", "uint64"), ("revocable", "bool"), ("refUID", "bytes32"), ("data", "bytes")]
DOMAIN_TYPE = [("name", "string"), ("version", "string"), ("chainId", "uint256"), ("verifyingContract", "address")]
ZERO_ADDRESS = "0x" + "00" * 20
ZERO32 = "0x" + "00" * 32

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
PREDICATE_TYPE = "urn:zkml:attestation:v1"


def _keccak(data: bytes) -> bytes:
    from eth_utils import keccak

    return bytes(keccak(data))


def _signed_key(doc: dict, key, where: str):
    """The owner's key, refused unless the document is signed, validly, by that key."""
    if not doc.get("signature"):
        raise ZkmlError(f"{where}: the attestation is unsigned; sign it first (`zkml attest sign {where}`), "
                        "an export carries the owner's signature")
    signer = D.recover_signer(doc)
    if signer is None:
        raise ZkmlError(f"{where}: the document's signature does not cover it as it is (or is not its stated "
                        "signer's); sign it again before exporting")
    if key.address.lower() != signer.lower():
        raise ZkmlError(f"{where}: signed by {signer}, but the key given is {key.address}; export with the signer's key")
    return key


# --- EIP-712, from the standard ----------------------------------------------------------------


def _type_string(name: str, fields) -> str:
    return f"{name}(" + ",".join(f"{t} {n}" for n, t in fields) + ")"


def _encode_value(t: str, v) -> bytes:
    from eth_abi import encode

    if t == "string":
        return _keccak(v.encode())
    if t == "bytes":
        return _keccak(bytes.fromhex(v[2:]))
    if t == "bytes32":
        return bytes.fromhex(v[2:])
    return encode([t], [v])  # uint*, address, bool: one 32-byte word


def hash_struct(name: str, fields, values: dict) -> bytes:
    type_hash = _keccak(_type_string(name, fields).encode())
    return _keccak(type_hash + b"".join(_encode_value(t, values[n]) for n, t in fields))


def eip712_digest(domain: dict, message: dict) -> bytes:
    """keccak256(0x1901 || domainSeparator || hashStruct(Attest message))."""
    return _keccak(b"\x19\x01" + hash_struct("EIP712Domain", DOMAIN_TYPE, domain) + hash_struct("Attest", ATTEST_TYPE, message))


# --- EAS ---------------------------------------------------------------------------------------


def schema_uid(schema: str = SCHEMA, resolver: str = ZERO_ADDRESS, revocable: bool = True) -> str:
    return "0x" + _keccak(schema.encode() + bytes.fromhex(resolver[2:]) + bytes([int(revocable)])).hex()


def eas_data(doc: dict) -> str:
    """abi.encode of the schema's fields from the document (zeros and empty lists where a kind has none)."""
    from eth_abi import encode

    c = doc["claim"]
    m = c.get("metric") or {}
    pc = m.get("per_class") or {}
    n_classes = len(pc.get("tp", []))
    commitment = int(c["dataset"]["commitment"]) if c["kind"] == "evaluation" else 0
    values = [bytes.fromhex(c["model_id"][2:]), bytes.fromhex(c["claim_hash"][2:]),
              bytes.fromhex(doc["circuit"]["vk_sha256"]), D.document_hash(doc), c["kind"], int(doc["issued_at"]),
              int(doc.get("valid_until") or 0), int(m.get("n", 0)), int(m.get("correct", 0)), int(m.get("k", 0)),
              list(pc.get("tp", [])), list(pc.get("fn", [])), list(pc.get("fp", [])), list(pc.get("k", [])),
              list(pc.get("names", [str(i) for i in range(n_classes)])), commitment.to_bytes(32, "big")]
    types = [f.split(" ")[0] for f in SCHEMA.split(",")]
    return "0x" + encode(types, values).hex()


def offchain_uid(message: dict) -> str:
    """The UID EAS gives a version-1 off-chain attestation."""
    packed = (int(message["version"]).to_bytes(2, "big") + message["schema"].encode()
              + bytes.fromhex(message["recipient"][2:]) + bytes(20) + int(message["time"]).to_bytes(8, "big")
              + int(message["expirationTime"]).to_bytes(8, "big") + bytes([int(message["revocable"])])
              + bytes.fromhex(message["refUID"][2:]) + bytes.fromhex(message["data"][2:]) + bytes(4))
    return "0x" + _keccak(packed).hex()


def export_eas(doc: dict, key, *, chain_id: int = EAS_MAINNET["chain_id"], eas_address: str = EAS_MAINNET["address"],
               eas_version: str = EAS_MAINNET["version"], where: str = "attestation") -> dict:
    """The document as a signed off-chain EAS attestation (see the module docstring)."""
    from web3 import Web3

    _signed_key(doc, key, where)
    if not Web3.is_address(eas_address):
        raise ZkmlError(f"--eas-address {eas_address!r} is not an address (0x and 40 hex digits)")
    domain = {"name": EAS_NAME, "version": str(eas_version), "chainId": int(chain_id),
              "verifyingContract": Web3.to_checksum_address(eas_address)}
    message = {"version": 1, "schema": schema_uid(), "recipient": ZERO_ADDRESS, "time": int(doc["issued_at"]),
               "expirationTime": int(doc.get("valid_until") or 0), "revocable": True, "refUID": ZERO32,
               "data": eas_data(doc)}
    signed = key.unsafe_sign_hash(eip712_digest(domain, message))
    sig = {"r": "0x" + signed.r.to_bytes(32, "big").hex(), "s": "0x" + signed.s.to_bytes(32, "big").hex(), "v": signed.v}
    return {"sig": {"version": 1, "uid": offchain_uid(message), "domain": domain, "primaryType": "Attest",
                    "types": {"Attest": [{"name": n, "type": t} for n, t in ATTEST_TYPE]},
                    "message": message, "signature": sig},
            "signer": key.address,
            "schema": {"uid": message["schema"], "definition": SCHEMA, "resolver": ZERO_ADDRESS, "revocable": True}}


# --- in-toto / DSSE ----------------------------------------------------------------------------


def pae(payload_type: str, body: bytes) -> bytes:
    """DSSE's pre-authentication encoding."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)


def statement(doc: dict, model_name: str) -> dict:
    c = doc["claim"]
    predicate = {"schema": doc["schema"], "claim": c, "issued_at": doc["issued_at"],
                 "valid_until": doc.get("valid_until"), "vk_sha256": doc["circuit"]["vk_sha256"],
                 "document_hash": "0x" + D.document_hash(doc).hex(), "signature": doc["signature"],
                 "chain": doc.get("chain")}
    return {"_type": STATEMENT_TYPE, "subject": [{"name": model_name, "digest": {"sha256": c["model_sha256"]}}],
            "predicateType": PREDICATE_TYPE, "predicate": predicate}


def export_in_toto(doc: dict, key, model_name: str, where: str = "attestation") -> dict:
    """The document as an in-toto Statement v1 in a DSSE envelope signed by the owner (module docstring)."""
    from eth_account.messages import encode_defunct

    _signed_key(doc, key, where)
    body = json.dumps(statement(doc, model_name), sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    signed = key.sign_message(encode_defunct(primitive=pae(PAYLOAD_TYPE, body)))
    return {"payloadType": PAYLOAD_TYPE, "payload": base64.b64encode(body).decode(),
            "signatures": [{"keyid": key.address, "sig": base64.b64encode(bytes(signed.signature)).decode()}]}


def model_file_name(doc: dict, model: Path | None, where: str) -> str:
    """The subject's name: the ONNX file given (which must hash to the claim's model), else the
    file the bundle was compiled from, else "model.onnx"."""
    from zkml.bundle import store

    sha = doc["claim"]["model_sha256"]
    if model is not None:
        got = store.sha256_file(model)
        if got != sha:
            raise ZkmlError(f"{model}: sha256 {got[:16]}…, the attestation's model is {sha[:16]}…: another model file")
        return Path(model).name
    bundle = doc["circuit"].get("bundle_path")
    try:
        m = store.read_manifest(Path(bundle)) if isinstance(bundle, str) and bundle else None
    except ZkmlError:
        m = None
    if m and m["model"].get("sha256") == sha and isinstance(m["model"].get("source"), str):
        return Path(m["model"]["source"]).name
    return "model.onnx"
