"""Chains: the embedded in-process EVM (eth-tester + py-evm, the default) or any JSON-RPC node.

For a node, the signing key comes from ``--private-key-file`` or the ``ZKML_PRIVATE_KEY``
environment variable; it is held in memory only and never printed or logged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from zkml.errors import ZkmlError

RPC_TIMEOUT_S = 10
KEY_ENV = "ZKML_PRIVATE_KEY"


@dataclass
class Chain:
    w3: object
    sender: str
    key: object | None  # eth_account LocalAccount for remote nodes; None on the embedded chain
    name: str

    @property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    def send(self, tx: dict) -> dict:
        """Send a transaction and wait for its receipt; insufficient funds etc. become one line."""
        tx = {**tx, "from": self.sender}
        try:
            if self.key is None:
                h = self.w3.eth.send_transaction(tx)
            else:
                tx.setdefault("nonce", self.w3.eth.get_transaction_count(self.sender))
                tx.setdefault("chainId", self.chain_id)
                tx.setdefault("gasPrice", self.w3.eth.gas_price)
                if "gas" not in tx:
                    tx["gas"] = int(self.w3.eth.estimate_gas(tx) * 1.2)
                signed = self.key.sign_transaction(tx)
                h = self.w3.eth.send_raw_transaction(signed.raw_transaction)
            return dict(self.w3.eth.wait_for_transaction_receipt(h, timeout=120))
        except ZkmlError:
            raise
        except Exception as e:  # web3 raises many types; the message is what the user needs
            msg = str(e)
            if "insufficient funds" in msg.lower():
                raise ZkmlError(f"{self.name}: account {self.sender} has insufficient funds for this transaction; fund it and retry") from None
            raise ZkmlError(f"{self.name}: transaction failed: {msg.splitlines()[0][:200]}") from None


def load_key(private_key_file: Path | None, purpose: str = "--rpc"):
    from eth_account import Account

    if private_key_file:
        try:
            raw = Path(private_key_file).read_text().strip()
        except OSError as e:
            raise ZkmlError(f"{private_key_file}: cannot read the private key file ({e.strerror})") from None
    else:
        raw = os.environ.get(KEY_ENV, "").strip()
    if not raw:
        raise ZkmlError(f"a signing key is needed for {purpose}: pass --private-key-file FILE or set {KEY_ENV}")
    try:
        return Account.from_key(raw)
    except Exception:
        raise ZkmlError("the private key is not a valid 32-byte hex key (its value is not shown)") from None


_embedded: Chain | None = None


def embedded() -> Chain:
    """The process's in-process chain: one per process, so commands run in one process (the
    demo, tests) see each other's contracts; it vanishes when the process exits."""
    global _embedded
    if _embedded is None:
        from web3 import EthereumTesterProvider, Web3

        w3 = Web3(EthereumTesterProvider())
        _embedded = Chain(w3, w3.eth.accounts[0], None, "embedded chain")
    return _embedded


def connect(rpc: str | None = None, private_key_file: Path | None = None, expect_chain_id: int | None = None,
            read_only: bool = False) -> Chain:
    from web3 import Web3

    if rpc is None:
        return embedded()
    w3 = Web3(Web3.HTTPProvider(rpc, request_kwargs={"timeout": RPC_TIMEOUT_S}))
    try:
        chain_id = int(w3.eth.chain_id)
    except Exception as e:
        raise ZkmlError(f"cannot reach the JSON-RPC node at {rpc} ({type(e).__name__}); is it running? (`zkml chain up` starts a local one)") from None
    if expect_chain_id is not None and chain_id != expect_chain_id:
        raise ZkmlError(f"{rpc} is chain {chain_id}, but the deployment was recorded on chain {expect_chain_id}; use the right --rpc")
    if read_only and private_key_file is None and not os.environ.get(KEY_ENV):
        return Chain(w3, None, None, rpc)  # calls only: no key needed
    key = load_key(private_key_file)
    return Chain(w3, key.address, key, rpc)


def deploy(chain: Chain, bytecode: str, abi: list) -> dict:
    contract = chain.w3.eth.contract(abi=abi, bytecode=bytecode)
    tx = contract.constructor().build_transaction({"from": chain.sender, "gas": 5_000_000} if chain.key is None else {"from": chain.sender})
    receipt = chain.send({k: v for k, v in tx.items() if k in ("data", "gas", "value", "to")} | ({"gas": 5_000_000} if chain.key is None else {}))
    if not receipt.get("contractAddress") or receipt.get("status") != 1:
        raise ZkmlError(f"{chain.name}: deployment failed (status {receipt.get('status')})")
    code = chain.w3.eth.get_code(receipt["contractAddress"])
    return {"chain_id": chain.chain_id, "address": receipt["contractAddress"], "tx_hash": hex0x(receipt["transactionHash"]),
            "gas_used": int(receipt["gasUsed"]), "code_hash": code_hash(chain, code)}


def hex0x(b: bytes) -> str:
    return "0x" + bytes(b).hex()


def code_hash(chain: Chain, code: bytes) -> str:
    """keccak256 of contract code, 0x-prefixed (as explorers and `cast keccak` print it)."""
    return hex0x(chain.w3.keccak(bytes(code)))


CALL_GAS = 10_000_000  # verifying calls run at this limit (or the block's, if lower): far above any verifier's need


