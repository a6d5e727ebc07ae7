"""Solidity verifiers on the embedded chain and on an anvil devnet the tests start and stop:
valid proofs pass, every tampering fails, and snarkjs's own verifier agrees with ours."""

import json
import os
import socket
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import FIXTURES, ROOT, node_tool, run_tool
from zkml.cli import main
from zkml.crypto.bn254 import Q, R
from zkml.errors import ZkmlError
from zkml.evm import chain as C
from zkml.evm.solc import compile_contract
from zkml.evm.verifier_gen import generate_solidity
from zkml.formats.snarkjs_json import read_vk

MODELS = ROOT / "models"


@pytest.fixture(scope="module")
def embedded():
    ch = C.connect()
    vk = read_vk(FIXTURES / "verification_key.json")
    ours = compile_contract(generate_solidity(vk), "Groth16Verifier")
    contracts = {"zkml": (C.deploy(ch, ours["bytecode"], ours["abi"])["address"], ours["abi"])}
    snarkjs = node_tool("snarkjs")
    out = FIXTURES.parent / "fixtures" / "_snarkjs_verifier.sol"
    res = run_tool(snarkjs, "zkey", "export", "solidityverifier", FIXTURES / "multiplier.zkey", out)
    assert res.returncode == 0, res.stderr
    theirs = compile_contract(out.read_text(), "Groth16Verifier")
    out.unlink()
    contracts["snarkjs"] = (C.deploy(ch, theirs["bytecode"], theirs["abi"])["address"], theirs["abi"])
    return ch, contracts


def verdicts(ch, contracts, args):
    return {name: C.call_verify(ch, addr, abi, args)[0] for name, (addr, abi) in contracts.items()}


def test_valid_and_tampered_proofs_agree_with_snarkjs_verifier(embedded):
    ch, contracts = embedded
    proof = json.loads((FIXTURES / "proof.json").read_text())
    public = [33]
    a, b, c, inp = C.proof_calldata(proof, public)
    assert verdicts(ch, contracts, (a, b, c, inp)) == {"zkml": True, "snarkjs": True}
    cases = {
        "wrong public input": (a, b, c, [34]),
        "public input + r (alias)": (a, b, c, [33 + R]),
        "public input = r": (a, b, c, [R]),
        "A coordinate + q": ([a[0] + Q, a[1]], b, c, inp),
        "C coordinate >= q": (a, b, [c[0], c[1] + Q], inp),
        "B swapped": (a, [b[1], b[0]], c, inp),
        "A negated": ([a[0], Q - a[1]], b, c, inp),
        "C replaced by A": (a, b, a, inp),
    }
    for name, args in cases.items():
        got = verdicts(ch, contracts, args)
        assert got["zkml"] is False, name
        assert got == {"zkml": False, "snarkjs": False}, f"{name}: {got}"


def test_proof_of_another_circuit_is_rejected(embedded, tmp_path):
    """A valid proof for another key (same shape) fails against this verifier."""
    ch, contracts = embedded
    d = tmp_path
    runner = CliRunner()
    assert runner.invoke(main, ["groth16", "setup", str(FIXTURES / "multiplier.r1cs"), str(d / "k.zkey"), "--dev"]).exit_code == 0
    res = runner.invoke(main, ["groth16", "prove", str(d / "k.zkey"), str(FIXTURES / "witness.wtns"), str(d / "p.json"), str(d / "pub.json")])
    assert res.exit_code == 0, res.output
    other = json.loads((d / "p.json").read_text())
    assert verdicts(ch, contracts, C.proof_calldata(other, [33])) == {"zkml": False, "snarkjs": False}


@pytest.fixture(scope="module")
def cnn_bundle(tmp_path_factory):
    d = tmp_path_factory.mktemp("evm")
    bundle = d / "cnn"
    runner = CliRunner()
    res = runner.invoke(main, ["compile", str(MODELS / "digits_cnn.onnx"), "-c", str(MODELS / "digits_cnn_calibration.npz"),
                               "-o", str(bundle), "--public-signals", "hash"])
    assert res.exit_code == 0, res.output
    assert runner.invoke(main, ["setup", str(bundle)]).exit_code == 0
    (d / "x.json").write_text(json.dumps(np.load(MODELS / "digits_cnn_test.npz")["x"][0].tolist()))
    assert runner.invoke(main, ["prove", str(bundle), "-i", str(d / "x.json"), "-o", str(d / "proof.json")]).exit_code == 0
    assert runner.invoke(main, ["contract", str(bundle)]).exit_code == 0
    return bundle, d / "proof.json"


