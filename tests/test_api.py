"""The Python API (zkml/api/): the README's example runs as written; each function returns the
object whose to_json() is the command's --json; refusals raise zkml.errors types with the CLI's
messages; verdicts the proof does not support come back invalid, never as a pass; and
``import zkml`` stays light."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import zkml
from zkml.cli import main
from zkml.errors import CannotCheck, FormatError, Unreadable, ZkmlError

from test_compiler import tiny_model

ROOT = Path(__file__).resolve().parent.parent
USAGE = ("seconds", "peak_memory_mb")


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def cli_json(*args) -> tuple[int, dict]:
    res = cli(*args, "--json")
    return res.exit_code, json.loads(res.stdout)


def cli_error(*args) -> tuple[int, str]:
    """(exit code, the message of the one error line)."""
    res = cli(*args)
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in res.output, res.output
    return res.exit_code, lines[0].removeprefix("error: ")


def without(doc: dict, *keys) -> dict:
    return {k: v for k, v in doc.items() if k not in keys}


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Python API"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_example_runs(tmp_path):
    """The README's example, extracted and run as a script in a folder holding the models."""
    (tmp_path / "models").symlink_to(ROOT / "models")
    (tmp_path / "example.py").write_text(readme_example())
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=900)
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert "PASS proof" in out and "PASS signer" in out and "PASS metric" in out and "FAIL" not in out, out
    assert re.search(r"\d of 8 committed samples right", out), out
    assert "FormatError" in out, out  # the refusal's type, printed by the example
    assert (tmp_path / "circuits" / "bc" / "circuit.zkey").exists() and (tmp_path / "bc.attestation.opening.json").exists()


def test_readme_example_names_only_the_api():
    """What the README shows is what zkml exports (a renamed function breaks the example first here)."""
    used = set(re.findall(r"zkml\.(?:attest\.)?(\w+)\(", readme_example()))
    assert used <= {"compile", "setup", "prove", "verify", "evaluate", "keygen", "sign", "check"}, used
    for name in ("compile", "setup", "prove", "verify", "check"):
        assert callable(getattr(zkml, name))
    for name in ("evaluate", "keygen", "sign"):
        assert callable(getattr(zkml.attest, name))


