"""AttestationRegistry on the embedded chain: access control, proofs checked inside the call,
no record for failing proofs, unregistered or revoked models, or proofs replayed elsewhere."""

import json

import pytest
from click.testing import CliRunner
from eth_utils import keccak

from conftest import FIXTURES
from zkml.cli import main
from zkml.errors import ZkmlError
from zkml.evm import chain as C
from zkml.evm import registry as REG
from zkml.evm.solc import compile_contract
from zkml.evm.verifier_gen import generate_solidity
from zkml.formats.snarkjs_json import read_vk


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    owner = C.connect()
    other = C.Chain(owner.w3, owner.w3.eth.accounts[1], None, "embedded chain")
    reg = REG.deploy_registry(owner)["address"]
    verifiers = {}
    for name, vk_path in (("A", FIXTURES / "verification_key.json"), ("B", None)):
        if vk_path is None:  # a second key for the same circuit: another verifier
            d = tmp_path_factory.mktemp("keyB")
            r = CliRunner()
            assert r.invoke(main, ["groth16", "setup", str(FIXTURES / "multiplier.r1cs"), str(d / "k.zkey"), "--dev"]).exit_code == 0
            assert r.invoke(main, ["groth16", "export-vk", str(d / "k.zkey"), str(d / "vk.json")]).exit_code == 0
            vk_path = d / "vk.json"
        art = compile_contract(generate_solidity(read_vk(vk_path)), "Groth16Verifier")
        verifiers[name] = C.deploy(owner, art["bytecode"], art["abi"])["address"]
    proof = json.loads((FIXTURES / "proof.json").read_text())
    args = C.proof_calldata(proof, [33])
    return owner, other, reg, verifiers, args


def mid(s: str) -> bytes:
    return keccak(text=s)


def reg_model(chain, reg, name, verifier, vk_hash=b"\x01" * 32, n_public=1) -> int:
    REG.register(chain, reg, mid(name), f"file:///models/{name}")
    return REG.add_verifier(chain, reg, mid(name), verifier, vk_hash, n_public, "inference", "")


def test_register_submit_and_records(world):
    owner, other, reg, verifiers, args = world
    assert reg_model(owner, reg, "model-A", verifiers["A"]) == 0
    with pytest.raises(ZkmlError, match="AlreadyRegistered"):
        REG.register(other, reg, mid("model-A"), "")
    with pytest.raises(ZkmlError, match="NotOwner"):  # only the owner adds verifiers
        REG.add_verifier(other, reg, mid("model-A"), verifiers["B"], b"\x00" * 32, 1, "inference", "")
    with pytest.raises(ZkmlError, match="UnknownModel"):
        REG.add_verifier(owner, reg, mid("model-X"), verifiers["A"], b"\x00" * 32, 1, "inference", "")
    with pytest.raises(ZkmlError, match="NoVerifierCode"):
        REG.add_verifier(owner, reg, mid("model-A"), "0x" + "22" * 20, b"\x00" * 32, 1, "inference", "")
    att, tx = REG.submit(other, reg, mid("model-A"), 0, args)
    rec = REG.attestations(owner, reg)[att]
    assert rec["valid_until"] == 0 and REG.is_valid(owner, reg, att)  # no expiry
    assert rec["claim_hash"] == "0x" + keccak((33).to_bytes(32, "big")).hex()
    assert rec["submitter"] == other.sender and not rec["revoked"] and rec["verifier_index"] == 0
    m = REG.model(owner, reg, mid("model-A"))
    assert m["owner"] == owner.sender and m["verifiers"][0]["address"] == verifiers["A"]
    assert REG.model(owner, reg, mid("nobody")) is None


def test_failing_or_misdirected_proofs_are_never_recorded(world):
    owner, other, reg, verifiers, args = world
    a, b, c, inp = args
    before = len(REG.attestations(owner, reg))
    with pytest.raises(ZkmlError, match="ProofRejected"):
        REG.submit(owner, reg, mid("model-A"), 0, (a, b, c, [34]))  # wrong public input
    with pytest.raises(ZkmlError, match="ProofRejected"):  # a tampered proof point
        REG.submit(owner, reg, mid("model-A"), 0, ([a[0], a[1] + 1], b, c, inp))
    with pytest.raises(ZkmlError, match="UnknownModel"):
        REG.submit(owner, reg, mid("never-registered"), 0, args)
    with pytest.raises(ZkmlError, match="UnknownVerifier"):
        REG.submit(owner, reg, mid("model-A"), 5, args)
    with pytest.raises(ZkmlError, match="WrongPublicInputCount"):
        REG.submit(owner, reg, mid("model-A"), 0, (a, b, c, [33, 1]))
    reg_model(owner, reg, "model-B", verifiers["B"], b"\x02" * 32)
    with pytest.raises(ZkmlError, match="ProofRejected"):  # a proof for model A replayed under model B
        REG.submit(owner, reg, mid("model-B"), 0, args)
    assert len(REG.attestations(owner, reg)) == before


def test_valid_until_is_recorded_and_expires(world):
    owner, other, reg, verifiers, args = world
    import time

    reg_model(owner, reg, "model-D", verifiers["A"], b"\x04" * 32)
    until = int(time.time()) + 3600
    att, _ = REG.submit(owner, reg, mid("model-D"), 0, args, until)
    assert REG.attestations(owner, reg)[att]["valid_until"] == until and REG.is_valid(owner, reg, att)
    with pytest.raises(ZkmlError, match="AlreadyExpired"):  # a date already past is never recorded
        REG.submit(owner, reg, mid("model-D"), 0, args, 1_000_000)
    owner.w3.provider.ethereum_tester.time_travel(until + 1)  # the chain's clock passes the date
    owner.w3.provider.ethereum_tester.mine_blocks(1)
    assert not REG.is_valid(owner, reg, att) and not REG.is_valid(owner, reg, 10_000)


def test_only_owners_revoke(world):
    owner, other, reg, verifiers, args = world
    reg_model(owner, reg, "model-C", verifiers["A"], b"\x03" * 32)
    att, _ = REG.submit(owner, reg, mid("model-C"), 0, args)
    with pytest.raises(ZkmlError, match="NotOwner"):
        REG.revoke_attestation(other, reg, att)
    with pytest.raises(ZkmlError, match="UnknownAttestation"):
        REG.revoke_attestation(owner, reg, 10_000)
    REG.revoke_attestation(owner, reg, att)
    assert REG.attestations(owner, reg)[att]["revoked"]
    with pytest.raises(ZkmlError, match="NotOwner"):
        REG.revoke_model(other, reg, mid("model-C"))
    REG.revoke_model(owner, reg, mid("model-C"))
    assert REG.model(owner, reg, mid("model-C"))["revoked"]
    with pytest.raises(ZkmlError, match="ModelIsRevoked"):
        REG.submit(owner, reg, mid("model-C"), 0, args)
    with pytest.raises(ZkmlError, match="ModelIsRevoked"):
        REG.add_verifier(owner, reg, mid("model-C"), verifiers["A"], b"\x00" * 32, 1, "inference", "")


def test_registry_address_with_other_code(world):
    owner, _, _, verifiers, _ = world
    with pytest.raises(ZkmlError, match="not an AttestationRegistry"):
        REG.attestations(owner, verifiers["A"])  # a verifier is not a registry
    with pytest.raises(ZkmlError, match="no contract"):
        REG.attestations(owner, "0x" + "33" * 20)
