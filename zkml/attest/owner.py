"""The model owner's side: turn a checked proof into an attestation, sign it, publish it to a
registry (registering the model and adding its verifier when needed), revoke it."""

from __future__ import annotations

from pathlib import Path

from zkml.attest import document as D
from zkml.bundle import store
from zkml.errors import ZkmlError


def from_inference_proof(proof_path: Path, bundle: Path | None = None, valid_until: int | None = None) -> dict:
    """An unsigned attestation from a `zkml prove` proof file; the proof is verified first
    against ``bundle`` (found by the proof's verifying-key hash when not given)."""
    from zkml.bundle.claims import check_inference
    from zkml.formats.jsonfile import read_json

    v = check_inference(proof_path, bundle)
    if not v.ok:
        raise ZkmlError(f"{proof_path}: the proof does not verify ({v.reason}); nothing to attest")
    manifest = store.read_manifest(v.bundle)
    vk_path = store.check_file(v.bundle, manifest, store.VK_FILE)
    vk_json = read_json(vk_path)
    c = v.claim
    body = {"model_id": D.model_id(c["model_sha256"], c["weights_sha256"]), "model_sha256": c["model_sha256"],
            "weights_sha256": c["weights_sha256"],
            "input": c["input"], "outputs": c["outputs"]}  # every output field, as checked by check_inference
    layout = {"config": manifest["config"], "outputs": manifest["outputs"],
              "input": {k: v for k, v in manifest["input"].items() if k != "tensor_fracs"}}
    # where the key and the bundle were found: hints for the registry's vkURI and metadata URI
    circuit = {"vk_sha256": D.vk_sha256(vk_json), "verifying_key": vk_json, "layout": layout,
               "vk_path": str(vk_path.resolve()), "bundle_path": str(Path(v.bundle).resolve())}
    return D.new_document("inference", body, circuit, v.doc["proof"], v.doc["public_signals"], valid_until)


WEIGHTS_FRAGMENT = "weights_commitment"  # a committed model's metadata URI ends #weights_commitment=0x<64 hex>


def registered_commitment(metadata_uri: str) -> str | None:
    """The weights commitment (64 hex digits) a model's registered metadata URI records, if any."""
    _, _, fragment = str(metadata_uri).partition("#")
    key, _, value = fragment.partition("=")
    value = value.lower().removeprefix("0x")
    return value if key == WEIGHTS_FRAGMENT and len(value) == 64 and all(ch in "0123456789abcdef" for ch in value) else None


def from_evaluation(result: dict, valid_until: int | None = None) -> dict:
    """An unsigned attestation from ``zkml.bundle.evaluation.prove_evaluation``'s result."""
    c = result["claim"]
    body = {"model_id": D.model_id(c["model_sha256"], c["weights_sha256"]), **c}
    circuit = {"vk_sha256": D.vk_sha256(result["verifying_key"]), "verifying_key": result["verifying_key"],
               "vk_path": result["vk_path"], "bundle_path": result["bundle_path"]}
    return D.new_document("evaluation", body, circuit, result["proof"], result["public_signals"], valid_until)


def load_signing_key(key_file: Path | None):
    """The owner's key from a file or ZKML_PRIVATE_KEY (never printed)."""
    from zkml.evm.chain import load_key

    return load_key(key_file, "signing an attestation")


def new_key_file(path: Path) -> str:
    """Write a fresh private key (hex, mode 0600) and return its address."""
    import secrets

    from eth_account import Account

    from zkml.formats.atomic import OutputSet

    path = Path(path)
    if path.exists():
        raise ZkmlError(f"{path}: already exists; a key file is never overwritten")
    key = Account.from_key(secrets.token_bytes(32))
    with OutputSet() as outs:  # staged with mode 0600 and renamed whole: a full disk leaves no half key
        outs.text(path, "0x" + bytes(key.key).hex().removeprefix("0x") + "\n")
    return key.address


