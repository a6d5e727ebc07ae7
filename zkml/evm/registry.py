"""The AttestationRegistry contract (verifier_contracts/AttestationRegistry.sol) from Python:
compile, deploy, register a bundle's model, submit a proof file as an attestation, revoke, list."""

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
    if not chain.w3.eth.get_code(address):
        raise ZkmlError(f"{chain.name}: no contract at {address}; is it the registry's address?")
    return chain.w3.eth.contract(address=address, abi=artifact()["abi"])


def _transact(chain: Chain, fn, what: str) -> dict:
    try:
        fn.call({"from": chain.sender})  # surfaces the revert reason before spending gas
    except Exception as e:
        raise ZkmlError(f"{chain.name}: {what} rejected: {_reason(e)}") from None
    tx = fn.build_transaction({"from": chain.sender, "gas": 2_000_000})
    return chain.send({"to": tx["to"], "data": tx["data"], "gas": 2_000_000})


_ERRORS = {"NotOwner": "()", "AlreadyRegistered": "()", "UnknownModel": "()", "ModelIsRevoked": "()",
           "WrongPublicInputCount": "(uint256,uint256)", "ProofRejected": "()", "NoVerifierCode": "()"}


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


def register(chain: Chain, registry: str, model_id: bytes, verifier: str, vk_hash: bytes, n_public: int, uri: str) -> dict:
    c = contract(chain, registry)
    return _transact(chain, c.functions.registerModel(model_id, verifier, vk_hash, n_public, uri), "registration")


def revoke_model(chain: Chain, registry: str, model_id: bytes) -> dict:
    return _transact(chain, contract(chain, registry).functions.revokeModel(model_id), "revocation")


def submit(chain: Chain, registry: str, model_id: bytes, args: tuple) -> int:
    a, b, c, inputs = args
    receipt = _transact(chain, contract(chain, registry).functions.submitAttestation(model_id, a, b, c, list(inputs)), "attestation")
    logs = contract(chain, registry).events.AttestationRecorded().process_receipt(receipt)
    return int(logs[0]["args"]["id"])


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
        model_id, claim_hash, submitter, block, ts, revoked = c.functions.attestations(i).call()
        out.append({"id": i, "model_id": model_id.hex(), "claim_hash": claim_hash.hex(), "submitter": submitter,
                    "block": block, "timestamp": ts, "revoked": revoked})
    return out
