"""What each role does: the owner turns a proof into an attestation and publishes it; the
auditor re-checks everything a registry holds; the insurer tests an attestation against a
policy. All three talk to a chain through zkml.evm and never trust a value they can recompute."""

from __future__ import annotations

import hashlib
import json
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from zkml.attest import document as D
from zkml.bundle import store
from zkml.errors import FormatError, ZkmlError


# --- owner ------------------------------------------------------------------------------------


def attestation_from_proof(proof_path: Path) -> dict:
    """An unsigned inference attestation from a `zkml prove` proof file (checked first)."""
    from zkml.bundle.claims import _load_proof, verify_inference

    ok, claim = verify_inference(proof_path)
    if not ok:
        raise ZkmlError(f"{proof_path}: the proof does not verify; nothing to attest")
    doc = _load_proof(proof_path)
    c = doc["claim"]
    body = {"model_id": D.model_id(c["model_sha256"], c["weights_sha256"]), "model_sha256": c["model_sha256"],
            "weights_sha256": c["weights_sha256"], "bundle": c["bundle"],
            "input_commitment": c["input"].get("commitment"), "input_values": c["input"].get("values"),
            "output": [{"name": o["name"], "values": o["values"], "argmax": o["argmax"]} for o in c["outputs"]]}
    return D.new_document("inference", body, doc["proof"], doc["public_signals"])


def publish(doc: dict, chain, registry: str, bundle: Path) -> dict:
    """Deploy the bundle's verifier if needed, register the model (the sender becomes its owner)
    if needed, submit the proof to the registry, and record where in the document."""
    from zkml.evm import registry as REG
    from zkml.evm.chain import deploy, proof_calldata
    from zkml.evm.onchain import artifact

    art = artifact(bundle)
    manifest = store.read_manifest(bundle)
    vk_path = store.check_file(bundle, manifest, store.VK_FILE)
    vk_hash = bytes.fromhex(store.sha256_file(vk_path))
    mid = bytes.fromhex(doc["claim"]["model_id"][2:])
    c = REG.contract(chain, registry)
    owner, verifier, *_ = c.functions.models(mid).call()
    if int(owner, 16) == 0:
        verifier = deploy(chain, art["bytecode"], art["abi"])["address"]
        REG.register(chain, registry, mid, verifier, vk_hash, len(doc["proof"]["public_signals"]),
                     Path(bundle).resolve().as_uri())
    att_id = REG.submit(chain, registry, mid, proof_calldata(doc["proof"], doc["proof"]["public_signals"]))
    tx = c.events.AttestationRecorded().get_logs(from_block=0, argument_filters={"id": att_id})[-1]["transactionHash"]
    return {**doc, "chain": {"chain_id": chain.chain_id, "verifier": verifier, "registry": registry,
                             "attestation_id": att_id, "tx_hash": "0x" + bytes(tx).hex().removeprefix("0x")}}


# --- auditor ----------------------------------------------------------------------------------


@dataclass
class AuditRow:
    attestation_id: int
    model_id: str
    claim_hash: str
    revoked: bool
    checks: dict = field(default_factory=dict)  # name -> (ok, detail)

    @property
    def ok(self) -> bool:
        return all(v[0] for v in self.checks.values())