def test_import_zkml_and_version_stay_light():
    code = ("import sys, zkml; zkml.compile, zkml.verify, zkml.check, zkml.attest.evaluate, zkml.Bundle\n"
            "from zkml.cli import main\n"
            "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('onnx', 'onnxruntime', 'numba', 'ray', 'web3', 'eth_account', 'py_ecc') "
            "if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(ROOT)),
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "[]", res.stdout
    assert "zkml, version" in res.stdout


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny model compiled and set up through the API, an input, a labelled data set."""
    d = tmp_path_factory.mktemp("api")
    model = tiny_model(d)
    (d / "cal.json").write_text(json.dumps([[1.0, -2.0, 0.5], [-1.0, 1.0, 1.0]]))
    (d / "x.json").write_text("[0.5, -0.5, 0.25]")
    np.savez(d / "data.npz", x=np.array([[0.5, -0.5, 0.25], [1.0, 0.5, -1.0]]), y=np.array([0, 1]))
    bundle = zkml.compile(model, d / "cal.json", output=d / "b")
    keys = zkml.setup(bundle.path, no_dev_ptau=True)
    return {"dir": d, "model": model, "bundle": bundle, "keys": keys}


def test_compile_and_setup_objects_are_the_clis_json(tiny):
    d, b, k = tiny["dir"], tiny["bundle"], tiny["keys"]
    assert isinstance(b, zkml.Bundle) and isinstance(k, zkml.Keys)
    assert b.path == d / "b" and b.constraints > 0 and b.public >= 1 and b.fidelity["samples"] == 2
    assert any("fewer than" in n for n in b.notes)  # two calibration samples: no per-feature ranges
    code, doc = cli_json("compile", tiny["model"], "-c", d / "cal.json", "-o", d / "b-cli")
    assert code == 0
    mine = b.to_json()
    assert set(mine) == set(doc)
    assert without(mine, *USAGE, "bundle", "wrote") == without(doc, *USAGE, "bundle", "wrote")
    code, doc = cli_json("setup", d / "b-cli", "--no-dev-ptau")
    assert code == 0 and set(k.to_json()) == set(doc)
    assert without(k.to_json(), *USAGE, "bundle", "wrote", "vk_sha256") == without(doc, *USAGE, "bundle", "wrote", "vk_sha256")
    assert k.domain_size == doc["domain_size"] and k.wrote == [d / "b" / "circuit.zkey", d / "b" / "verification_key.json"]


def test_prove_and_verify_objects_and_their_negative_twin(tiny, tmp_path):
    b = tiny["bundle"].path
    p = zkml.prove(b, tiny["dir"] / "x.json", output=tmp_path / "p.json")
    q = zkml.prove(b, np.array([0.5, -0.5, 0.25]), output=tmp_path / "q.json")  # an array, not a file
    assert isinstance(p, zkml.Proof) and p.input == str(tiny["dir"] / "x.json") and q.input == "input array"
    assert p.outputs[0]["values"] == q.outputs[0]["values"] and p.document["claim"] == json.loads(p.path.read_text())["claim"]
    code, doc = cli_json("prove", b, "-i", tiny["dir"] / "x.json", "-o", tmp_path / "c.json")
    assert code == 0 and without(p.to_json(), *USAGE, "proof", "wrote") == without(doc, *USAGE, "proof", "wrote")

    v = zkml.verify(p.path, bundle=b)
    assert isinstance(v, zkml.Verification) and v.valid and v.verdict == "VALID"
    code, doc = cli_json("verify", p.path, "--bundle", b)
    assert code == 0 and v.to_json() == doc

    # the negative twin: a proof point of another proof; the object says INVALID with the CLI's reason
    bad = json.loads(p.path.read_text())
    bad["proof"]["pi_a"] = q.document["proof"]["pi_a"]  # the same claim, another proof's A
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    v = zkml.verify(tmp_path / "bad.json", bundle=b)
    assert not v.valid and v.verdict == "INVALID" and "does not verify" in v.reason
    code, doc = cli_json("verify", tmp_path / "bad.json", "--bundle", b)
    assert code == 1 and doc == v.to_json()

    # a batch: the folder's *.proof.json in one check
    (tmp_path / "batch").mkdir()
    for name in ("p", "q"):
        (tmp_path / "batch" / f"{name}.proof.json").write_text((tmp_path / f"{name}.json").read_text())
    bv = zkml.verify(tmp_path / "batch", bundle=b)
    assert isinstance(bv, zkml.BatchVerification) and bv.valid and len(bv.valid_proofs) == 2


def test_errors_are_typed_with_the_clis_messages(tiny, tmp_path):
    b, d = tiny["bundle"].path, tiny["dir"]
    (tmp_path / "wide.json").write_text("[1, 2, 3, 4]")
    with pytest.raises(FormatError) as e:
        zkml.prove(b, tmp_path / "wide.json", output=tmp_path / "p.json")
    assert cli_error("prove", b, "-i", tmp_path / "wide.json", "-o", tmp_path / "p.json") == (1, str(e.value))

    with pytest.raises(ZkmlError) as e:  # the output inside the bundle
        zkml.prove(b, d / "x.json", output=b / "p.json")
    assert cli_error("prove", b, "-i", d / "x.json", "-o", b / "p.json") == (1, str(e.value))

    with pytest.raises(ZkmlError) as e:
        zkml.compile(tiny["model"], d / "cal.json", output=b)  # exists, no force
    assert cli_error("compile", tiny["model"], "-c", d / "cal.json", "-o", b) == (1, str(e.value))

    with pytest.raises(ZkmlError, match="expected one of public, committed"):
        zkml.compile(tiny["model"], d / "cal.json", output=tmp_path / "x", input_visibility="secret")
    with pytest.raises(Unreadable, match="no such file"):
        zkml.prove(b, tmp_path / "missing.json")

    # a proof whose bundle cannot be found: cannot check (the CLI's exit 2)
    p = zkml.prove(b, d / "x.json", output=tmp_path / "alone" / "p.json")
    with pytest.raises(CannotCheck) as e:
        zkml.verify(p.path)
    assert cli_error("verify", p.path) == (2, str(e.value))

    # a claim field edited: malformed, raised (the CLI's exit 1 with the same line)
    doc = json.loads(p.path.read_text())
    doc["claim"]["model_sha256"] = "00" * 32
    (tmp_path / "edited.json").write_text(json.dumps(doc))
    with pytest.raises(ZkmlError) as e:
        zkml.verify(tmp_path / "edited.json", bundle=b)
    assert cli_error("verify", tmp_path / "edited.json", "--bundle", b) == (1, str(e.value))

    with pytest.raises(ZkmlError) as e:
        zkml.attest.evaluate(b, d / "data.npz", class_k={"cat": 1}, output=tmp_path / "e.json")
    assert cli_error("attest", "evaluate", b, "-d", d / "data.npz", "--class-k", "cat=1",
                     "-o", tmp_path / "e.json") == (1, str(e.value))
    assert "no class 'cat'" in str(e.value)
    with pytest.raises(ZkmlError) as e:
        zkml.attest.evaluate(b, d / "data.npz", valid_until="2001-01-01", output=tmp_path / "e.json")
    assert cli_error("attest", "evaluate", b, "-d", d / "data.npz", "--valid-until", "2001-01-01",
                     "-o", tmp_path / "e.json") == (1, str(e.value))


def test_evaluate_and_check_objects(tiny, tmp_path):
    b, d = tiny["bundle"].path, tiny["dir"]
    ev = zkml.attest.evaluate(b, d / "data.npz", class_names=["neg", "pos"], output=tmp_path / "e.json")
    assert isinstance(ev, zkml.Evaluation) and ev.n == 2 and ev.k == ev.correct
    assert ev.per_class["names"] == ["neg", "pos"] and ev.opening == tmp_path / "e.opening.json" and ev.opening.exists()
    assert json.loads(ev.path.read_text()) == ev.document

    key = tmp_path / "owner.key"
    owner = zkml.attest.keygen(key)
    signed = zkml.attest.sign(ev.path, private_key_file=key)
    assert signed["signature"]["signer"] == owner
    policy = tmp_path / "policy.toml"
    policy.write_text(f'[policy]\nsigners = ["{owner}"]\nmin_accuracy = 0.0\nrequire_onchain = false\n')
    report = zkml.check(ev.path, policy)
    assert isinstance(report, zkml.Report) and report.passed and report.verdict == "PASS"
    code, doc = cli_json("check", ev.path, "--policy", policy)
    assert code == 0 and doc == report.to_json()

    # the negative twin: an edited claim field voids the signature, the proof rule fails too
    edited = json.loads(json.dumps(signed))
    edited["claim"]["metric"]["k"] = 0
    (tmp_path / "edited.json").write_text(json.dumps(edited))
    report = zkml.check(tmp_path / "edited.json", policy)
    assert not report.passed and "signer" in [r.rule for r in report.failed()]
    code, doc = cli_json("check", tmp_path / "edited.json", "--policy", policy)
    assert code == 1 and doc == report.to_json()

    # a policy naming a class the model lacks: cannot check, raised with the CLI's message
    policy.write_text(f'[policy]\nsigners = ["{owner}"]\nmin_recall = {{cat = 0.5}}\nrequire_onchain = false\n')
    with pytest.raises(ZkmlError) as e:
        zkml.check(ev.path, policy)
    assert cli_error("check", ev.path, "--policy", policy) == (2, str(e.value))
