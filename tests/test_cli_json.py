"""Output a script can read, through the real `zkml` command: `--json` on every command that
reports a result (one object on stdout, logs on stderr), exit codes 0 valid / 1 invalid /
2 cannot check on the verifying commands, long lines unbroken when piped, a reader that leaves
early. One example model (breast cancer, the smallest) is compiled, set up and proved once."""

import json
import os
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from conftest import FIXTURES, MODELS, ROOT
from zkml.cli import main
from zkml.crypto.bn254 import Q

ZKML = ROOT / ".venv" / "bin" / "zkml"
pytestmark = pytest.mark.skipif(not ZKML.exists(), reason="no venv console script")


def run(*args, env=None, **kw):
    """The real command, stdout a pipe, a narrow COLUMNS that rich must not wrap to."""
    return subprocess.run([str(ZKML), *map(str, args)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "40", **(env or {})}, **kw)


def as_json(res) -> dict:
    """The command's stdout is exactly one JSON object; stderr holds no JSON and no traceback."""
    assert "Traceback" not in res.stderr, res.stderr
    assert "\x1b[" not in res.stdout + res.stderr  # piped: no escape codes
    return json.loads(res.stdout)


def error_line(res) -> str:
    lines = res.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], res.stderr
    return errors[0]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """compile, setup and prove --json of the breast-cancer MLP: the bundle, the proof, each result."""
    import numpy as np

    d = tmp_path_factory.mktemp("json")
    (d / "x.json").write_text(json.dumps(np.load(MODELS / "breast_cancer_test.npz")["x"][0].tolist()))
    results = {}
    for name, args in (("compile", ("compile", MODELS / "breast_cancer.onnx", "-c", MODELS / "breast_cancer_calibration.npz",
                                    "-o", d / "bc")),
                       ("setup", ("setup", d / "bc")),
                       ("prove", ("prove", d / "bc", "-i", d / "x.json", "-o", d / "proof.json"))):
        res = run(*args, "--json")
        assert res.returncode == 0, res.stderr
        assert "done in" in res.stderr  # the log line stays on stderr
        results[name] = as_json(res)
    return d, results


def test_compile_setup_prove_json(made):
    d, r = made
    c = r["compile"]
    assert c["bundle"] == str(d / "bc") and c["circuit"]["constraints"] > 500 and c["circuit"]["public"] >= 1
    assert c["fidelity"]["argmax_agreement"] == json.loads((d / "bc" / "fidelity.json").read_text())["argmax_agreement"]
    assert c["input_visibility"] == "public" and c["public_signals"] == "packed" and isinstance(c["seconds"], float)
    s = r["setup"]
    assert s["constraints"] == c["circuit"]["constraints"] and s["domain_size"] >= s["constraints"]
    assert s["wrote"] == [str(d / "bc" / f) for f in ("circuit.zkey", "verification_key.json", "phase1_dev.ptau")]
    assert s["lookups"] is True and s["public"] == len(json.loads((d / "proof.json").read_text())["public_signals"])
    manifest = json.loads((d / "bc" / "manifest.json").read_text())
    assert s["vk_sha256"] == manifest["files"]["verification_key.json"]
    p = r["prove"]
    claim = json.loads((d / "proof.json").read_text())["claim"]
    assert p["proof"] == str(d / "proof.json") and p["wrote"] == [p["proof"]]
    assert p["vk_sha256"] == s["vk_sha256"] and p["model_sha256"] == claim["model_sha256"]
    assert [(o["name"], o["argmax"], o["values"]) for o in p["outputs"]] == \
        [(o["name"], o["argmax"], o["values"]) for o in claim["outputs"]]


def test_verify_json_valid_and_text_unbroken(made):
    d, r = made
    v = as_json(run("verify", d / "proof.json", "--json"))
    assert v["verdict"] == "VALID" and v["valid"] is True and v["bundle"] == str(d / "bc")
    assert v["vk_sha256"] == r["setup"]["vk_sha256"] and v["outputs"][0]["argmax"] == r["prove"]["outputs"][0]["argmax"]
    text = run("verify", d / "proof.json")
    assert text.returncode == 0
    lines = text.stdout.splitlines()  # longer than COLUMNS=40, on one line
    assert len(lines) == 1 and lines[0].startswith("OK: model ") and "argmax" in lines[0], text.stdout


def tampered(d, tmp_path, name, change):
    doc = json.loads((d / "proof.json").read_text())
    change(doc)
    (tmp_path / name).write_text(json.dumps(doc))
    return tmp_path / name