def audit(chain, registry: str, model: str | None = None, onnx_file: Path | None = None) -> list[AuditRow]:
    """Re-check every attestation of a registry: the proof (decoded from the submitting
    transaction) with py_ecc and on chain, the claim hash, the verifier's deployed code against
    the code generated from the published verifying key, and optionally an ONNX file."""
    from zkml.evm import registry as REG
    from zkml.evm.onchain import _proof_args  # noqa: F401 (same calldata layout)
    from zkml.evm.solc import compile_contract
    from zkml.evm.verifier_gen import generate_solidity
    from zkml.formats.snarkjs_json import read_vk
    from zkml.groth16.data_structures import Proof
    from zkml.groth16.verifier import verify

    c = REG.contract(chain, registry)
    rows = []
    model_cache: dict[str, dict] = {}
    for rec in REG.attestations(chain, registry):
        mid = "0x" + rec["model_id"].removeprefix("0x")
        if model and mid != model:
            continue
        row = AuditRow(rec["id"], mid, "0x" + rec["claim_hash"].removeprefix("0x"), rec["revoked"])
        if mid not in model_cache:
            model_cache[mid] = _model_facts(chain, c, mid, read_vk, generate_solidity, compile_contract, onnx_file)
        facts = model_cache[mid]
        row.checks.update(facts["checks"])
        logs = c.events.AttestationRecorded().get_logs(from_block=0, argument_filters={"id": rec["id"]})
        tx = chain.w3.eth.get_transaction(logs[-1]["transactionHash"])
        _, args = c.decode_function_input(tx["input"])
        public = [int(x) for x in args["publicInputs"]]
        a, b, cc = args["a"], args["b"], args["c"]
        row.checks["claim hash"] = (D.claim_hash(public) == row.claim_hash, "keccak of the submitted public inputs")
        if facts.get("vk") is not None:
            proof = Proof(a=(int(a[0]), int(a[1])), b=((int(b[0][1]), int(b[0][0])), (int(b[1][1]), int(b[1][0]))),
                          c=(int(cc[0]), int(cc[1])))
            try:
                row.checks["proof (py_ecc)"] = (verify(facts["vk"], public, proof), "independent verifier")
            except FormatError as e:
                row.checks["proof (py_ecc)"] = (False, str(e))
        on = chain.w3.eth.contract(address=facts["verifier"], abi=facts["abi"]).functions.verifyProof(a, b, cc, public).call()
        row.checks["proof (on chain)"] = (bool(on), facts["verifier"])
        row.checks["not revoked"] = (not rec["revoked"] and not facts["revoked"], "attestation and model")
        rows.append(row)
    return rows


def _model_facts(chain, c, mid: str, read_vk, generate_solidity, compile_contract, onnx_file) -> dict:
    owner, verifier, vk_hash, n_public, revoked, uri = c.functions.models(bytes.fromhex(mid[2:])).call()
    facts = {"verifier": verifier, "revoked": revoked, "checks": {}, "vk": None, "abi": None}
    bundle = Path(uri.removeprefix("file://")) if uri.startswith("file://") else None
    vk_path = bundle / store.VK_FILE if bundle else None
    if not vk_path or not vk_path.exists():
        facts["checks"]["verifying key"] = (False, f"metadata URI {uri!r} does not lead to a verification key")
        return facts
    got = hashlib.sha256(vk_path.read_bytes()).digest()
    facts["checks"]["verifying key"] = (got == bytes(vk_hash), f"sha256 of {vk_path} vs the registered vkHash")
    vk = read_vk(vk_path)
    facts["vk"] = vk
    art = compile_contract(generate_solidity(vk), "Groth16Verifier")
    facts["abi"] = art["abi"]
    deployed = bytes(chain.w3.eth.get_code(verifier))
    facts["checks"]["verifier bytecode"] = (deployed == bytes.fromhex(art["deployed_bytecode"][2:]),
                                            "deployed runtime code vs code compiled from the verifying key")
    if onnx_file is not None:
        import onnx

        m = onnx.load(str(onnx_file), load_external_data=True)
        expect = D.model_id(store.sha256_file(onnx_file), store.weights_hash(m))
        facts["checks"]["onnx file"] = (expect == mid, f"{onnx_file} hashes to the model id")
    return facts


# --- insurer ----------------------------------------------------------------------------------


@dataclass
class Policy:
    signers: list[str]
    models: list[str]
    max_age_days: float | None
    min_accuracy: float | None
    require_onchain: bool