def verify_tx_gas(chain, bundle, proof, address=None) -> int:
    """gasUsed of a verifyProof transaction for PROOF, sent here (deploying the verifier when no address)."""
    art = json.loads((bundle / "verifier.json").read_text())
    address = address or C.deploy(chain, art["bytecode"], art["abi"])["address"]
    doc = json.loads(proof.read_text())
    fn = chain.w3.eth.contract(address=address, abi=art["abi"]).functions.verifyProof(
        *C.proof_calldata(doc["proof"], [int(x) for x in doc["public_signals"]]))
    receipt = chain.send({"to": address, "data": fn._encode_transaction_data(), "gas": 3_000_000})
    assert receipt["status"] == 1
    return int(receipt["gasUsed"])


def test_cnn_claim_verifies_on_the_embedded_chain(cnn_bundle):
    bundle, proof = cnn_bundle
    res = CliRunner().invoke(main, ["verify", str(proof), "--onchain"])
    assert res.exit_code == 0 and "OK" in res.output, res.output
    line = res.stdout.strip()
    assert "\n" not in line and line.startswith("OK: verified on chain ") and ", gas used " in line
    gas = int(line.split("gas used")[1].strip().replace(",", ""))
    doc = json.loads(CliRunner().invoke(main, ["verify", str(proof), "--onchain", "--json"]).stdout)
    assert doc["verdict"] == "VALID" and doc["onchain"]["valid"] and doc["onchain"]["gas_source"] == "transaction receipt"
    assert doc["onchain"]["gas_used"] == gas
    assert abs(gas - verify_tx_gas(C.connect(), bundle, proof)) <= gas // 100  # the transaction's own figure
    assert gas > 150_000  # five pairings: not eth_estimateGas's figure, which is the gas of a false result
    calldata = CliRunner().invoke(main, ["calldata", str(proof)])
    assert calldata.exit_code == 0 and calldata.output.count("0x") == 11  # A 2 + B 4 + C 2 + D 2 + 1 public


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_anvil_deploy_and_verify_as_separate_commands(cnn_bundle, tmp_path, monkeypatch):
    node_tool("snarkjs")  # node_modules present
    bundle, proof = cnn_bundle
    data = tmp_path / "chain"
    port = free_port()
    runner = CliRunner()
    up = runner.invoke(main, ["chain", "up", "--data-dir", str(data), "--port", str(port)])
    assert up.exit_code == 0, up.output
    try:
        rpc = f"http://127.0.0.1:{port}"
        assert runner.invoke(main, ["chain", "status", "--data-dir", str(data)]).exit_code == 0
        key = data / "dev.key"
        dep = runner.invoke(main, ["deploy", str(bundle), "--rpc", rpc, "--private-key-file", str(key), "--json"])
        assert dep.exit_code == 0, dep.output
        assert key.read_text().strip() not in dep.output  # the secret is never echoed
        deployed = json.loads(dep.stdout)
        manifest = json.loads((bundle / "manifest.json").read_text())
        assert manifest["deployments"][-1]["chain_id"] == 31337 == deployed["chain_id"]
        assert manifest["deployments"][-1]["address"] == deployed["address"] and deployed["tx_hash"].startswith("0x")
        # the gas printed is the verifyProof transaction's gasUsed (the real command, piped: one line)
        env = {k: v for k, v in os.environ.items() if k != C.KEY_ENV} | {"COLUMNS": "40"}
        res = subprocess.run([str(ROOT / ".venv" / "bin" / "zkml"), "verify", str(proof), "--onchain", "--rpc", rpc],
                             capture_output=True, text=True, timeout=300, env=env)  # no key: calls only
        assert res.returncode == 0, res.stderr
        lines = res.stdout.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"OK: verified on chain 31337 at {deployed['address']}, gas used ")
        printed = int(lines[0].rsplit(" ", 1)[1].replace(",", ""))
        chain = C.connect(rpc, key)
        assert abs(printed - verify_tx_gas(chain, bundle, proof, deployed["address"])) <= printed // 100
        doc = json.loads(runner.invoke(main, ["verify", str(proof), "--onchain", "--rpc", rpc, "--json"]).stdout)
        assert doc["onchain"]["gas_used"] == printed and doc["onchain"]["gas_source"] == "eth_createAccessList"
        # a node that reports no gas of a call: the least gas limit at which the verifier says true, so named
        monkeypatch.setattr(C, "_request", lambda *a: None)
        res = runner.invoke(main, ["verify", str(proof), "--onchain", "--rpc", rpc])
        assert res.exit_code == 0 and "least gas limit" in res.stdout
        least = int(res.stdout.split("least gas limit ")[1].split()[0].replace(",", ""))
        assert printed <= least <= printed * 1.03
        monkeypatch.undo()
        # an address with no code, and one with other code: nothing to check against (2)
        empty = "0x" + "11" * 20
        res = runner.invoke(main, ["verify", str(proof), "--onchain", "--rpc", rpc, "--address", empty])
        assert res.exit_code == 2 and "no contract" in res.stderr
        vk = read_vk(FIXTURES / "verification_key.json")
        art = compile_contract(generate_solidity(vk), "Groth16Verifier")
        other_addr = C.deploy(chain, art["bytecode"], art["abi"])["address"]
        res = runner.invoke(main, ["verify", str(proof), "--onchain", "--rpc", rpc, "--address", other_addr, "--json"])
        assert res.exit_code == 2 and "not this bundle's verifier" in res.stderr
        assert json.loads(res.stdout)["verdict"] == "CANNOT CHECK"
        # a proof the verifier rejects: 1, and no gas figure
        doc = json.loads(proof.read_text())
        doc["proof"]["pi_a"][1] = str(Q - int(doc["proof"]["pi_a"][1]))
        (tmp_path / "neg.json").write_text(json.dumps(doc))
        res = runner.invoke(main, ["verify", str(tmp_path / "neg.json"), "--onchain", "--rpc", rpc, "--bundle", str(bundle), "--json"])
        doc = json.loads(res.stdout)
        assert res.exit_code == 1 and doc["verdict"] == "INVALID" and doc["onchain"]["valid"] is False
        assert doc["onchain"]["gas_used"] is None
        # a key with no funds
        (tmp_path / "poor.key").write_text("0x" + "42" * 32)
        res = runner.invoke(main, ["deploy", str(bundle), "--rpc", rpc, "--private-key-file", str(tmp_path / "poor.key")])
        assert res.exit_code == 1 and "insufficient funds" in res.output and "42" * 32 not in res.output
        with pytest.raises(ZkmlError, match="recorded on chain 1"):
            C.connect(rpc, key, expect_chain_id=1)
    finally:
        assert runner.invoke(main, ["chain", "down", "--data-dir", str(data)]).exit_code == 0
    assert runner.invoke(main, ["chain", "status", "--data-dir", str(data)]).exit_code == 1
    assert (data / "state.json").exists()


def test_unreachable_rpc_and_missing_key(tmp_path, cnn_bundle):
    port = free_port()
    with pytest.raises(ZkmlError, match="cannot reach"):
        C.connect(f"http://127.0.0.1:{port}", None)
    res = CliRunner().invoke(main, ["verify", str(cnn_bundle[1]), "--onchain", "--rpc", f"http://127.0.0.1:{port}"])
    assert res.exit_code == 2 and "cannot reach" in res.stderr  # cannot check, not invalid
    os.environ.pop(C.KEY_ENV, None)


def test_no_compiler_is_a_clear_error(monkeypatch):
    from zkml.evm import solc

    monkeypatch.setattr(solc, "SOLCJS", ROOT / "no-such-folder")
    monkeypatch.setattr(solc, "_native", lambda: None)
    with pytest.raises(ZkmlError, match="make install"):
        solc.compile_contract("contract X {}", "X")
