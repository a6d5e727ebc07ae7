"""--weights committed through the CLI: the key is the architecture's, so `compile --rebuild` and
`verify-key` need no private weights file; an attestation carries the weights commitment, a policy
naming the registered commitment rejects a proof under other weights (naming both), and the audit's
weights column flags an attestation whose commitment is not the registered model's."""

import json
import shutil

import numpy as np
import pytest

from conftest import MODELS, ok, zkml

BC = MODELS / "breast_cancer.onnx"
BC_CAL = MODELS / "breast_cancer_calibration.npz"


def _other_weights(bundle, dest):
    """A copy of ``bundle`` (same R1CS and key) whose private weights are another weight set:
    the model's Gemm weights scaled by 0.97, quantized at the architecture's recorded scales."""
    import onnx
    from onnx import numpy_helper

    from zkml.bundle.private_weights import commitment_hex, write_weights
    from zkml.compiler.compile import CompileConfig, compile_model

    shutil.copytree(bundle, dest)
    m = onnx.load(str(BC))
    for t in m.graph.initializer:
        a = numpy_helper.to_array(t)
        if a.ndim == 2:
            t.CopyFrom(numpy_helper.from_array((a * 0.97).astype(a.dtype), t.name))
    onnx.save(m, str(dest / "scaled.onnx"))
    manifest = json.loads((dest / "manifest.json").read_text())
    b = manifest["build"]
    c = compile_model(dest / "scaled.onnx", None, CompileConfig(**b["options"]), scales=b["scales"])
    write_weights(dest / "private" / "weights.npz", c.weight_set, c.weights_commitment)
    manifest["weights"]["commitment"] = manifest["model"]["weights_sha256"] = commitment_hex(c.weights_commitment)
    (dest / "manifest.json").write_text(json.dumps(manifest))
    return commitment_hex(c.weights_commitment)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from eth_account import Account

    d = tmp_path_factory.mktemp("committed")
    bundle = d / "bc"
    ok("compile", BC, "-c", BC_CAL, "-o", bundle, "--weights", "committed")
    ok("setup", bundle)
    (d / "x.json").write_text(json.dumps(np.load(MODELS / "breast_cancer_test.npz")["x"][0].tolist()))
    ok("prove", bundle, "-i", d / "x.json", "-o", d / "proof.json")
    ok("attest", "keygen", d / "owner.key")
    ok("attest", "inference", d / "proof.json", "-o", d / "inf.json")
    ok("attest", "sign", d / "inf.json", "--private-key-file", d / "owner.key")
    ok("attest", "publish", d / "inf.json")
    registry = json.loads((d / "inf.json").read_text())["chain"]["registry"]
    # the owner proves with other weights under the same key and files it under the registered model
    other = _other_weights(bundle, d / "other")
    ok("prove", d / "other", "-i", d / "x.json", "-o", d / "other-proof.json")
    ok("attest", "inference", d / "other-proof.json", "-o", d / "other.json", "--bundle", d / "other")
    ok("attest", "sign", d / "other.json", "--private-key-file", d / "owner.key")
    good = json.loads((d / "inf.json").read_text())["claim"]
    forged = json.loads((d / "other.json").read_text())
    for k in ("model_id", "model_sha256", "weights_sha256"):  # the owner's word that these are the registered weights
        forged["claim"][k] = good[k]
    (d / "forged.json").write_text(json.dumps(forged))
    ok("attest", "sign", d / "forged.json", "--private-key-file", d / "owner.key")
    from zkml.attest import document as D

    with pytest.MonkeyPatch.context() as mp:  # `zkml attest publish` refuses it; the registry itself would not
        mp.setattr(D, "check_proof", lambda doc, where: (True, "not checked"))
        ok("attest", "publish", d / "forged.json", "--registry", registry)
    owner = Account.from_key((d / "owner.key").read_text().strip()).address
    commitment = json.loads((bundle / "manifest.json").read_text())["weights"]["commitment"]
    return {"dir": d, "bundle": bundle, "registry": registry, "owner": owner, "commitment": commitment, "other": other}


def test_rebuild_and_key_check_need_no_private_weights(world, tmp_path):
    arch = tmp_path / "published"
    shutil.copytree(world["bundle"], arch)
    shutil.rmtree(arch / "private")  # what the owner publishes
    res = ok("compile", "--rebuild", arch, "--json")
    assert json.loads(res.output)["match"] is True
    res = ok("compile", "--rebuild", arch / "manifest.json", arch / "model.onnx")
    assert "MATCH" in res.output
    res = ok("verify-key", arch, "--onnx", arch / "model.onnx")
    assert res.output.startswith("key ok")
    res = zkml("verify-key", arch, "--onnx", MODELS / "digits_mlp.onnx", "--json")  # another architecture
    assert res.exit_code == 1 and json.loads(res.output)["key"].startswith("key FAIL")


