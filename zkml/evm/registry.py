"""The AttestationRegistry contract (verifier_contracts/AttestationRegistry.sol) from Python:
compile, deploy, register a model and add its verifiers, submit proofs as attestations, revoke,
list. Reverts come back as ZkmlError naming the contract's custom error."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from zkml.errors import ZkmlError
from zkml.evm.chain import Chain, deploy

SOURCE = Path(__file__).resolve().parent.parent.parent / "verifier_contracts" / "AttestationRegistry.sol"
CONTRACT = "AttestationRegistry"


@lru_cache(maxsize=1)
def artifact() -> dict:
    from zkml.evm.solc import compile_contract

    return compile_contract(SOURCE.read_text(), CONTRACT)


def deploy_registry(chain: Chain) -> dict:
    art = artifact()
    return deploy(chain, art["bytecode"], art["abi"])


def contract(chain: Chain, address: str):
    from web3 import Web3

    if not Web3.is_address(address):
        raise ZkmlError(f"{address!r} is not an address (0x and 40 hex digits)")
    address = Web3.to_checksum_address(address)
    if not chain.w3.eth.get_code(address):
        hint = ("; the embedded chain lives inside one process only: run `zkml chain up` and pass --rpc"
                if chain.name == "embedded chain" else "")
        raise ZkmlError(f"{chain.name}: no contract at {address}; is it the registry's address?{hint}")
    return chain.w3.eth.contract(address=address, abi=artifact()["abi"])


def _transact(chain: Chain, fn, what: str) -> dict:
    try:
        fn.call({"from": chain.sender})  # surfaces the revert reason before spending gas
    except Exception as e:
        raise ZkmlError(f"{chain.name}: {what} rejected: {_reason(e)}") from None
    tx = fn.build_transaction({"from": chain.sender, "gas": 2_000_000})
    return chain.send({"to": tx["to"], "data": tx["data"], "gas": 2_000_000})


_ERRORS = {"NotOwner": "()", "AlreadyRegistered": "()", "UnknownModel": "()", "ModelIsRevoked": "()",
           "UnknownVerifier": "()", "UnknownAttestation": "()",
           "WrongPublicInputCount": "(uint256,uint256)", "ProofRejected": "()", "NoVerifierCode": "()",
           "AlreadyExpired": "(uint64)"}


def _reason(e: Exception) -> str:
    """The registry's custom error name from a revert, whichever way the client reports it."""
    import ast
    import re

    from eth_utils import keccak

    selectors = {keccak(text=name + sig)[:4]: name for name, sig in _ERRORS.items()}
    msg = str(e)
    candidates = []
    for a in getattr(e, "args", ()):
        if isinstance(a, (bytes, bytearray)):
            candidates.append(bytes(a))
        elif isinstance(a, str) and a.startswith("0x"):
            candidates.append(bytes.fromhex(a[2:]))
    for lit in re.findall(r"b'(?:[^'\\]|\\.)*'|b\"(?:[^\"\\]|\\.)*\"", msg):
        try:
            candidates.append(ast.literal_eval(lit))
        except (ValueError, SyntaxError):
            pass
    for hexdata in re.findall(r"0x[0-9a-fA-F]{8,}", msg):
        candidates.append(bytes.fromhex(hexdata[2:]))
    for data in candidates:
        if data[:4] in selectors:
            return selectors[data[:4]]
    return msg.splitlines()[0][:160]


def register(chain: Chain, registry: str, model_id: bytes, uri: str) -> dict:
    """Register a model; the sender becomes its owner."""
    return _transact(chain, contract(chain, registry).functions.registerModel(model_id, uri), "registration")


def add_verifier(chain: Chain, registry: str, model_id: bytes, verifier: str, vk_hash: bytes, n_public: int,
                 kind: str, vk_uri: str) -> int:
    """Add a verifier to the sender's model; returns its index."""
    c = contract(chain, registry)
    receipt = _transact(chain, c.functions.addVerifier(model_id, verifier, vk_hash, n_public, kind, vk_uri), "adding a verifier")
    return int(c.events.VerifierAdded().process_receipt(receipt)[0]["args"]["index"])


def model(chain: Chain, registry: str, model_id: bytes) -> dict | None:
    """The registered model with its verifiers, or None when it is not registered."""
    c = contract(chain, registry)
    try:
        owner, revoked, uri, count = c.functions.models(model_id).call()
    except Exception:
        raise ZkmlError(f"{chain.name}: the contract at {registry} is not an AttestationRegistry") from None
    if int(owner, 16) == 0:
        return None
    verifiers = []
    for i in range(count):
        address, vk_hash, n_public, kind, vk_uri = c.functions.verifierOf(model_id, i).call()
        verifiers.append({"index": i, "address": address, "vk_hash": bytes(vk_hash), "n_public": n_public,
                          "kind": kind, "vk_uri": vk_uri})
    return {"owner": owner, "revoked": revoked, "metadata_uri": uri, "verifiers": verifiers}


def revoke_model(chain: Chain, registry: str, model_id: bytes) -> dict:
    return _transact(chain, contract(chain, registry).functions.revokeModel(model_id), "revocation")


def submit(chain: Chain, registry: str, model_id: bytes, verifier_index: int, args: tuple,
           valid_until: int = 0) -> tuple[int, str]:
    """(attestation id, transaction hash) of a proof accepted by the registry, recorded valid
    until ``valid_until`` (unix seconds; 0: no expiry); ``args`` as chain.proof_calldata gives
    them (a lookup proof's, with D, go to submitLookupAttestation)."""
    fns = contract(chain, registry).functions
    if len(args) == 5:
        a, b, c, d, inputs = args
        fn = fns.submitLookupAttestation(model_id, verifier_index, a, b, c, d, list(inputs), int(valid_until))
    else:
        a, b, c, inputs = args
        fn = fns.submitAttestation(model_id, verifier_index, a, b, c, list(inputs), int(valid_until))
    receipt = _transact(chain, fn, "attestation")
    logs = contract(chain, registry).events.AttestationRecorded().process_receipt(receipt)
    return int(logs[0]["args"]["id"]), "0x" + bytes(receipt["transactionHash"]).hex().removeprefix("0x")


def is_valid(chain: Chain, registry: str, att_id: int) -> bool:
    """The registry's own answer: recorded, not revoked, model not revoked, not expired (by block time)."""
    return bool(contract(chain, registry).functions.isValid(att_id).call())


def revoke_attestation(chain: Chain, registry: str, att_id: int) -> dict:
    return _transact(chain, contract(chain, registry).functions.revokeAttestation(att_id), "attestation revocation")


def attestations(chain: Chain, registry: str) -> list[dict]:
    c = contract(chain, registry)
    try:
        count = c.functions.attestationCount().call()
    except Exception:
        raise ZkmlError(f"{chain.name}: the contract at {registry} is not an AttestationRegistry") from None
    out = []
    for i in range(count):
        model_id, index, claim_hash, submitter, block, ts, valid_until, revoked = c.functions.attestations(i).call()
        out.append({"id": i, "model_id": "0x" + bytes(model_id).hex(), "verifier_index": index,
                    "claim_hash": "0x" + bytes(claim_hash).hex(), "submitter": submitter,
                    "block": block, "timestamp": ts, "valid_until": valid_until, "revoked": revoked})
    return out