def test_verify_exit_codes(made, tmp_path):
    """0 valid; 1 a tampered proof or claim; 2 a file that cannot be read, or no bundle to check against."""
    d, _ = made
    negated = tampered(d, tmp_path, "neg.json", lambda doc: doc["proof"]["pi_a"].__setitem__(
        1, str(Q - int(doc["proof"]["pi_a"][1]))))  # -A: on the curve, the pairing fails
    res = run("verify", negated, "--bundle", d / "bc", "--json")
    doc = as_json(res)
    assert res.returncode == 1 and (doc["verdict"], doc["valid"]) == ("INVALID", False) and "does not verify" in doc["reason"]
    def larger(doc):  # the largest output a grid step further: the same argmax, other values than proved
        values = doc["claim"]["outputs"][0]["values"]
        values[values.index(max(values))] += 1.0

    res = CliRunner().invoke(main, ["verify", str(tampered(d, tmp_path, "val.json", larger)), "--bundle", str(d / "bc")])
    assert res.exit_code == 1 and res.stdout.startswith("INVALID: ") and "other values" in res.stdout, res.output
    truncated = tmp_path / "trunc.json"
    truncated.write_bytes((d / "proof.json").read_bytes()[:300])
    res = run("verify", truncated, "--bundle", d / "bc", "--json")
    assert res.returncode == 2 and as_json(res)["verdict"] == "CANNOT CHECK" and as_json(res)["valid"] is None
    assert "trunc.json" in error_line(res) and "not valid JSON" in error_line(res)
    (tmp_path / "alone").mkdir()
    shutil.copy(d / "proof.json", tmp_path / "alone" / "p.json")  # no bundle beside it, none in circuits/
    res = CliRunner().invoke(main, ["verify", str(tmp_path / "alone" / "p.json")])
    assert res.exit_code == 2 and "cannot find the bundle" in res.stderr
    # a batch: an invalid proof outranks an unreadable one; unreadable alone is 2
    batch = tmp_path / "batch"
    batch.mkdir()
    shutil.copy(d / "proof.json", batch / "a.proof.json")
    shutil.copy(truncated, batch / "b.proof.json")
    res = CliRunner().invoke(main, ["verify", str(batch), "--bundle", str(d / "bc"), "--json"])
    doc = json.loads(res.stdout)
    assert res.exit_code == 2 and doc["verdict"] == "CANNOT CHECK", res.output
    assert doc["valid_proofs"] == [str(batch / "a.proof.json")] and doc["cannot_check"][0]["proof"] == str(batch / "b.proof.json")
    shutil.copy(negated, batch / "c.proof.json")
    res = CliRunner().invoke(main, ["verify", str(batch), "--bundle", str(d / "bc")])
    assert res.exit_code == 1 and "INVALID: " in res.stdout and "CANNOT CHECK: " in res.stdout


def test_groth16_verify_json_and_exit_codes(tmp_path):
    vk, pub, proof = FIXTURES / "verification_key.json", FIXTURES / "public.json", FIXTURES / "proof.json"
    res = run("groth16", "verify", vk, pub, proof, "--json")
    assert res.returncode == 0 and as_json(res) == {"verdict": "VALID", "valid": True, "proof": str(proof)}
    (tmp_path / "pub.json").write_text('["34"]')
    res = CliRunner().invoke(main, ["groth16", "verify", str(vk), str(tmp_path / "pub.json"), str(proof), "--json"])
    assert res.exit_code == 1 and json.loads(res.stdout)["verdict"] == "INVALID"
    (tmp_path / "vk.json").write_bytes(b"\xff\xfe not a key")
    res = CliRunner().invoke(main, ["groth16", "verify", str(tmp_path / "vk.json"), str(pub), str(proof), "--json"])
    assert res.exit_code == 2 and json.loads(res.stdout)["verdict"] == "CANNOT CHECK"
    assert "vk.json" in res.stderr and "not UTF-8" in res.stderr


def test_inspect_json(made, tmp_path):
    d, r = made
    doc = as_json(run("inspect", d / "bc", "--json"))
    assert doc["ok"] is True and doc["manifest"]["circuit"]["constraints"] == r["compile"]["circuit"]["constraints"]
    assert doc["files"]["circuit.zkey"] == {"sha256": doc["manifest"]["files"]["circuit.zkey"], "status": "ok"}
    broken = tmp_path / "bc"
    shutil.copytree(d / "bc", broken)
    (broken / "circuit.r1cs").write_bytes(b"r1cs")
    res = CliRunner().invoke(main, ["inspect", str(broken), "--json"])
    doc = json.loads(res.stdout)
    assert res.exit_code == 1 and doc["ok"] is False and doc["files"]["circuit.r1cs"]["status"].startswith("does not match")
    assert res.stderr.startswith("error: ") and "circuit.r1cs" in res.stderr


def test_a_reader_that_leaves_early(made):
    d, _ = made
    for args in (("inspect", d / "bc", "--json"), ("--help",)):
        r, w = os.pipe()
        os.close(r)
        p = subprocess.run([str(ZKML), *map(str, args)], stdout=w, stderr=subprocess.PIPE, text=True, timeout=300)
        os.close(w)
        assert p.returncode == 141 and p.stderr == "", (args, p.stderr)  # as SIGPIPE would, no traceback