def _policy(world, name, commitment):
    path = world["dir"] / name
    path.write_text(f'[policy]\nsigners = ["{world["owner"]}"]\nrequire_onchain = false\n'
                    f"weights_commitment = {json.dumps(commitment)}\n")
    return path


def test_policy_rejects_a_proof_under_other_weights(world):
    d, registered = world["dir"], world["commitment"]
    pol = _policy(world, "w.toml", "0x" + registered)
    res = zkml("check", d / "inf.json", "--policy", pol, "--json")
    assert res.exit_code == 0, res.output
    rules = {r["rule"]: r for r in json.loads(res.output)["rules"]}
    assert rules["weights"]["passed"] is True
    res = zkml("check", d / "other.json", "--policy", pol, "--json")  # honest about its own (other) weights
    assert res.exit_code == 1
    rules = {r["rule"]: r for r in json.loads(res.output)["rules"]}
    assert rules["proof"]["passed"] is True and rules["weights"]["passed"] is False
    assert registered[:16] in rules["weights"]["reason"] and world["other"][:16] in rules["weights"]["reason"]
    res = zkml("check", d / "forged.json", "--policy", pol, "--json")  # claims the registered weights: the proof disagrees
    assert res.exit_code == 1
    assert {r["rule"]: r["passed"] for r in json.loads(res.output)["rules"]}["proof"] is False
    res = zkml("check", d / "inf.json", "--policy", _policy(world, "dec.toml", [str(int(registered, 16))]), "--json")
    assert res.exit_code == 0  # decimal, in a list
    res = zkml("check", d / "inf.json", "--policy", _policy(world, "bad.toml", "0x12"))
    assert res.exit_code == 2 and "weights_commitment" in res.output and "line 4" in res.output


def test_audit_flags_an_attestation_under_other_weights(world):
    d = world["dir"]
    forged_id = json.loads((d / "forged.json").read_text())["chain"]["attestation_id"]
    arch = world["bundle"] / "model.onnx"
    res = zkml("audit", "--registry", world["registry"], "--onnx", arch, "--json")
    assert res.exit_code == 1
    rows = {r["attestation_id"]: r for r in json.loads(res.output)["attestations"]}
    assert len(rows) == 2
    bad = rows.pop(forged_id)["checks"]
    assert bad["weights"]["passed"] is False
    assert world["commitment"][:16] in bad["weights"]["detail"] and world["other"][:16] in bad["weights"]["detail"]
    assert "registration records it" in bad["weights"]["detail"]  # publish wrote it into the model's metadata URI
    assert bad["onnx"]["passed"] is False
    assert all(bad[k]["passed"] for k in ("vk", "bytecode", "claim", "proof", "on chain", "key"))
    (good,) = rows.values()
    assert all(v["passed"] for v in good["checks"].values()), good
    assert "registration records it" in good["checks"]["weights"]["detail"]
    assert set(good["checks"]) == {"vk", "bytecode", "claim", "proof", "on chain", "weights", "onnx", "key"}
    res = zkml("audit", "--registry", world["registry"])
    assert res.exit_code == 1 and "weights" in res.output and "other weights" in res.output


def _rehash(doc: dict) -> dict:
    from zkml.attest import document as D

    c = doc["claim"]
    c["model_id"] = D.model_id(c["model_sha256"], c["weights_sha256"])
    return doc


