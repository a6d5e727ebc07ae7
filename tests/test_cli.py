"""The CLI on bad input: one line naming the file and what to do, non-zero exit, no traceback,
no partial output."""


import pytest
from click.testing import CliRunner

from conftest import FIXTURES, ROOT, run_tool
from zkml.cli import main


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_version():
    res = invoke("--version")
    assert res.exit_code == 0 and "zkml, version" in res.output


def test_truncated_zkey(tmp_path):
    bad = tmp_path / "bad.zkey"
    bad.write_bytes((FIXTURES / "multiplier.zkey").read_bytes()[:500])
    res = invoke("groth16", "prove", bad, FIXTURES / "witness.wtns", tmp_path / "p.json", tmp_path / "pub.json")
    assert res.exit_code == 1
    assert "bad.zkey" in res.output and "truncated" in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "p.json").exists()


def test_unsatisfied_witness_names_constraint(tmp_path):
    from zkml.formats.wtns import read_wtns, write_wtns

    w = read_wtns(FIXTURES / "witness.wtns")
    w[1, 0] += 1  # c = a*b no longer holds
    write_wtns(tmp_path / "w.wtns", w)
    res = invoke("groth16", "prove", FIXTURES / "multiplier.zkey", tmp_path / "w.wtns",
                 tmp_path / "p.json", tmp_path / "pub.json", "--r1cs", FIXTURES / "multiplier.r1cs")
    assert res.exit_code == 1 and "constraint 0 of 1" in res.output
    assert not (tmp_path / "p.json").exists()
    # without the r1cs the proof is checked before anything is written
    res = invoke("groth16", "prove", FIXTURES / "multiplier.zkey", tmp_path / "w.wtns",
                 tmp_path / "p.json", tmp_path / "pub.json")
    assert res.exit_code == 1 and "does not satisfy" in res.output
    assert not (tmp_path / "p.json").exists()


def test_mismatched_zkey_and_witness(tmp_path):
    from zkml.formats.wtns import read_wtns, write_wtns

    w = read_wtns(FIXTURES / "witness.wtns")
    write_wtns(tmp_path / "w.wtns", w[:3])
    res = invoke("groth16", "prove", FIXTURES / "multiplier.zkey", tmp_path / "w.wtns", tmp_path / "p.json")
    assert res.exit_code == 1 and "different circuits" in res.output


def test_setup_needs_exactly_one_source(tmp_path):
    res = invoke("groth16", "setup", FIXTURES / "multiplier.r1cs", tmp_path / "k.zkey")
    assert res.exit_code == 1 and "--ptau" in res.output and not (tmp_path / "k.zkey").exists()


def test_setup_ptau_too_small(tmp_path):
    from conftest import chain_circuit
    from zkml.formats.r1cs import write_r1cs

    r1cs, _ = chain_circuit(40)
    write_r1cs(tmp_path / "c.r1cs", r1cs)
    res = invoke("groth16", "setup", tmp_path / "c.r1cs", tmp_path / "k.zkey", "--ptau", FIXTURES / "pot4_final.ptau")
    assert res.exit_code == 1 and "pot4_final.ptau" in res.output and "2^7" in res.output
    assert not (tmp_path / "k.zkey").exists()


def test_verify_outcomes(tmp_path):
    ok = invoke("groth16", "verify", FIXTURES / "verification_key.json", FIXTURES / "public.json", FIXTURES / "proof.json")
    assert ok.exit_code == 0 and "OK" in ok.output
    (tmp_path / "pub.json").write_text('["34"]')
    bad = invoke("groth16", "verify", FIXTURES / "verification_key.json", tmp_path / "pub.json", FIXTURES / "proof.json")
    assert bad.exit_code == 1 and "INVALID" in bad.output
    (tmp_path / "alias.json").write_text(f'["{33 + 21888242871839275222246405745257275088548364400416034343698204186575808495617}"]')
    alias = invoke("groth16", "verify", FIXTURES / "verification_key.json", tmp_path / "alias.json", FIXTURES / "proof.json")
    assert alias.exit_code == 1 and "not in [0, r)" in alias.output


def test_contribute_and_export(tmp_path):
    res = invoke("groth16", "contribute", FIXTURES / "multiplier.zkey", tmp_path / "k2.zkey", "--name", "t")
    assert res.exit_code == 0, res.output
    res = invoke("groth16", "export-vk", tmp_path / "k2.zkey", tmp_path / "vk.json")
    assert res.exit_code == 0 and (tmp_path / "vk.json").exists()


def test_real_process_prints_no_traceback(tmp_path):
    zkml = ROOT / ".venv" / "bin" / "zkml"
    if not zkml.exists():
        pytest.skip("no venv console script")
    (tmp_path / "x.zkey").write_bytes(b"zkey")
    res = run_tool(zkml, "groth16", "export-vk", tmp_path / "x.zkey", tmp_path / "vk.json")
    assert res.returncode == 1
    assert "Traceback" not in res.stderr and "x.zkey" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "vk.json").exists()


