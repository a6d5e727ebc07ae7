"""Bundle-level EVM work: generate and compile a bundle's verifier, deploy it, verify a proof
file on chain. The CLI calls these; they record what they did in the bundle's manifest."""

from __future__ import annotations

import json
from pathlib import Path

from zkml.bundle import store
from zkml.errors import CannotCheck, ZkmlError
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
    public signals checked as `zkml verify` checks them; a lookup proof's D among them)."""
    from zkml.bundle.claim_fields import check_proof_fields, groth16_proof, load_proof, public_signals
    from zkml.evm.chain import proof_calldata

    doc = load_proof(proof_path)
    check_proof_fields(doc, str(proof_path))
    groth16_proof(doc, str(proof_path))
    return doc, proof_calldata(doc["proof"], public_signals(doc, str(proof_path)))


def verify_onchain(proof_path: Path, bundle: Path | None, rpc: str | None, key_file: Path | None,
                   address: str | None) -> dict:
    """Checks the proof file against its bundle (as `zkml verify`) and then on chain. Whatever
    stops the on-chain check (no node, no verifier, a compiler missing) is CannotCheck: the proof
    was not found invalid. ``gas`` is that of a verifyProof transaction (``verify_gas``)."""
    from zkml.bundle.claims import check_inference

    local = check_inference(proof_path, bundle)  # also finds the bundle when not given
    doc, args = _proof_args(proof_path)
    try:
        r = _onchain(local.bundle, args, rpc, key_file, address)
    except CannotCheck:
        raise
    except ZkmlError as e:
        raise CannotCheck(f"cannot verify on chain: {e}") from None
    return {**r, "local": local.ok, "reason": local.reason, "bundle": str(local.bundle)}


def _onchain(bundle: Path, args: tuple, rpc: str | None, key_file: Path | None, address: str | None) -> dict:
    from zkml.evm.chain import call_verify, connect, deploy
    from zkml.evm.chain import code_hash as chain_code_hash

    art = artifact(bundle)
    if rpc is None:
        chain = connect(None)
        d = deploy(chain, art["bytecode"], art["abi"])
        address = d["address"]
        code_hash = d["code_hash"]
    else:
        manifest = store.read_manifest(bundle)
        chain = connect(rpc, key_file, read_only=True)  # calls only: no key needed, nothing is spent
        recorded = [d for d in manifest.get("deployments", []) if d["chain_id"] == chain.chain_id]
        if address is None:
            if not recorded:
                raise ZkmlError(f"no deployment of {bundle} on chain {chain.chain_id}; run `zkml deploy {bundle} --rpc {rpc}` or pass --address")
            address = recorded[-1]["address"]
        code_hash = chain_code_hash(chain, bytes.fromhex(art["deployed_bytecode"][2:]))
    ok, gas, how = call_verify(chain, _address(address), art["abi"], args, code_hash, measure=True)
    return {"onchain": ok, "gas": gas, "gas_source": how, "address": address, "chain_id": chain.chain_id,
            "rpc": rpc or "embedded"}


def _address(address: str) -> str:
    from web3 import Web3

    try:
        return Web3.to_checksum_address(address)
    except Exception:
        raise ZkmlError(f"--address {address[:50]!r} is not an address (0x and 40 hex digits)") from None


def calldata(proof_path: Path) -> str:
    """The arguments of verifyProof as `snarkjs zkey generatecall` prints them."""
    return format_calldata(_proof_args(proof_path)[1])


def format_calldata(args: tuple) -> str:
    """verifyProof's arguments (chain.proof_calldata's tuple) in `snarkjs zkey generatecall`'s
    format; a lookup proof's D comes after c, as the lookup verifier takes it."""
    a, b, c, *d, inputs = args
    h = lambda v: '"0x' + format(v, "064x") + '"'  # noqa: E731
    pairs = "".join(f",[{h(p[0])}, {h(p[1])}]" for p in [c, *d])
    return (f"[{h(a[0])}, {h(a[1])}],[[{h(b[0][0])}, {h(b[0][1])}],[{h(b[1][0])}, {h(b[1][1])}]]"
            f"{pairs},[{', '.join(h(x) for x in inputs)}]")