def call_verify(chain: Chain, address: str, abi: list, args: tuple, expected_code_hash: str | None = None,
                measure: bool = False) -> tuple[bool, int | None, str | None]:
    """(result, gas used, how it was measured) of verifyProof(args); checks the address holds the
    expected code. Gas only when ``measure`` and the result is true, as ``verify_gas`` finds it."""
    code = chain.w3.eth.get_code(address)
    if not code:
        raise ZkmlError(f"{chain.name}: no contract at {address}; deploy with `zkml deploy` or pass the right --address")
    if expected_code_hash and code_hash(chain, code) != expected_code_hash:
        raise ZkmlError(f"{chain.name}: the contract at {address} is not this bundle's verifier (its code differs)")
    fn = chain.w3.eth.contract(address=address, abi=abi).functions.verifyProof(*args)
    latest = chain.w3.eth.get_block("latest")
    tx = {"to": address, "data": fn._encode_transaction_data(), "gas": min(CALL_GAS, int(latest["gasLimit"]))}
    if chain.sender:
        tx["from"] = chain.sender
    block = int(latest["number"])
    ok = _returns_true(chain, tx, block)
    if not (measure and ok):
        return ok, None, None
    return (ok, *verify_gas(chain, tx, block))


def _returns_true(chain: Chain, tx: dict, block) -> bool:
    """eth_call of a bool function: true only for exactly the ABI encoding of true (a revert, an
    out-of-gas failure or any other return data is false)."""
    try:
        out = bytes(chain.w3.eth.call(tx, block))
    except Exception as e:  # a revert, or the node refused the call
        if _is_revert(e):
            return False
        raise ZkmlError(f"{chain.name}: eth_call failed: {str(e).splitlines()[0][:200]}") from None
    return out == TRUE_WORD


TRUE_WORD = (1).to_bytes(32, "big")


def _is_revert(e: Exception) -> bool:
    from web3.exceptions import ContractLogicError

    return isinstance(e, ContractLogicError) or "revert" in str(e).lower() or "out of gas" in str(e).lower()


def verify_gas(chain: Chain, tx: dict, block: int) -> tuple[int, str]:
    """The gasUsed of ``tx`` (a call that returned true at ``tx['gas']`` on ``block``) as a
    transaction would report it, never eth_estimateGas: that finds the least gas at which the call
    does not revert, and a verifier short of gas for its pairing returns false instead (the
    figure is then a quarter of the real cost). The embedded chain sends the transaction and reads
    its receipt (free); a node is asked for the gas of the same execution (eth_createAccessList,
    else debug_traceCall, whose output is checked to be true), and one that offers neither gets
    the least gas limit at which eth_call returns true (a little above gasUsed: the pairing
    precompile must be handed 64/63 of its cost)."""
    if chain.key is None and chain is _embedded:
        receipt = chain.send({k: v for k, v in tx.items() if k != "from"})
        if receipt.get("status") != 1:
            raise ZkmlError(f"{chain.name}: the verifyProof transaction failed (status {receipt.get('status')})")
        return int(receipt["gasUsed"]), "transaction receipt"
    rpc_tx = {k: (hex(v) if isinstance(v, int) else v) for k, v in tx.items()}
    got = _request(chain, "eth_createAccessList", [rpc_tx, hex(block)])
    if isinstance(got, dict) and got.get("gasUsed") and not got.get("error") and not got.get("accessList"):
        return int(got["gasUsed"], 16), "eth_createAccessList"
    got = _request(chain, "debug_traceCall", [rpc_tx, hex(block), {"tracer": "callTracer"}])
    if isinstance(got, dict) and got.get("gasUsed") and not got.get("error"):
        if str(got.get("output", "")).lower() != "0x" + TRUE_WORD.hex():
            raise ZkmlError(f"{chain.name}: debug_traceCall says verifyProof returned {got.get('output')}, eth_call said true")
        return int(got["gasUsed"], 16), "debug_traceCall"
    return _least_true_gas(chain, tx, block), "least gas limit"


def _request(chain: Chain, method: str, params: list):
    """A raw JSON-RPC request's result, or None when the node does not offer the method."""
    try:
        res = chain.w3.provider.make_request(method, params)
    except Exception:
        return None
    return res.get("result") if isinstance(res, dict) and "error" not in res else None


def _least_true_gas(chain: Chain, tx: dict, block: int) -> int:
    lo, hi = 21_000, tx["gas"]  # the call returns false at lo (less than any transaction's intrinsic gas), true at hi
    while hi - lo > max(100, hi // 2000):  # within 0.05%
        mid = (lo + hi) // 2
        try:
            true = _returns_true(chain, {**tx, "gas": mid}, block)
        except ZkmlError:  # "intrinsic gas too low" and other refusals of a small limit
            true = False
        if true:
            hi = mid
        else:
            lo = mid
    return hi


def proof_calldata(proof_json: dict, public: list[int]) -> tuple:
    """verifyProof's arguments from a snarkjs-shaped proof: b in the precompile's order; a lookup
    proof (with ``pi_d``) gives (a, b, c, d, input), the lookup verifier's argument order."""
    a = [int(proof_json["pi_a"][0]), int(proof_json["pi_a"][1])]
    b = [[int(proof_json["pi_b"][0][1]), int(proof_json["pi_b"][0][0])],
         [int(proof_json["pi_b"][1][1]), int(proof_json["pi_b"][1][0])]]
    c = [int(proof_json["pi_c"][0]), int(proof_json["pi_c"][1])]
    if "pi_d" in proof_json:
        d = [int(proof_json["pi_d"][0]), int(proof_json["pi_d"][1])]
        return a, b, c, d, [int(x) for x in public]
    return a, b, c, [int(x) for x in public]
