"""Bundle-level EVM work: generate and compile a bundle's verifier, deploy it, verify a proof
file on chain. The CLI calls these; they record what they did in the bundle's manifest."""

from __future__ import annotations

import json
from pathlib import Path

from zkml.bundle import store
from zkml.errors import ZkmlError
from zkml.formats.atomic import OutputSet

SOL_FILE = "Verifier.sol"
ARTIFACT_FILE = "verifier.json"
CONTRACT = "Groth16Verifier"


def build_contract(bundle: Path) -> dict:
    from zkml.evm.solc import compile_contract
    from zkml.evm.verifier_gen import generate_solidity
    from zkml.formats.snarkjs_json import read_vk

    manifest = store.read_manifest(bundle)
    vk = read_vk(store.check_file(bundle, manifest, store.VK_FILE))
    src = generate_solidity(vk, CONTRACT)
    art = compile_contract(src, CONTRACT)
    with OutputSet() as outs:  # source, artifact and the manifest listing them land together
        staged = {SOL_FILE: outs.text(Path(bundle) / SOL_FILE, src),
                  ARTIFACT_FILE: outs.text(Path(bundle) / ARTIFACT_FILE, json.dumps(art, indent=1) + "\n")}
        store.record_files(bundle, manifest, outs, staged,
                           verifier={"compiler": art["compiler"], "deployed_bytes": (len(art["deployed_bytecode"]) - 2) // 2})
    return art


def artifact(bundle: Path) -> dict:
    manifest = store.read_manifest(bundle)
    if ARTIFACT_FILE not in manifest.get("files", {}):
        return build_contract(bundle)
    return json.loads(store.check_file(bundle, manifest, ARTIFACT_FILE).read_text())


def deploy_bundle(bundle: Path, rpc: str | None, key_file: Path | None) -> dict:
    from zkml.evm.chain import connect, deploy

    art = artifact(bundle)
    chain = connect(rpc, key_file)
    d = deploy(chain, art["bytecode"], art["abi"])
    d["rpc"] = rpc or "embedded"
    if rpc:  # the embedded chain vanishes with the process: nothing to record
        manifest = store.read_manifest(bundle)
        with OutputSet() as outs:
            store.record_files(bundle, manifest, outs, {}, deployments=[*manifest.get("deployments", []), d])
    return d


def _proof_args(proof_path: Path):
    """verifyProof's arguments from a proof file read through its typed fields (points and
    public signals checked as `zkml verify` checks them)."""
    from zkml.bundle.claim_fields import check_proof_fields, groth16_proof, load_proof, public_signals
    from zkml.evm.chain import proof_calldata

    doc = load_proof(proof_path)
    check_proof_fields(doc, str(proof_path))
    groth16_proof(doc, str(proof_path))
    return doc, proof_calldata(doc["proof"], public_signals(doc, str(proof_path)))


def verify_onchain(proof_path: Path, bundle: Path | None, rpc: str | None, key_file: Path | None,
                   address: str | None) -> dict:
    """Checks the proof file against its bundle (as `zkml verify`) and then on chain."""
    from zkml.bundle.claims import check_inference
    from zkml.evm.chain import call_verify, connect, deploy

    local = check_inference(proof_path, bundle)  # also finds the bundle when not given
    bundle = local.bundle
    art = artifact(bundle)
    doc, args = _proof_args(proof_path)
    if rpc is None:
        chain = connect(None)
        d = deploy(chain, art["bytecode"], art["abi"])
        address = d["address"]
        code_hash = d["code_hash"]
    else:
        manifest = store.read_manifest(bundle)
        chain = connect(rpc, key_file)
        recorded = [d for d in manifest.get("deployments", []) if d["chain_id"] == chain.chain_id]
        if address is None:
            if not recorded:
                raise ZkmlError(f"no deployment of {bundle} on chain {chain.chain_id}; run `zkml deploy {bundle} --rpc {rpc}` or pass --address")
            address = recorded[-1]["address"]
        code_hash = chain.w3.keccak(bytes.fromhex(art["deployed_bytecode"][2:])).hex()
    ok, gas = call_verify(chain, address, art["abi"], args, code_hash)
    if rpc is None:  # measure the real cost with a transaction (eth-tester's estimates are not)
        c = chain.w3.eth.contract(address=address, abi=art["abi"])
        tx = c.functions.verifyProof(*args).build_transaction({"from": chain.sender, "gas": 3_000_000})
        gas = int(chain.send({"to": tx["to"], "data": tx["data"], "gas": 3_000_000})["gasUsed"])
    return {"onchain": ok, "local": local.ok, "reason": local.reason, "gas": gas, "address": address, "chain_id": chain.chain_id}


def calldata(proof_path: Path) -> str:
    """The arguments of verifyProof as `snarkjs zkey generatecall` prints them."""
    _, (a, b, c, inputs) = _proof_args(proof_path)
    h = lambda v: '"0x' + format(v, "064x") + '"'  # noqa: E731
    return (f"[{h(a[0])}, {h(a[1])}],[[{h(b[0][0])}, {h(b[0][1])}],[{h(b[1][0])}, {h(b[1][1])}]],"
            f"[{h(c[0])}, {h(c[1])}],[{', '.join(h(x) for x in inputs)}]")
