"""Keys bound to models (issue 18): a deterministic compile that `zkml compile --rebuild`
reproduces byte for byte, and `zkml groth16 verify-key` / `zkml verify-key`, which accept a key
made for exactly this circuit and refuse one made for another model, another calibration, one
changed weight, or with a tampered contribution or point."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import FIXTURES, MODELS, ROOT, ok, zkml

BC = MODELS / "breast_cancer.onnx"
BC_CAL = MODELS / "breast_cancer_calibration.npz"


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    ok("compile", BC, "-c", BC_CAL, "-o", d / "bc")
    ok("setup", d / "bc")
    cal = np.load(BC_CAL)
    np.savez(d / "other_cal.npz", **{k: cal[k] * 0.25 for k in cal.files})  # another calibration
    ok("compile", BC, "-c", d / "other_cal.npz", "-o", d / "bc_other_cal")
    ok("setup", d / "bc_other_cal")
    return d


def _compile_in_fresh_process(out, seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "zkml.cli", "compile", str(BC), "-c", str(BC_CAL), "-o", str(out)],
                   check=True, env=env, capture_output=True)
    return json.loads((out / "manifest.json").read_text())["files"]["circuit.r1cs"]


def test_same_r1cs_in_fresh_processes_with_other_hash_seeds(tmp_path):
    a = _compile_in_fresh_process(tmp_path / "a", "1")
    b = _compile_in_fresh_process(tmp_path / "b", "4242")
    assert a == b
    assert (tmp_path / "a" / "circuit.r1cs").read_bytes() == (tmp_path / "b" / "circuit.r1cs").read_bytes()


def test_rebuild_matches_and_names_a_missing_field(bundles, tmp_path):
    res = ok("compile", "--rebuild", bundles / "bc", "--json")
    assert json.loads(res.output)["match"] is True
    res = ok("compile", "--rebuild", bundles / "bc" / "manifest.json", BC, "-c", BC_CAL)
    assert "MATCH" in res.output
    res = zkml("compile", "--rebuild", bundles / "bc", BC, "-c", bundles / "other_cal.npz")
    assert res.exit_code == 2 and "calibration" in res.output
    m = json.loads((bundles / "bc" / "manifest.json").read_text())
    del m["build"]["calibration_sha256"]
    (tmp_path / "manifest.json").write_text(json.dumps(m))
    res = zkml("compile", "--rebuild", tmp_path / "manifest.json", BC)
    assert res.exit_code == 2
    assert "field 'build.calibration_sha256' is missing" in res.output and len(res.output.strip().splitlines()) == 1


def test_other_calibration_gives_another_circuit(bundles):
    a = json.loads((bundles / "bc" / "manifest.json").read_text())
    b = json.loads((bundles / "bc_other_cal" / "manifest.json").read_text())
    assert a["files"]["circuit.r1cs"] != b["files"]["circuit.r1cs"]


def test_bundle_key_ok_and_other_models_fail(bundles, tmp_path):
    res = ok("verify-key", bundles / "bc", "--onnx", BC)
    assert res.output.startswith("key ok")
    res = zkml("verify-key", bundles / "bc", "--onnx", MODELS / "digits_mlp.onnx", "--json")
    assert res.exit_code == 1 and json.loads(res.output)["key"].startswith("key FAIL")
    from test_attest import _one_weight_changed

    _one_weight_changed(BC, tmp_path / "changed.onnx")
    res = zkml("verify-key", bundles / "bc", "--onnx", tmp_path / "changed.onnx")
    assert res.exit_code == 1 and "key FAIL" in res.output and "changed.onnx" in res.output


def test_key_of_another_calibration_fails(bundles):
    """The key and ptau of the bundle compiled from another calibration, against this R1CS."""
    other = bundles / "bc_other_cal"
    res = zkml("groth16", "verify-key", bundles / "bc" / "circuit.r1cs", other / "phase1_dev.ptau",
               other / "circuit.zkey", "--json")
    assert res.exit_code == 1, res.output
    rep = json.loads(res.output)
    assert rep["key"].startswith("key FAIL")
    # the right pairing of files passes
    ok("groth16", "verify-key", other / "circuit.r1cs", other / "phase1_dev.ptau", other / "circuit.zkey")


def _tampered(src, dest, change):
    from zkml.formats.zkey import read_zkey, write_zkey

    pk = read_zkey(src)
    change(pk)
    write_zkey(dest, pk)
    return dest


def test_tampered_contribution_and_points_fail(bundles, tmp_path):
    from zkml.crypto.bn254 import G1_GENERATOR, g1_to_array

    b = bundles / "bc"
    args = (b / "circuit.r1cs", b / "phase1_dev.ptau")
    ok("groth16", "verify-key", *args, b / "circuit.zkey")

    def pok(pk):
        pk.contributions[0].g1_sx = G1_GENERATOR

    def chain(pk):
        pk.contributions[0].delta_after = G1_GENERATOR

    def c_point(pk):
        pk.c[5] = g1_to_array(G1_GENERATOR)

    def h_point(pk):
        pk.h[0] = g1_to_array(G1_GENERATOR)

    def a_point(pk):
        pk.a[3] = g1_to_array(G1_GENERATOR)

    def round_pok(pk):  # a lookup key's second delta has records of its own
        pk.round_contributions[0].g1_sx = G1_GENERATOR

    def round_c_point(pk):  # a point committed in D, over delta_round
        pk.c[pk.n_round1 - 1] = g1_to_array(G1_GENERATOR)

    def late_c_point(pk):  # a round-2 point, over delta
        pk.c[pk.n_round1] = g1_to_array(G1_GENERATOR)

    from zkml.formats.zkey import read_zkey

    assert read_zkey(b / "circuit.zkey").has_lookups  # the default compile has lookups
    for change, words in ((pok, "contribution 1"), (chain, "contribution 1"), (c_point, "C points"),
                          (h_point, "H points"), (a_point, "A points"), (round_pok, "delta_round contribution 1"),
                          (round_c_point, "round-1 C points"), (late_c_point, "round-2 C points")):
        z = _tampered(b / "circuit.zkey", tmp_path / f"{change.__name__}.zkey", change)
        res = zkml("groth16", "verify-key", *args, z)
        assert res.exit_code == 1 and "key FAIL" in res.output and words in res.output, (change.__name__, res.output)


def test_ptau_too_small_or_unreadable_cannot_check(bundles):
    b = bundles / "bc"
    res = zkml("groth16", "verify-key", b / "circuit.r1cs", FIXTURES / "pot4_final.ptau", b / "circuit.zkey")
    assert res.exit_code == 2 and "larger .ptau" in res.output
    res = zkml("groth16", "verify-key", b / "circuit.r1cs", b / "circuit.zkey", b / "circuit.zkey")
    assert res.exit_code == 2


@pytest.mark.snarkjs
def test_agrees_with_snarkjs_zkey_verify(tmp_path):
    """snarkjs-made keys (snarkjs records): both accept the key, both refuse it tampered."""
    if not shutil.which("snarkjs"):
        pytest.skip("snarkjs not on PATH")
    r1cs, ptau = FIXTURES / "multiplier.r1cs", FIXTURES / "pot4_final.ptau"
    z2 = tmp_path / "m2.zkey"
    subprocess.run(["snarkjs", "zkey", "contribute", str(FIXTURES / "multiplier.zkey"), str(z2), "--name=two",
                    "-e=entropy"], check=True, capture_output=True)
    from zkml.crypto.bn254 import G1_GENERATOR, g1_to_array

    def h_point(pk):
        pk.h[1] = g1_to_array(G1_GENERATOR)

    def pok(pk):
        pk.contributions[1].g1_sx = G1_GENERATOR

    for z, good in ((z2, True), (_tampered(z2, tmp_path / "h.zkey", h_point), False),
                    (_tampered(z2, tmp_path / "pok.zkey", pok), False)):
        theirs = subprocess.run(["snarkjs", "zkey", "verify", str(r1cs), str(ptau), str(z)], capture_output=True, text=True)
        snarkjs_ok = theirs.returncode == 0 and "ZKey Ok!" in theirs.stdout
        ours = zkml("groth16", "verify-key", r1cs, ptau, z)
        assert snarkjs_ok is good and (ours.exit_code == 0) is good, (z, theirs.stdout[-300:], ours.output)
