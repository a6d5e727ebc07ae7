"""The CLI verifies with the engine's pairing by default and with py_ecc under --reference; the
two agree on the valid fixture proof and on tampered ones (the engine's own tests compare them
on every negative twin)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from conftest import FIXTURES
from zkml.cli import main
from zkml.crypto.bn254 import R
from zkml.groth16 import verifying


def _run(*args):
    r = CliRunner().invoke(main, list(args))
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r


def _tampered(tmp_path, kind: str):
    proof = json.loads((FIXTURES / "proof.json").read_text())
    public = json.loads((FIXTURES / "public.json").read_text())
    if kind == "public+1":
        public[0] = str(int(public[0]) + 1)
    elif kind == "public+r":
        public[0] = str(int(public[0]) + R)
    elif kind == "swap A and C":
        proof["pi_a"], proof["pi_c"] = proof["pi_c"], proof["pi_a"]
    elif kind == "B halves swapped":
        proof["pi_b"][0] = proof["pi_b"][0][::-1]
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    (tmp_path / "public.json").write_text(json.dumps(public))
    return tmp_path / "public.json", tmp_path / "proof.json"


@pytest.mark.parametrize("flag", [[], ["--reference"]])
def test_valid_proof_verifies_with_either_verifier(flag, monkeypatch):
    seen = []
    real = verifying.verify
    monkeypatch.setattr(verifying, "verify", lambda *a: seen.append(verifying.selected()) or real(*a))
    r = _run("groth16", "verify", *flag, str(FIXTURES / "verification_key.json"), str(FIXTURES / "public.json"),
             str(FIXTURES / "proof.json"))
    assert r.exit_code == 0 and "OK" in r.output
    assert seen == [verifying.REFERENCE if flag else verifying.ENGINE]


@pytest.mark.parametrize("kind", ["public+1", "public+r", "swap A and C", "B halves swapped"])
def test_both_verifiers_reject_tampering(tmp_path, kind):
    public, proof = _tampered(tmp_path, kind)
    codes = {flag: _run("groth16", "verify", *flag, str(FIXTURES / "verification_key.json"), str(public),
                        str(proof)) for flag in ((), ("--reference",))}
    for r in codes.values():
        assert r.exit_code == 1, r.output
        assert "OK" not in r.output
    assert len({r.output for r in codes.values()}) == 1  # the same verdict and message from both


def test_selection_is_reset_by_each_command():
    _run("groth16", "verify", "--reference", str(FIXTURES / "verification_key.json"), str(FIXTURES / "public.json"),
         str(FIXTURES / "proof.json"))
    assert verifying.selected() == verifying.REFERENCE
    _run("groth16", "verify", str(FIXTURES / "verification_key.json"), str(FIXTURES / "public.json"),
         str(FIXTURES / "proof.json"))
    assert verifying.selected() == verifying.ENGINE