def read_policy(path: Path) -> Policy:
    try:
        data = tomllib.loads(Path(path).read_text())
    except OSError as e:
        raise ZkmlError(f"{path}: cannot read ({e.strerror})") from None
    except tomllib.TOMLDecodeError as e:
        raise FormatError(f"{path}: not valid TOML: {e}") from None  # the message names line and column
    p = data.get("policy", data)
    known = {"signers", "models", "max_age_days", "min_accuracy", "require_onchain"}
    unknown = sorted(set(p) - known)
    if unknown:
        raise FormatError(f"{path}: unknown policy key(s) {unknown}; known: {sorted(known)}")
    for key in ("signers", "models"):
        if key in p and not (isinstance(p[key], list) and all(isinstance(x, str) for x in p[key])):
            raise FormatError(f"{path}: '{key}' must be a list of strings")
    if not p.get("signers"):
        raise FormatError(f"{path}: 'signers' (the allow-list of signer addresses) is required")
    return Policy([s.lower() for s in p["signers"]], [m.lower() for m in p.get("models", [])],
                  p.get("max_age_days"), p.get("min_accuracy"), bool(p.get("require_onchain", True)))


def check(doc: dict, policy: Policy, chain=None, now: float | None = None) -> list[tuple[str, bool, str]]:
    """[(rule, passed, reason)]; a rule that cannot be checked raises ZkmlError (exit 2)."""
    now = time.time() if now is None else now
    results = []
    signer = D.recover_signer(doc)
    results.append(("signer", bool(signer) and signer.lower() in policy.signers,
                    f"signed by {signer}" if signer else "unsigned or the signature does not match the document"))
    mid = doc["claim"]["model_id"].lower()
    if policy.models:
        results.append(("model", mid in policy.models, f"model {mid}"))
    if policy.max_age_days is not None:
        age = (now - doc["issued_at"]) / 86400
        results.append(("age", age <= policy.max_age_days, f"{age:.1f} days old, limit {policy.max_age_days}"))
    if policy.min_accuracy is not None:
        m = doc["claim"].get("metric")
        if not m:
            results.append(("metric", False, "no evaluation metric in this attestation"))
        else:
            acc = m["k"] / m["n"]
            results.append(("metric", acc >= policy.min_accuracy, f"proved at least {m['k']}/{m['n']} = {acc:.3f}, required {policy.min_accuracy}"))
    if policy.require_onchain:
        results.append(_anchored(doc, chain))
    return results


def _anchored(doc: dict, chain) -> tuple[str, bool, str]:
    from zkml.evm import registry as REG

    ch = doc.get("chain")
    if not ch:
        return ("on chain", False, "the attestation was never published to a registry")
    if chain is None:
        raise ZkmlError("the policy requires on-chain anchoring: pass --rpc to a node of chain "
                        f"{ch['chain_id']}")
    if chain.chain_id != ch["chain_id"]:
        raise ZkmlError(f"the attestation is anchored on chain {ch['chain_id']}, the node is chain {chain.chain_id}")
    recs = REG.attestations(chain, ch["registry"])
    if ch["attestation_id"] >= len(recs):
        return ("on chain", False, f"registry {ch['registry']} has no attestation {ch['attestation_id']}")
    rec = recs[ch["attestation_id"]]
    c = REG.contract(chain, ch["registry"])
    model_revoked = c.functions.models(bytes.fromhex(doc["claim"]["model_id"][2:])).call()[4]
    same = "0x" + rec["claim_hash"].removeprefix("0x") == doc["claim"]["claim_hash"] and \
        "0x" + rec["model_id"].removeprefix("0x") == doc["claim"]["model_id"]
    if not same:
        return ("on chain", False, "the registry's record is for another claim or model")
    if rec["revoked"] or model_revoked:
        return ("on chain", False, "revoked " + ("(model)" if model_revoked else "(attestation)"))
    return ("on chain", True, f"recorded as attestation {ch['attestation_id']} in block {rec['block']}")


def dump(obj) -> str:
    return json.dumps(obj, indent=1, default=str)
