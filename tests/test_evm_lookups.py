"""The generated Solidity verifier for lookup (two-round) keys on the embedded chain: an honest
proof of the hand-written LogUp circuit verifies within the gas budget; a tampered D, A or C, a
challenge hashed without the public signals, and aliased or wrong public inputs all answer
false (never a revert); verifyBatch rejects a batch holding one bad proof; the contract's
challenge is challenge.py's; plain keys still get today's contract byte for byte; the registry,
`zkml contract`, `zkml deploy` and the on-chain half of `verify --onchain` carry D."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random

import pytest
from click.testing import CliRunner
from eth_abi import encode
from eth_utils import keccak
from py_ecc import optimized_bn128 as bn

from conftest import FIXTURES, ROOT, logup_circuit
from zkml.crypto.bn254 import Q, R, g1_from_pyecc, g1_to_pyecc, ints_to_limbs
from zkml.errors import ZkmlError
from zkml.evm import chain as C
from zkml.evm.solc import compile_contract
from zkml.evm.verifier_gen import generate_solidity
from zkml.formats.snarkjs_json import proof_to_json, read_vk, vk_to_json
from zkml.groth16.challenge import challenge
from zkml.groth16.prover import prove
from zkml.groth16.setup import DevTau, setup_from_secrets

GAS_BUDGET = 260_000  # issue 16: one verifyProof of a lookup circuit with one public signal, as tx gasUsed
# sha256 of the plain contract generated from tests/fixtures/verification_key.json before lookup
# keys existed: a change to it must be deliberate (the plain verifier's code is what auditors compare)
PLAIN_CONTRACT_SHA256 = "aba4ac598aa7a2374dd8b6b99a239eb2fd7a01677dfb06a6f822f1a6f37db3d8"


def _args(proof, public) -> tuple:
    return C.proof_calldata(proof_to_json(proof), public)


def _plus_g(p: list) -> list:
    return list(g1_from_pyecc(bn.add(g1_to_pyecc(tuple(p)), bn.G1)))


@pytest.fixture(scope="module")
def world():
    r1cs, w1, complete = logup_circuit([1, 2, 2, 5, 7, 0])
    pk = setup_from_secrets(r1cs, DevTau.random())
    proofs = [prove(pk, ints_to_limbs(w1), r1cs=r1cs, complete=complete) for _ in range(3)]
    vk = pk.verifying_key()
    art = compile_contract(generate_solidity(vk), "Groth16Verifier")
    ch = C.connect()
    address = C.deploy(ch, art["bytecode"], art["abi"])["address"]
    c = ch.w3.eth.contract(address=address, abi=art["abi"])
    return dict(pk=pk, w1=w1, complete=complete, vk=vk, art=art, ch=ch, address=address, c=c,
                args=[_args(p, pub) for p, pub in proofs])


def verdict(world, args) -> bool:
    return C.call_verify(world["ch"], world["address"], world["art"]["abi"], args)[0]


def test_honest_lookup_proof_verifies_within_the_gas_budget(world):
    args = world["args"][0]
    assert len(args) == 5 and len(args[-1]) == 1  # a, b, c, d, one public signal
    ok, gas, how = C.call_verify(world["ch"], world["address"], world["art"]["abi"], args, measure=True)
    print(f"lookup verifyProof, 1 public signal: {gas:,} gas ({how})")
    assert ok and how == "transaction receipt"
    assert gas <= GAS_BUDGET


def test_tampered_d_is_rejected(world):
    a, b, c, d, inp = world["args"][0]
    cases = {
        "D + G (another valid point)": _plus_g(d),
        "D negated (a valid point)": [d[0], Q - d[1]],
        "D off the curve": [d[0], (d[1] + 1) % Q],
        "D.x + q": [d[0] + Q, d[1]],
        "D.y + q": [d[0], d[1] + Q],
        "D = identity (0, 0)": [0, 0],
        "D of another proof": world["args"][1][3],
    }
    for name, bad in cases.items():
        assert verdict(world, (a, b, c, bad, inp)) is False, name


def test_tampered_a_b_c_are_rejected(world):
    a, b, c, d, inp = world["args"][0]
    cases = {
        "A + G": (_plus_g(a), b, c, d, inp),
        "C + G": (a, b, _plus_g(c), d, inp),
        "A coordinate + q": ([a[0] + Q, a[1]], b, c, d, inp),
        "C coordinate >= q": (a, b, [c[0], c[1] + Q], d, inp),
        "B swapped": (a, [b[1], b[0]], c, d, inp),
    }
    for name, args in cases.items():
        assert verdict(world, args) is False, name


def test_wrong_or_aliased_public_inputs_are_rejected(world):
    a, b, c, d, (x,) = world["args"][0]
    for bad in (x + R, R, 2**256 - 1, x + 1):
        assert verdict(world, (a, b, c, d, [bad])) is False, bad


def test_challenge_hashed_without_the_public_signals_is_rejected(world, monkeypatch):
    import zkml.groth16.challenge as ch

    real = ch.challenge
    monkeypatch.setattr(ch, "challenge", lambda vk, pub, d, digest=None: real(vk, [], d, digest))
    proof, public = prove(world["pk"], ints_to_limbs(world["w1"]), complete=world["complete"], check=False)
    monkeypatch.setattr(ch, "challenge", real)
    assert verdict(world, _args(proof, public)) is False


def test_plain_form_call_is_refused(world):
    """A proof without D (the plain verifyProof's calldata) meets no function: false, not true."""
    a, b, c, _, inp = world["args"][0]
    sel = keccak(text="verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[1])")[:4]
    data = sel + encode(["uint256[2]", "uint256[2][2]", "uint256[2]", "uint256[1]"], [a, b, c, inp])
    tx = {"to": world["address"], "data": "0x" + data.hex(), "gas": 1_000_000}
    assert C._returns_true(world["ch"], tx, "latest") is False


def test_verify_batch(world):
    c = world["c"]
    cols = [list(col) for col in zip(*world["args"])]  # a, b, c, d, input
    assert c.functions.verifyBatch(*cols).call()

    def with_d(i, d):
        bad = [list(col) for col in cols]
        bad[3][i] = d
        return bad

    d1 = cols[3][1]
    for name, bad in {"D + G": with_d(1, _plus_g(d1)), "D off the curve": with_d(1, [d1[0], (d1[1] + 1) % Q]),
                      "D.x + q": with_d(1, [d1[0] + Q, d1[1]]), "D = (0, 0)": with_d(1, [0, 0])}.items():
        assert not c.functions.verifyBatch(*bad).call(), name
    for x in (cols[4][2][0] + 1, cols[4][2][0] + R):
        bad = [list(col) for col in cols]
        bad[4][2] = [x]
        assert not c.functions.verifyBatch(*bad).call()
    bad = [list(col) for col in cols]
    bad[3] = bad[3][:-1]  # lengths differ
    assert not c.functions.verifyBatch(*bad).call()
    assert not c.functions.verifyBatch([], [], [], [], []).call()


def test_batch_with_a_proof_hashed_without_public_signals_is_rejected(world, monkeypatch):
    import zkml.groth16.challenge as ch

    real = ch.challenge
    monkeypatch.setattr(ch, "challenge", lambda vk, pub, d, digest=None: real(vk, [], d, digest))
    proof, public = prove(world["pk"], ints_to_limbs(world["w1"]), complete=world["complete"], check=False)
    monkeypatch.setattr(ch, "challenge", real)
    cols = [list(col) for col in zip(*world["args"], _args(proof, public))]
    assert not world["c"].functions.verifyBatch(*cols).call()


def test_solidity_challenge_equals_challenge_py(world):
    rng = random.Random(16)
    vk, c = world["vk"], world["c"]
    for _ in range(12):
        public, d = [rng.randrange(R)], (rng.randrange(2**256), rng.randrange(2**256))
        assert c.functions.challenge(public, list(d)).call() == challenge(vk, public, d)
    assert c.functions.challenge([0], [0, 0]).call() == challenge(vk, [0], None)  # the identity is (0, 0)
    # several public signals: a key of the same points with three (not a real key: only its hash matters)
    vk3 = dataclasses.replace(vk, n_public=3, ic=[vk.ic[0], vk.ic[1], vk.ic[1], vk.ic[0], vk.ic[2]])
    art = compile_contract(generate_solidity(vk3), "Groth16Verifier")
    ch = world["ch"]
    c3 = ch.w3.eth.contract(address=C.deploy(ch, art["bytecode"], art["abi"])["address"], abi=art["abi"])
    for _ in range(6):
        public, d = [rng.randrange(R) for _ in range(3)], (rng.randrange(Q), rng.randrange(Q))
        assert c3.functions.challenge(public, list(d)).call() == challenge(vk3, public, d)


def test_plain_keys_generate_todays_contract():
    src = generate_solidity(read_vk(FIXTURES / "verification_key.json"))
    assert hashlib.sha256(src.encode()).hexdigest() == PLAIN_CONTRACT_SHA256
    assert "uint256[2] calldata d" not in src and "{{" not in src


def test_registry_records_and_audits_a_lookup_attestation(world, tmp_path):
    from zkml.attest import document as D
    from zkml.attest.audit import audit
    from zkml.evm import registry as REG

    ch, vk = world["ch"], world["vk"]
    vk_json = vk_to_json(vk)
    (tmp_path / "vk.json").write_text(json.dumps(vk_json))
    reg = REG.deploy_registry(ch)["address"]
    mid = keccak(text="lookup-model")
    REG.register(ch, reg, mid, "")
    index = REG.add_verifier(ch, reg, mid, world["address"], bytes.fromhex(D.vk_sha256(vk_json)), 1, "inference",
                             (tmp_path / "vk.json").as_uri())
    a, b, c, d, inp = world["args"][0]
    with pytest.raises(ZkmlError, match="ProofRejected"):  # a tampered D is never recorded
        REG.submit(ch, reg, mid, index, (a, b, c, _plus_g(d), inp))
    with pytest.raises(ZkmlError, match="ProofRejected"):  # nor a proof sent without D (the plain form)
        REG.submit(ch, reg, mid, index, (a, b, c, inp))
    att, _ = REG.submit(ch, reg, mid, index, world["args"][0])
    assert REG.attestations(ch, reg)[att]["claim_hash"] == D.claim_hash(inp)
    rows = audit(ch, reg, model="0x" + mid.hex())
    assert len(rows) == 1 and rows[0].ok, rows[0].checks
    assert set(rows[0].checks) >= {"vk", "bytecode", "claim", "proof", "on chain"}


def test_contract_deploy_and_onchain_verify_of_a_lookup_bundle(world, tmp_path):
    """`zkml contract` and `zkml deploy` on a bundle whose key is a lookup key, and the on-chain
    half of `verify --onchain` (the bundle comes from a plain compile; its key is replaced)."""
    from zkml.bundle import store
    from zkml.cli import main
    from zkml.evm import onchain

    bundle = tmp_path / "bc"
    runner = CliRunner()
    res = runner.invoke(main, ["compile", str(ROOT / "models" / "breast_cancer.onnx"), "-c",
                               str(ROOT / "models" / "breast_cancer_calibration.npz"), "-o", str(bundle),
                               "--public-signals", "hash"])
    assert res.exit_code == 0, res.output
    (bundle / store.VK_FILE).write_text(json.dumps(vk_to_json(world["vk"]), indent=1) + "\n")
    manifest = json.loads((bundle / store.MANIFEST).read_text())
    manifest["files"][store.VK_FILE] = store.sha256_file(bundle / store.VK_FILE)
    (bundle / store.MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    res = runner.invoke(main, ["contract", str(bundle)])
    assert res.exit_code == 0, res.output
    art = json.loads((bundle / onchain.ARTIFACT_FILE).read_text())
    assert art["deployed_bytecode"] == world["art"]["deployed_bytecode"]
    assert "uint256[2] calldata d" in (bundle / onchain.SOL_FILE).read_text()
    res = runner.invoke(main, ["deploy", str(bundle), "--json"])
    assert res.exit_code == 0, res.output
    r = onchain._onchain(bundle, world["args"][0], None, None, None)
    assert r["onchain"] is True and r["gas"] <= GAS_BUDGET
    a, b, c, d, inp = world["args"][0]
    h = lambda v: f'"0x{v:064x}"'  # noqa: E731
    assert onchain.format_calldata(world["args"][0]).endswith(f"[{h(c[0])}, {h(c[1])}],[{h(d[0])}, {h(d[1])}],[{h(inp[0])}]")


def test_proof_file_fields_carry_d(world):
    """A proof file's proof object (what `verify --onchain` and `zkml calldata` read) keeps D;
    D under a plain protocol, or a lookup protocol without D, is refused."""
    from zkml.bundle.claim_fields import check_proof_fields, groth16_proof
    from zkml.errors import FormatError

    proof, _ = prove(world["pk"], ints_to_limbs(world["w1"]), complete=world["complete"])
    doc = {"proof": proof_to_json(proof)}
    check_proof_fields(doc, "p.json")
    assert groth16_proof(doc, "p.json").d == proof.d
    assert C.proof_calldata(doc["proof"], [1])[3] == list(proof.d)
    with pytest.raises(FormatError, match="protocol"):
        check_proof_fields({"proof": {**doc["proof"], "protocol": "groth16"}}, "p.json")
    no_d = {k: v for k, v in doc["proof"].items() if k != "pi_d"}
    with pytest.raises(FormatError, match="protocol"):
        check_proof_fields({"proof": no_d}, "p.json")
