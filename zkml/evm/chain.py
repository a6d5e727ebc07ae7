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
    return {"chain_id": chain.chain_id, "address": receipt["contractAddress"], "tx_hash": receipt["transactionHash"].hex(),
            "gas_used": int(receipt["gasUsed"]), "code_hash": chain.w3.keccak(code).hex()}


def call_verify(chain: Chain, address: str, abi: list, args: tuple, expected_code_hash: str | None = None) -> tuple[bool, int]:
    """(result, gas) of verifyProof(args) as a call; checks the address holds the expected code."""
    code = chain.w3.eth.get_code(address)
    if not code:
        raise ZkmlError(f"{chain.name}: no contract at {address}; deploy with `zkml deploy` or pass the right --address")
    if expected_code_hash and chain.w3.keccak(code).hex() != expected_code_hash:
        raise ZkmlError(f"{chain.name}: the contract at {address} is not this bundle's verifier (its code differs)")
    c = chain.w3.eth.contract(address=address, abi=abi)
    fn = c.functions.verifyProof(*args)
    ok = bool(fn.call({"from": chain.sender}))
    gas = int(fn.estimate_gas({"from": chain.sender}))
    return ok, gas


def proof_calldata(proof_json: dict, public: list[int]) -> tuple:
    """verifyProof's arguments from a snarkjs-shaped proof: b in the precompile's order."""
    a = [int(proof_json["pi_a"][0]), int(proof_json["pi_a"][1])]
    b = [[int(proof_json["pi_b"][0][1]), int(proof_json["pi_b"][0][0])],
         [int(proof_json["pi_b"][1][1]), int(proof_json["pi_b"][1][0])]]
    c = [int(proof_json["pi_c"][0]), int(proof_json["pi_c"][1])]
    return a, b, c, [int(x) for x in public]
