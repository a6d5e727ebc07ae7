"""Every readable field of a proof file and of a signed attestation is bound: an edit of any of
them is refused with one line naming the field (or, for a signed attestation, fails the signer
rule), and the unedited file passes. Proof files name their bundle by its key's hash, so a
moved proof verifies with --bundle and, without it, says so (exit 2)."""

import json
import re
import shutil

import numpy as np
import pytest

from conftest import FIXTURES, MODELS, ok, one_line, zkml



def names(line: str, field: str) -> bool:
    """The line names exactly this field (not a longer one that starts with it)."""
    return re.search(r"(^|[\s'])" + re.escape(field) + r"($|[\s'\[:])", line) is not None


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A breast-cancer bundle with one proof beside it, its attestation signed by the owner."""
    d = tmp_path_factory.mktemp("binding")
    bundle = d / "bc"
    ok("compile", MODELS / "breast_cancer.onnx", "-c", MODELS / "breast_cancer_calibration.npz", "-o", bundle)
    ok("setup", bundle)
    (d / "x.json").write_text(json.dumps(np.load(MODELS / "breast_cancer_test.npz")["x"][0].tolist()))
    ok("prove", bundle, "-i", d / "x.json", "-o", d / "proof.json")
    ok("attest", "keygen", d / "owner.key")
    ok("attest", "inference", d / "proof.json", "-o", d / "inf.json")
    ok("attest", "sign", d / "inf.json", "--private-key-file", d / "owner.key")
    from eth_account import Account

    owner = Account.from_key((d / "owner.key").read_text().strip()).address
    (d / "policy.toml").write_text(f'[policy]\nsigners = ["{owner}"]\nrequire_onchain = false\n')
    manifest = json.loads((bundle / "manifest.json").read_text())
    return {"dir": d, "bundle": bundle, "doc": json.loads((d / "proof.json").read_text()), "manifest": manifest}


def _set(path: str, value):
    def edit(doc):
        *parents, last = path.split(".")
        cur = doc
        for p in parents:
            cur = cur[int(p)] if isinstance(cur, list) else cur[p]
        if isinstance(cur, list):
            cur[int(last)] = value
        else:
            cur[last] = value
    return edit


def _drop(path: str):
    def edit(doc):
        *parents, last = path.split(".")
        cur = doc
        for p in parents:
            cur = cur[int(p)] if isinstance(cur, list) else cur[p]
        del cur[last]
    return edit


def _bump_input(delta):
    def edit(doc):
        doc["claim"]["input"]["values"][0] += delta
    return edit


def _next_logit(doc):
    """The last logit one grid step up (argmax kept consistent): a claim of another output."""
    o = doc["claim"]["outputs"][0]
    o["values"][-1] += 2.0 ** -FRAC
    o["argmax"] = int(np.argmax(o["values"]))


def _argmax_flip(doc):
    o = doc["claim"]["outputs"][0]
    o["argmax"] = 1 - o["argmax"]


FRAC = 10  # breast_cancer's output frac at the default 8 fraction bits (checked in the test below)

# (edit, the field the one-line error must name)
FIELD_EDITS = {
    "version old": (_set("zkml_proof_version", 1), "zkml_proof_version"),
    "version string": (_set("zkml_proof_version", "2"), "zkml_proof_version"),
    "kind evaluation": (_set("claim.kind", "evaluation"), "claim.kind"),
    "kind missing": (_drop("claim.kind"), "claim.kind"),
    "model hash": (_set("claim.model_sha256", "00" * 32), "claim.model_sha256"),
    "weights hash": (_set("claim.weights_sha256", "00" * 32), "claim.weights_sha256"),
    "vk hash": (_set("claim.vk_sha256", "00" * 32), "claim.vk_sha256"),
    "vk hash not hex": (_set("claim.vk_sha256", "zz"), "claim.vk_sha256"),
    "input name": (_set("claim.input.name", "evil"), "claim.input.name"),
    "input shape": (_set("claim.input.shape", [30, 1]), "claim.input.shape"),
    "input visibility": (_set("claim.input.visibility", "committed"), "claim.input.visibility"),
    "input values missing": (_drop("claim.input.values"), "claim.input.values"),
    "input commitment added": (_set("claim.input.commitment", "1"), "claim.input.commitment"),
    "input value off grid": (_bump_input(1e-9), "claim.input.values[0]"),
    "input value string": (_set("claim.input.values.0", "abc"), "claim.input.values[0]"),
    "input value null": (_set("claim.input.values.0", None), "claim.input.values[0]"),
    "input too few values": (lambda d: d["claim"]["input"]["values"].pop(), "claim.input.values"),
    "input missing": (_drop("claim.input"), "claim.input"),
    "input null": (_set("claim.input", None), "claim.input"),
    "input extra key": (_set("claim.input.label", "cat"), "claim.input.label"),
    "output name": (_set("claim.outputs.0.name", "evil"), "claim.outputs[0].name"),
    "output shape": (_set("claim.outputs.0.shape", [2]), "claim.outputs[0].shape"),
    "output transform": (_set("claim.outputs.0.transform", "softmax"), "claim.outputs[0].transform"),
    "output transform missing": (_drop("claim.outputs.0.transform"), "claim.outputs[0].transform"),
    "argmax string": (_set("claim.outputs.0.argmax", "1"), "claim.outputs[0].argmax"),
    "argmax bool": (_set("claim.outputs.0.argmax", True), "claim.outputs[0].argmax"),
    "argmax wrong": (_argmax_flip, "claim.outputs[0].argmax"),
    "output value off grid": (lambda d: d["claim"]["outputs"][0]["values"].__setitem__(1, 5.0000001), "claim.outputs[0].values[1]"),
    "output null": (_set("claim.outputs.0", None), "claim.outputs[0]"),
    "outputs empty": (_set("claim.outputs", []), "claim.outputs"),
    "output extra key": (_set("claim.outputs.0.label", "benign"), "claim.outputs[0].label"),
    "claim bundle path": (_set("claim.bundle", "bc"), "claim.bundle"),
    "claim extra key": (_set("claim.note", "audited"), "claim.note"),
    "top-level extra key": (_set("note", "audited"), "note"),
    "protocol": (_set("proof.protocol", "plonk"), "proof.protocol"),
    "curve": (_set("proof.curve", "bls12381"), "proof.curve"),
    "proof extra key": (_set("proof.extra", 1), "proof.extra"),
    "proof null": (_set("proof", None), "proof"),
    "claim null": (_set("claim", None), "claim"),
    "claim list": (_set("claim", []), "claim"),
    "signal float": (lambda d: d["public_signals"].__setitem__(0, float(d["public_signals"][0])), "public_signals[0]"),
    "signal null": (_set("public_signals.0", None), "public_signals[0]"),
    "signal abc": (_set("public_signals.0", "abc"), "public_signals[0]"),
    "signal 5000 digits": (_set("public_signals.0", "9" * 5000), "public_signals[0]"),
    "signal not below r": (_set("public_signals.0", str(2 ** 254)), "public_signals[0]"),
    "signal extra": (lambda d: d["public_signals"].append("0"), "public_signals"),
    "signals null": (_set("public_signals", None), "public_signals"),
}


def _variant(world, tmp_path, edit, name="edited.json"):
    doc = json.loads(json.dumps(world["doc"]))
    edit(doc)
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def test_unedited_proof_verifies_and_names_only_checked_labels(world):
    res = ok("verify", world["dir"] / "proof.json")  # the bundle is found beside the proof
    assert one_line(res).startswith("OK: model ") and "fc1 argmax" in res.output
    assert "bundle" not in world["doc"]["claim"]  # no local path in a portable proof
    assert world["manifest"]["outputs"][0]["frac"] == FRAC


def test_input_values_are_written_on_the_grid(world):
    frac = world["manifest"]["input"]["frac"]
    vals = np.array(world["doc"]["claim"]["input"]["values"])
    assert np.array_equal(vals * 2.0 ** frac, np.round(vals * 2.0 ** frac))
    x = np.load(MODELS / "breast_cancer_test.npz")["x"][0]
    assert np.abs(vals - x).max() <= 2.0 ** -(frac + 1)  # the quantized input, not another one


@pytest.mark.parametrize("case", FIELD_EDITS)
def test_every_field_edit_is_refused_naming_the_field(world, tmp_path, case):
    edit, name = FIELD_EDITS[case]
    path = _variant(world, tmp_path, edit)
    res = zkml("verify", path, "--bundle", world["bundle"])
    line = one_line(res)
    assert res.exit_code == 1, res.output
    assert line.startswith("error: ") and str(path) in line, line
    assert names(line, name), line


@pytest.mark.parametrize("which", ["output", "input"])
def test_values_on_the_grid_but_not_proved_are_invalid(world, tmp_path, which):
    frac = world["manifest"]["input"]["frac"]
    edit, field = (_next_logit, "claim.outputs[0].values") if which == "output" else (_bump_input(2.0 ** -frac), "claim.input.values")
    path = _variant(world, tmp_path, edit)
    res = zkml("verify", path, "--bundle", world["bundle"])
    line = one_line(res)
    assert res.exit_code == 1 and line.startswith(f"INVALID: {path}: ") and names(line, field), line


@pytest.mark.parametrize("raw, fragment", [
    (b'{"zkml_proof_version": 2, "claim": {"kind": "inf\xd8rence"}}', "not UTF-8"),
    (b"[" * 100000 + b"]" * 100000, "nested"),
    (b"{not json", "not valid JSON"),
    (b'["a snarkjs public.json"]', "not a zkml proof file"),
])
def test_unreadable_proof_files(tmp_path, raw, fragment):
    """A file that is not JSON at all cannot be checked (2); JSON that is not a proof is invalid (1)."""
    path = tmp_path / "p.json"
    path.write_bytes(raw)
    res = zkml("verify", path)
    assert res.exit_code == (1 if fragment == "not a zkml proof file" else 2) and fragment in one_line(res)


def test_both_verifiers_refuse_float_public_signals(world, tmp_path):
    pub = tmp_path / "public.json"
    pub.write_text(json.dumps([float(json.loads((FIXTURES / "public.json").read_text())[0])]))
    res = zkml("groth16", "verify", FIXTURES / "verification_key.json", pub, FIXTURES / "proof.json")
    assert res.exit_code == 1 and "[0]" in one_line(res)
    edit, _ = FIELD_EDITS["signal float"]
    res = zkml("verify", _variant(world, tmp_path, edit), "--bundle", world["bundle"])
    assert res.exit_code == 1 and "public_signals[0]" in one_line(res)
    res = zkml("calldata", _variant(world, tmp_path, edit, "c.json"))
    assert res.exit_code == 1 and "public_signals[0]" in one_line(res)


def test_moved_proof_needs_its_bundle(world, tmp_path, monkeypatch):
    away, cwd = tmp_path / "away", tmp_path / "cwd"
    away.mkdir(), cwd.mkdir()
    shutil.copy(world["dir"] / "proof.json", away / "proof.json")
    monkeypatch.chdir(cwd)
    res = zkml("verify", away / "proof.json")
    line = one_line(res)
    assert res.exit_code == 2 and "cannot find the bundle it was made with" in line and "pass --bundle" in line
    assert world["doc"]["claim"]["vk_sha256"][:16] in line
    assert ok("verify", away / "proof.json", "--bundle", world["bundle"]).output.startswith("OK")
    res = zkml("attest", "inference", away / "proof.json", "-o", tmp_path / "a.json")
    assert res.exit_code == 2 and "pass --bundle" in one_line(res) and not (tmp_path / "a.json").exists()
    ok("attest", "inference", away / "proof.json", "--bundle", world["bundle"], "-o", tmp_path / "a.json")
    # a bundle under circuits/ of the current directory is found
    shutil.copytree(world["bundle"], cwd / "circuits" / "bc")
    assert ok("verify", away / "proof.json").output.startswith("OK")


def test_bundle_is_chosen_by_its_key_hash(world, tmp_path):
    """A decoy bundle (same layout, another key) beside the proof is passed over."""
    from zkml.bundle.locate import find_bundle

    decoy, real = tmp_path / "a_decoy", tmp_path / "z_real"
    for d in (decoy, real):
        d.mkdir()
        shutil.copy(world["bundle"] / "manifest.json", d / "manifest.json")
    (decoy / "verification_key.json").write_text("{}")
    shutil.copy(world["bundle"] / "verification_key.json", real / "verification_key.json")
    proof = tmp_path / "proofs" / "p.json"
    proof.parent.mkdir()
    assert find_bundle(proof, world["doc"]["claim"]["vk_sha256"], cwd=tmp_path / "none") == real
    from zkml.errors import CannotCheck

    with pytest.raises(CannotCheck, match="pass --bundle"):
        find_bundle(proof, "11" * 32, cwd=tmp_path / "none")


def test_batch_names_the_mislabelled_proof(world, tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    shutil.copy(world["dir"] / "proof.json", folder / "good.proof.json")
    bad = _variant(world, folder, FIELD_EDITS["output name"][0], "bad.proof.json")
    res = zkml("verify", folder, "--batch", "--bundle", world["bundle"])
    assert res.exit_code == 1 and f"INVALID: {bad}: claim.outputs[0].name" in res.output
    assert "good.proof.json" not in res.output
    (bad).unlink()
    assert "all 1 proofs are valid" in ok("verify", folder, "--batch", "--bundle", world["bundle"]).output


@pytest.mark.parametrize("inp, fragment", [
    ({"name": "x", "shape": [1, 30], "visibility": "committed", "commitment": "7", "values": [0.0] * 30}, "claim.input.values"),
    ({"name": "x", "shape": [1, 30], "visibility": "committed"}, "claim.input.commitment"),
    ({"name": "x", "shape": [1, 30], "visibility": "committed", "commitment": "abc"}, "claim.input.commitment"),
    ({"name": "x", "shape": [1, 30], "visibility": "committed", "commitment": 1.5}, "claim.input.commitment"),
])
def test_committed_input_claims(world, inp, fragment):
    from zkml.bundle.claim_fields import input_part
    from zkml.errors import FormatError

    meta = {**world["manifest"]["input"], "visibility": "committed"}
    assert input_part(meta, {"name": "x", "shape": [1, 30], "visibility": "committed", "commitment": "7"},
                      "p.json", exact=True) == ("claim.input.commitment", [7])
    with pytest.raises(FormatError, match=fragment.replace(".", r"\.")):
        input_part(meta, inp, "p.json", exact=True)


# --- signed attestations ---------------------------------------------------------------------


def _attestation(world, tmp_path, edit):
    doc = json.loads((world["dir"] / "inf.json").read_text())
    edit(doc)
    path = tmp_path / "att.json"
    path.write_text(json.dumps(doc))
    return path


def _check(world, path):
    res = zkml("check", path, "--policy", world["dir"] / "policy.toml", "--json")
    return res, {r["rule"]: r["passed"] for r in json.loads(res.output)["rules"]} if res.exit_code in (0, 1) else {}


def _relabel(doc):  # claim and layout renamed together: consistent, but not what was signed
    doc["claim"]["outputs"][0]["name"] = "malignant"
    doc["circuit"]["layout"]["outputs"][0]["name"] = "malignant"


ATTESTATION_EDITS = {
    "output name": _set("claim.outputs.0.name", "evil"),
    "output transform": _set("claim.outputs.0.transform", "softmax"),
    "output shape": _set("claim.outputs.0.shape", [2, 1]),
    "output values": lambda d: d["claim"]["outputs"][0]["values"].__setitem__(1, d["claim"]["outputs"][0]["values"][1] + 1),
    "argmax": _argmax_flip,
    "input value": _bump_input(1e-9),
    "input name": _set("claim.input.name", "evil"),
    "claim extra key": _set("claim.note", "approved by the board"),
    "relabelled layout": _relabel,
    "vk path": _set("circuit.vk_path", "/elsewhere/verification_key.json"),
    "bundle path": _set("circuit.bundle_path", "/elsewhere"),
    "issued later": lambda d: d.update(issued_at=d["issued_at"] + 60),
    "valid longer": lambda d: d.update(valid_until=d["valid_until"] + 86400),
    "top-level extra key": _set("note", "x"),
}


def test_signed_attestation_passes_unedited(world, tmp_path):
    res, rules = _check(world, _attestation(world, tmp_path, lambda d: None))
    assert res.exit_code == 0 and rules == {"proof": True, "signer": True, "expiry": True}, res.output


@pytest.mark.parametrize("case", ATTESTATION_EDITS)
def test_any_edit_of_a_signed_attestation_fails_the_signer_rule(world, tmp_path, case):
    res, rules = _check(world, _attestation(world, tmp_path, ATTESTATION_EDITS[case]))
    assert res.exit_code == 1 and rules["signer"] is False, res.output
    human = zkml("check", tmp_path / "att.json", "--policy", world["dir"] / "policy.toml")
    assert "FAIL  signer" in human.output and "changed after signing" in human.output


def test_mislabelled_attestation_fails_the_proof_rule_too(world, tmp_path):
    res, rules = _check(world, _attestation(world, tmp_path, ATTESTATION_EDITS["output name"]))
    assert rules["proof"] is False
    for case in ("input value", "output transform", "output shape"):
        res, rules = _check(world, _attestation(world, tmp_path, ATTESTATION_EDITS[case]))
        assert rules["proof"] is False, case


@pytest.mark.parametrize("raw, fragment", [
    (b'{"schema": "zkml.attestation/v1", "claim": "\xff"}', "not UTF-8"),
    (b'{"schema": ' + b"[" * 100000 + b"]" * 100000 + b"}", "nested"),
])
def test_unreadable_attestation_cannot_be_checked(world, tmp_path, raw, fragment):
    path = tmp_path / "att.json"
    path.write_bytes(raw)
    res = zkml("check", path, "--policy", world["dir"] / "policy.toml")
    assert res.exit_code == 2 and fragment in one_line(res)


def test_canonical_form_ignores_layout_of_the_file_but_not_its_content(world):
    from zkml.attest import document as D

    doc = json.loads((world["dir"] / "inf.json").read_text())
    again = json.loads(json.dumps(doc, indent=4, sort_keys=False))
    assert D.canonical_document(doc) == D.canonical_document(again)
    assert D.canonical_document({**doc, "chain": {"x": 1}, "signature": None}) == D.canonical_document(doc)
    changed = json.loads(json.dumps(doc))
    changed["claim"]["outputs"][0]["name"] += " "
    assert D.document_hash(changed) != D.document_hash(doc)
