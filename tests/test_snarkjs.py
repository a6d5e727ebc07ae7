"""Cross-checks with the real snarkjs and circom2 from node_modules (installed by make install)."""

import shutil

import pytest

from conftest import FIXTURES, ROOT, node_tool, run_tool

pytestmark = pytest.mark.snarkjs

ZKML = ROOT / ".venv" / "bin" / "zkml"


def zkml(*args, cwd=None):
    res = run_tool(ZKML, *args, cwd=cwd)
    return res


def snarkjs(*args, cwd=None):
    return run_tool(node_tool("snarkjs"), *args, cwd=cwd)


def test_our_setup_and_proof_verify_in_snarkjs(circom_multiplier, tmp_path):
    d = circom_multiplier
    assert zkml("groth16", "setup", d / "multiplier.r1cs", tmp_path / "c.zkey", "--dev").returncode == 0
    assert zkml("groth16", "export-vk", tmp_path / "c.zkey", tmp_path / "vk.json").returncode == 0
    res = zkml("groth16", "prove", tmp_path / "c.zkey", d / "witness.wtns", tmp_path / "proof.json", tmp_path / "public.json")
    assert res.returncode == 0, res.stderr
    ok = snarkjs("groth16", "verify", tmp_path / "vk.json", tmp_path / "public.json", tmp_path / "proof.json")
    assert ok.returncode == 0 and "OK" in ok.stdout
    (tmp_path / "wrong.json").write_text('["34"]')
    bad = snarkjs("groth16", "verify", tmp_path / "vk.json", tmp_path / "wrong.json", tmp_path / "proof.json")
    assert bad.returncode != 0 or "Invalid" in bad.stdout + bad.stderr
    # and snarkjs proves from our zkey; we verify its proof
    res = snarkjs("groth16", "prove", tmp_path / "c.zkey", d / "witness.wtns", tmp_path / "sp.json", tmp_path / "spub.json")
    assert res.returncode == 0, res.stderr
    assert zkml("groth16", "verify", tmp_path / "vk.json", tmp_path / "spub.json", tmp_path / "sp.json").returncode == 0
    assert zkml("groth16", "verify", tmp_path / "vk.json", tmp_path / "wrong.json", tmp_path / "sp.json").returncode == 1


def test_we_prove_from_a_snarkjs_zkey_and_circom_witness(circom_multiplier, tmp_path):
    d = circom_multiplier
    res = zkml("groth16", "prove", FIXTURES / "multiplier.zkey", d / "witness.wtns",
               tmp_path / "proof.json", tmp_path / "public.json", "--r1cs", d / "multiplier.r1cs")
    assert res.returncode == 0, res.stderr
    ok = snarkjs("groth16", "verify", FIXTURES / "verification_key.json", tmp_path / "public.json", tmp_path / "proof.json")
    assert ok.returncode == 0 and "OK" in ok.stdout


def test_snarkjs_accepts_our_ptau_and_we_accept_theirs(circom_multiplier, tmp_path):
    d = circom_multiplier
    assert zkml("groth16", "ptau-new", "5", tmp_path / "dev.ptau").returncode == 0
    res = snarkjs("groth16", "setup", d / "multiplier.r1cs", tmp_path / "dev.ptau", tmp_path / "s0.zkey")
    assert res.returncode == 0, res.stdout + res.stderr
    assert snarkjs("zkey", "contribute", tmp_path / "s0.zkey", tmp_path / "s1.zkey", "-e=x").returncode == 0
    assert snarkjs("zkey", "export", "verificationkey", tmp_path / "s1.zkey", tmp_path / "vk.json").returncode == 0
    assert zkml("groth16", "prove", tmp_path / "s1.zkey", d / "witness.wtns", tmp_path / "p.json", tmp_path / "pub.json").returncode == 0
    ok = snarkjs("groth16", "verify", tmp_path / "vk.json", tmp_path / "pub.json", tmp_path / "p.json")
    assert "OK" in ok.stdout
    # our setup from snarkjs's own ceremony file
    res = zkml("groth16", "setup", d / "multiplier.r1cs", tmp_path / "o.zkey", "--ptau", FIXTURES / "pot4_final.ptau")
    assert res.returncode == 0, res.stderr
    assert zkml("groth16", "export-vk", tmp_path / "o.zkey", tmp_path / "ovk.json").returncode == 0
    assert zkml("groth16", "prove", tmp_path / "o.zkey", d / "witness.wtns", tmp_path / "op.json", tmp_path / "opub.json").returncode == 0
    ok = snarkjs("groth16", "verify", tmp_path / "ovk.json", tmp_path / "opub.json", tmp_path / "op.json")
    assert "OK" in ok.stdout


def test_larger_circom_circuit_both_ways(tmp_path):
    """A 300-constraint chain compiled by circom2: our proof in snarkjs, snarkjs's in ours."""
    circom = node_tool("circom2")
    src = (ROOT / "examples" / "circom" / "chain.circom.in").read_text().replace("@N@", "300")
    (tmp_path / "chain.circom").write_text(src)
    assert run_tool(circom, tmp_path / "chain.circom", "--r1cs", "--wasm", "-o", tmp_path).returncode == 0
    (tmp_path / "in.json").write_text('{"x": "5"}')
    assert snarkjs("wtns", "calculate", tmp_path / "chain_js" / "chain.wasm", tmp_path / "in.json", tmp_path / "w.wtns").returncode == 0
    assert zkml("groth16", "ptau-new", "10", tmp_path / "p.ptau").returncode == 0
    assert zkml("groth16", "setup", tmp_path / "chain.r1cs", tmp_path / "c.zkey", "--ptau", tmp_path / "p.ptau").returncode == 0
    assert zkml("groth16", "export-vk", tmp_path / "c.zkey", tmp_path / "vk.json").returncode == 0
    assert zkml("groth16", "prove", tmp_path / "c.zkey", tmp_path / "w.wtns", tmp_path / "p.json", tmp_path / "pub.json").returncode == 0
    assert "OK" in snarkjs("groth16", "verify", tmp_path / "vk.json", tmp_path / "pub.json", tmp_path / "p.json").stdout
    assert snarkjs("groth16", "prove", tmp_path / "c.zkey", tmp_path / "w.wtns", tmp_path / "sp.json", tmp_path / "spub.json").returncode == 0
    assert zkml("groth16", "verify", tmp_path / "vk.json", tmp_path / "spub.json", tmp_path / "sp.json").returncode == 0
    shutil.rmtree(tmp_path / "chain_js")