def test_evaluation_under_committed_weights(world, tmp_path):
    """One evaluation circuit runs every sample on one set of private weight wires, and the
    weights commitment is its last public signal: the claim names the weights, a policy
    naming the registered commitment accepts it and rejects the same evaluation under other
    weights (same key), and an edited claim fails."""
    d, data = world["dir"], MODELS / "breast_cancer_test.npz"
    ev = tmp_path / "ev.json"
    ok("attest", "evaluate", world["bundle"], "-d", data, "--samples", "4", "-o", ev)
    doc = json.loads(ev.read_text())
    c = doc["claim"]
    assert c["weights"] == "committed" and c["weights_sha256"] == world["commitment"]
    assert int(doc["proof"]["public_signals"][-1]) == int(world["commitment"], 16)
    ok("attest", "sign", ev, "--private-key-file", d / "owner.key")
    pol = _policy(world, "ev.toml", "0x" + world["commitment"])
    res = zkml("check", ev, "--policy", pol, "--json")
    assert res.exit_code == 0, res.output
    ok("attest", "publish", ev, "--registry", world["registry"])
    ev_id = json.loads(ev.read_text())["chain"]["attestation_id"]
    res = zkml("audit", "--registry", world["registry"], "--onnx", world["bundle"] / "model.onnx", "--json")
    row = {r["attestation_id"]: r for r in json.loads(res.output)["attestations"]}[ev_id]
    assert all(v["passed"] for v in row["checks"].values()), row
    assert {"weights", "key", "onnx"} <= set(row["checks"])
    # the same key, the owner's other weights (the copy's private file): told apart by the commitment
    shutil.copytree(world["bundle"] / "evaluations", d / "other" / "evaluations", dirs_exist_ok=True)
    other_ev = tmp_path / "other-ev.json"
    ok("attest", "evaluate", d / "other", "-d", data, "--samples", "4", "-o", other_ev)
    other = json.loads(other_ev.read_text())
    assert other["circuit"]["vk_sha256"] == doc["circuit"]["vk_sha256"]
    assert other["claim"]["weights_sha256"] == world["other"]
    ok("attest", "sign", other_ev, "--private-key-file", d / "owner.key")
    res = zkml("check", other_ev, "--policy", pol, "--json")
    assert res.exit_code == 1
    rules = {r["rule"]: r for r in json.loads(res.output)["rules"]}
    assert rules["proof"]["passed"] is True and rules["weights"]["passed"] is False
    assert world["other"][:16] in rules["weights"]["reason"]
    # edited claims: the registered commitment over the other weights' proof; the committed flag dropped
    for name, edit in (("commitment", lambda x: x["claim"].update(weights_sha256=world["commitment"])),
                       ("flag", lambda x: x["claim"].pop("weights"))):
        forged = json.loads(other_ev.read_text())
        edit(forged)
        path = tmp_path / f"forged-{name}.json"
        path.write_text(json.dumps(_rehash(forged)))
        ok("attest", "sign", path, "--private-key-file", d / "owner.key")
        res = zkml("check", path, "--policy", pol, "--json")
        assert res.exit_code == 1, name
        assert {r["rule"]: r["passed"] for r in json.loads(res.output)["rules"]}["proof"] is False, name


def test_evaluation_key_of_committed_weights_checks_from_the_architecture(world, tmp_path):
    from zkml.bundle.key_binding import verify_evaluation_key

    ok("attest", "evaluate", world["bundle"], "-d", MODELS / "breast_cancer_test.npz", "--samples", "3",
       "-o", tmp_path / "ev3.json")
    folder = world["bundle"] / "evaluations" / "n3"
    rep = verify_evaluation_key(folder, world["bundle"] / "model.onnx")
    assert rep.ok, rep.line()
    rep = verify_evaluation_key(folder, MODELS / "digits_mlp.onnx")  # another architecture
    assert not rep.ok


def test_chunked_evaluation_under_committed_weights(world, tmp_path):
    """Chunks on Ray, each publishing the weights commitment last: the aggregate claim checks,
    and a chunk whose weights signal is another commitment fails (the chunk check names it)."""
    out = tmp_path / "chunked.json"
    ok("attest", "evaluate", world["bundle"], "-d", MODELS / "breast_cancer_test.npz", "--samples", "4",
       "--chunk-size", "2", "--workers", "1", "-o", out)
    doc = json.loads(out.read_text())
    assert doc["claim"]["weights"] == "committed" and doc["claim"]["dataset"]["chunks"] == 2
    assert all(int(ch["public_signals"][-1]) == int(world["commitment"], 16) for ch in doc["proof"]["chunks"])
    ok("attest", "sign", out, "--private-key-file", world["dir"] / "owner.key")
    pol = _policy(world, "chunked.toml", "0x" + world["commitment"])
    res = zkml("check", out, "--policy", pol, "--json")
    assert res.exit_code == 0, res.output
    bad = json.loads(out.read_text())
    bad["proof"]["chunks"][1]["public_signals"][-1] = str(int(world["other"], 16))
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    ok("attest", "sign", path, "--private-key-file", world["dir"] / "owner.key")
    res = zkml("check", path, "--policy", pol, "--json")
    assert res.exit_code == 1
    proof_rule = {r["rule"]: r for r in json.loads(res.output)["rules"]}["proof"]
    assert proof_rule["passed"] is False and "chunk 1" in proof_rule["reason"] and "weights" in proof_rule["reason"]


def test_registered_commitment_reads_only_a_well_formed_fragment():
    from zkml.attest.owner import registered_commitment

    h = "ab" * 32
    assert registered_commitment(f"file:///b#weights_commitment=0x{h}") == h
    assert registered_commitment(f"file:///b#weights_commitment={h.upper()}") == h
    for bad in ("file:///b", f"file:///b#weights_commitment=0x{h[:-2]}", f"file:///b#other=0x{h}",
                f"file:///b#weights_commitment=0x{h[:-1]}g", ""):
        assert registered_commitment(bad) is None, bad