def publish(doc: dict, chain, registry: str | None, log=print) -> dict:
    """Submit the attestation's proof to a registry (a new one when `registry` is None): the
    model is registered and its verifier deployed and added on first use, by the sender, who
    becomes the owner. Returns the document with its chain fields."""
    from zkml.evm import registry as REG
    from zkml.evm.chain import deploy, proof_calldata
    from zkml.evm.solc import compile_contract
    from zkml.evm.verifier_gen import generate_solidity
    from zkml.formats.snarkjs_json import vk_from_json

    if doc.get("chain"):
        ch = doc["chain"]
        raise ZkmlError(f"this attestation is already published (chain {ch['chain_id']}, registry {ch['registry']}, "
                        f"attestation {ch['attestation_id']})")
    if "chunks" in doc["proof"]:
        raise ZkmlError("a chunked evaluation cannot be published yet: the registry records one proof per "
                        "attestation (its chunk proofs are checked by `zkml check` and `verify_batch`)")
    import time

    if doc.get("valid_until") and doc["valid_until"] <= time.time():
        raise ZkmlError(f"the attestation expired on {D.utc(doc['valid_until'])} (valid_until); "
                        "renew it with `zkml attest renew`, then sign and publish the renewed document")
    ok, reason = D.check_proof(doc, "attestation")
    if not ok:
        raise ZkmlError(f"the attestation's proof does not check ({reason}); nothing published")
    if registry is None:
        registry = REG.deploy_registry(chain)["address"]
        log(f"deployed a new AttestationRegistry at {registry}")
    c = doc["claim"]
    mid = bytes.fromhex(c["model_id"][2:])
    model = REG.model(chain, registry, mid)
    if model is None:
        where = doc["circuit"].get("bundle_path")
        uri = Path(where).resolve().as_uri() if isinstance(where, str) and where else ""
        if D.weights_committed(doc):
            uri += f"#{WEIGHTS_FRAGMENT}=0x{c['weights_sha256']}"  # the registry records the commitment in the clear
        REG.register(chain, registry, mid, uri)
        log(f"registered model {c['model_id']} (owner {chain.sender})")
        model = REG.model(chain, registry, mid)
    vk_hash = bytes.fromhex(doc["circuit"]["vk_sha256"])
    slot = next((v for v in model["verifiers"] if v["vk_hash"] == vk_hash), None)
    if slot is None:
        if model["owner"].lower() != chain.sender.lower():
            raise ZkmlError(f"model {c['model_id']} has no verifier for this key, and only its owner "
                            f"{model['owner']} can add one (you are {chain.sender})")
        art = compile_contract(generate_solidity(vk_from_json(doc["circuit"]["verifying_key"], "attestation")), "Groth16Verifier")
        address = deploy(chain, art["bytecode"], art["abi"])["address"]
        vk_uri = Path(doc["circuit"]["vk_path"]).resolve().as_uri() if doc["circuit"].get("vk_path") else ""
        index = REG.add_verifier(chain, registry, mid, address, vk_hash, len(doc["proof"]["public_signals"]),
                                 c["kind"], vk_uri)
        log(f"deployed its {c['kind']} verifier at {address} (verifier #{index})")
        slot = {"index": index, "address": address}
    args = proof_calldata(doc["proof"], doc["proof"]["public_signals"])
    att_id, tx = REG.submit(chain, registry, mid, slot["index"], args, doc.get("valid_until") or 0)
    return {**doc, "chain": {"chain_id": chain.chain_id, "registry": registry, "verifier": slot["address"],
                             "verifier_index": slot["index"], "attestation_id": att_id, "tx_hash": tx}}


def revoke(doc: dict, chain) -> None:
    from zkml.evm import registry as REG

    ch = doc.get("chain")
    if not ch:
        raise ZkmlError("this attestation was never published; there is nothing to revoke on chain")
    if ch["chain_id"] != chain.chain_id:
        raise ZkmlError(f"the attestation is on chain {ch['chain_id']}, the node is chain {chain.chain_id}; pass the right --rpc")
    REG.revoke_attestation(chain, ch["registry"], ch["attestation_id"])
