"""Attestations end to end on the embedded chain, through the CLI as users type it: the owner
attests, signs and publishes an inference and an evaluation; the auditor re-checks the registry;
the insurer tests documents against policies. Every path that must fail is made to fail:
forged or missing signatures, another ONNX file, revocation, thresholds not met, a registry
address holding other code, tampered documents, malformed files and policies, no chain."""

import json
import shutil

import numpy as np
import pytest

from conftest import MODELS, ok, zkml
from zkml.attest import document as D



@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A bundle, an inference and an evaluation attestation, signed and published."""
    from eth_account import Account

    d = tmp_path_factory.mktemp("attest")
    bundle = d / "bc"
    ok("compile", MODELS / "breast_cancer.onnx", "-c", MODELS / "breast_cancer_calibration.npz", "-o", bundle)
    ok("setup", bundle)
    data = np.load(MODELS / "breast_cancer_test.npz")
    (d / "x.json").write_text(json.dumps(data["x"][0].tolist()))
    ok("prove", bundle, "-i", d / "x.json", "-o", d / "proof.json")
    ok("attest", "keygen", d / "owner.key")
    ok("attest", "inference", d / "proof.json", "-o", d / "inf.json")
    ok("attest", "evaluate", bundle, "--data", MODELS / "breast_cancer_test.npz", "--samples", "4", "-o", d / "ev.json")
    for doc in ("inf.json", "ev.json"):
        ok("attest", "sign", d / doc, "--private-key-file", d / "owner.key")
    # unpublished copies, for tests that publish or tamper themselves
    shutil.copy(d / "ev.json", d / "ev-unpublished.json")
    ok("attest", "publish", d / "inf.json")
    registry = json.loads((d / "inf.json").read_text())["chain"]["registry"]
    ok("attest", "publish", d / "ev.json", "--registry", registry)
    owner = Account.from_key((d / "owner.key").read_text().strip()).address
    return {"dir": d, "bundle": bundle, "registry": registry, "owner": owner}


def policy(world, name="policy.toml", **extra) -> str:
    ev = json.loads((world["dir"] / "ev.json").read_text())
    lines = ["[policy]", f'signers = ["{world["owner"]}"]', f'models = ["{ev["claim"]["model_id"]}"]',
             "max_age_days = 30"] + [f"{k} = {_toml(v)}" for k, v in extra.items()]
    path = world["dir"] / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _toml(v) -> str:
    """A value as TOML writes it: JSON for scalars and lists, an inline table for a dict."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {json.dumps(x)}" for k, x in v.items()) + "}"
    return json.dumps(v)


def verdict(res) -> dict:
    return {r["rule"]: r["passed"] for r in json.loads(res.output)["rules"]}


def test_documents_hold_the_claims(world):
    inf = D.read(world["dir"] / "inf.json")
    ev = D.read(world["dir"] / "ev.json")
    assert inf["claim"]["kind"] == "inference" and ev["claim"]["kind"] == "evaluation"
    m = ev["claim"]["metric"]
    assert m["n"] == 4 and m["k"] == m["correct"] <= 4
    pc = m["per_class"]
    assert len(pc["tp"]) == 2 and sum(pc["tp"]) == m["correct"] and pc["k"] == pc["tp"]
    from zkml.compiler.evaluation_signals import public_signals

    assert [int(s) for s in ev["proof"]["public_signals"]] == public_signals(
        pc["tp"], pc["fn"], pc["fp"], m["k"], pc["k"], 4, int(ev["claim"]["dataset"]["commitment"]))
    assert ev["valid_until"] > ev["issued_at"]
    assert D.recover_signer(ev) == world["owner"]
    assert ev["chain"]["registry"] == inf["chain"]["registry"] and ev["chain"]["verifier_index"] == 1
    assert D.check_proof(ev, "ev")[0] and D.check_proof(inf, "inf")[0]
    # signed claims hold no local path: the bundle's path sits beside the claim, the data set is named by file
    for doc in (inf, ev):
        assert "bundle" not in doc["claim"] and str(world["dir"]) not in json.dumps(doc["claim"])
    assert ev["claim"]["dataset"]["source"] == "breast_cancer_test.npz"
    # the opening reproduces the dataset commitment
    from zkml.bundle import store
    from zkml.compiler.evaluate import commitment_of

    opening = json.loads((world["dir"] / "ev.opening.json").read_text())
    data = np.load(MODELS / "breast_cancer_test.npz")
    c = store.load_compiled(world["bundle"])
    assert str(commitment_of(c, data["x"][:4], data["y"][:4], 2, int(opening["salt"]))) == ev["claim"]["dataset"]["commitment"]


def test_insurer_pass_and_failing_rules(world):
    d = world["dir"]
    res = ok("check", d / "ev.json", "--policy", policy(world, kinds=["evaluation"], min_accuracy=0.5), "--json")
    assert json.loads(res.output)["verdict"] == "PASS"
    assert set(verdict(res)) == {"proof", "signer", "model", "kind", "metric", "expiry", "age", "on chain"}
    # a threshold not met, a kind not accepted, too few samples
    res = zkml("check", d / "ev.json", "--policy", policy(world, min_samples=100), "--json")
    assert res.exit_code == 1 and verdict(res)["metric"] is False
    res = zkml("check", d / "inf.json", "--policy", policy(world, kinds=["evaluation"]), "--json")
    assert res.exit_code == 1 and verdict(res)["kind"] is False
    res = zkml("check", d / "inf.json", "--policy", policy(world, min_accuracy=0.1), "--json")
    assert res.exit_code == 1 and verdict(res)["metric"] is False  # an inference proves no accuracy
    # a signer not on the list
    p = policy(world)
    p.write_text(p.read_text().replace(world["owner"], "0x" + "11" * 20))
    res = zkml("check", d / "ev.json", "--policy", p, "--json")
    assert res.exit_code == 1 and verdict(res)["signer"] is False
    # the human-readable form names each rule
    res = zkml("check", d / "ev.json", "--policy", policy(world))
    assert res.exit_code == 0 and "PASS  signer" in res.output and "verdict: PASS" in res.output


def _variant(world, name, change, resign_with=None):
    doc = json.loads((world["dir"] / "ev.json").read_text())
    change(doc)
    if resign_with is not None:
        doc = D.sign(doc, resign_with)
    path = world["dir"] / name
    path.write_text(json.dumps(doc))
    return path


def test_forged_and_missing_signatures(world):
    from eth_account import Account

    mallory = Account.create()
    # mallory signs and claims to be the owner: the signature recovers to mallory, not the owner
    path = _variant(world, "forged.json", lambda d: None, resign_with=mallory)
    doc = json.loads(path.read_text())
    doc["signature"]["signer"] = world["owner"]
    path.write_text(json.dumps(doc))
    res = zkml("check", path, "--policy", policy(world), "--json")
    assert res.exit_code == 1 and verdict(res)["signer"] is False
    # a signed field changed after signing (issued later, to look fresh)
    path = _variant(world, "later.json", lambda d: d.update(issued_at=d["issued_at"] + 86400))
    res = zkml("check", path, "--policy", policy(world), "--json")
    assert res.exit_code == 1 and verdict(res)["signer"] is False
    path = _variant(world, "unsigned.json", lambda d: d.update(signature=None))
    res = zkml("check", path, "--policy", policy(world), "--json")
    assert res.exit_code == 1 and verdict(res)["signer"] is False


def test_tampered_claims_and_proofs_fail(world):
    owner_key = (world["dir"] / "owner.key").read_text().strip()
    from eth_account import Account

    key = Account.from_key(owner_key)

    def more_correct(d):  # the owner's own signature does not make a false metric true
        m = d["claim"]["metric"]
        m["correct"] = m["n"] = m["n"] + 1
        m["per_class"]["tp"][1] += 1  # a tampered per-class count, consistent with the totals

    path = _variant(world, "inflated.json", more_correct, resign_with=key)
    res = zkml("check", path, "--policy", policy(world), "--json")
    assert res.exit_code == 1 and verdict(res)["proof"] is False

    def bad_point(d):
        d["proof"]["pi_a"][0] = str(int(d["proof"]["pi_a"][0]) + 1)

    path = _variant(world, "badpoint.json", bad_point)
    res = zkml("check", path, "--policy", policy(world), "--json")
    assert res.exit_code == 1 and verdict(res)["proof"] is False
    res = zkml("attest", "publish", _variant(world, "badpoint2.json", lambda d: (bad_point(d), d.update(chain=None))))
    assert res.exit_code == 1 and "nothing published" in res.output
    # an old attestation, re-signed by the owner: the age rule fails
    path = _variant(world, "old.json", lambda d: d.update(issued_at=d["issued_at"] - 90 * 86400), resign_with=key)
    res = zkml("check", path, "--policy", policy(world), "--json")
    assert res.exit_code == 1 and verdict(res)["age"] is False and verdict(res)["signer"] is True


def test_auditor_sees_everything_valid(world):
    res = ok("audit", "--registry", world["registry"], "--onnx", MODELS / "breast_cancer.onnx", "--json")
    report = json.loads(res.output)
    assert report["ok"] and len(report["attestations"]) >= 2
    for row in report["attestations"]:
        assert set(row["checks"]) == {"vk", "bytecode", "claim", "proof", "on chain", "onnx", "key"}
        assert row["checks"]["key"] == {"passed": True, "detail": "key ok"}
    res = ok("audit", "--registry", world["registry"])
    assert "valid" in res.output


def test_auditor_rejects_another_onnx_file(world):
    model_id = json.loads((world["dir"] / "ev.json").read_text())["claim"]["model_id"]
    res = zkml("audit", "--registry", world["registry"], "--model", model_id, "--onnx", MODELS / "digits_mlp.onnx", "--json")
    assert res.exit_code == 1
    rows = json.loads(res.output)["attestations"]
    assert rows and all(r["checks"]["onnx"]["passed"] is False for r in rows)
    # without --model, another ONNX file selects no attestation at all
    res = zkml("audit", "--registry", world["registry"], "--onnx", MODELS / "digits_mlp.onnx")
    assert res.exit_code == 1 and "no attestations" in res.output


def test_auditor_catches_a_swapped_verifying_key(world, tmp_path):
    """The key published at the vkURI is replaced: its hash no longer matches the registry's."""
    ev = json.loads((world["dir"] / "ev.json").read_text())
    vk_path = ev["circuit"]["vk_path"]
    original = open(vk_path).read()
    try:
        vk = json.loads(original)
        vk["vk_alpha_1"], vk["IC"][0] = vk["IC"][0], vk["vk_alpha_1"]
        open(vk_path, "w").write(json.dumps(vk))
        res = zkml("audit", "--registry", world["registry"], "--json")
        assert res.exit_code == 1
        rows = [r for r in json.loads(res.output)["attestations"] if r["kind"] == "evaluation"]
        assert rows and all(not r["checks"]["vk"]["passed"] and not r["checks"]["bytecode"]["passed"] for r in rows)
    finally:
        open(vk_path, "w").write(original)


def test_revoked_attestation_fails_the_policy(world):
    d = world["dir"]
    path = d / "ev-revoke.json"
    shutil.copy(d / "ev-unpublished.json", path)
    ok("attest", "publish", path, "--registry", world["registry"])
    ok("check", path, "--policy", policy(world))
    ok("attest", "revoke", path)
    res = zkml("check", path, "--policy", policy(world), "--json")
    assert res.exit_code == 1 and verdict(res)["on chain"] is False
    assert "revoked" in [r for r in json.loads(res.output)["rules"] if r["rule"] == "on chain"][0]["reason"]
    audit = json.loads(ok("audit", "--registry", world["registry"], "--json").output)
    assert [r for r in audit["attestations"] if r["attestation_id"] == json.loads(path.read_text())["chain"]["attestation_id"]][0]["revoked"] == "attestation"
    res = zkml("attest", "publish", path)
    assert res.exit_code == 1 and "already published" in res.output


def test_threshold_not_met_cannot_be_proved(world, tmp_path):
    res = zkml("attest", "evaluate", world["bundle"], "--data", MODELS / "breast_cancer_test.npz", "--samples", "4",
               "--k", "5", "-o", tmp_path / "e.json")
    assert res.exit_code == 1 and "K = 5" in res.output and not (tmp_path / "e.json").exists()
    wrong = tmp_path / "wrong.npz"
    data = np.load(MODELS / "breast_cancer_test.npz")
    np.savez(wrong, x=data["x"][:4], y=1 - data["y"][:4])  # every label flipped
    res = zkml("attest", "evaluate", world["bundle"], "--data", wrong, "--k", "3", "-o", tmp_path / "e.json")
    assert res.exit_code == 1 and "fewer than K" in res.output and not (tmp_path / "e.json").exists()


def test_registry_address_with_other_code(world):
    ev = json.loads((world["dir"] / "ev.json").read_text())
    verifier = ev["chain"]["verifier"]
    res = zkml("audit", "--registry", verifier)
    assert res.exit_code == 2 and "not an AttestationRegistry" in res.output
    path = _variant(world, "elsewhere.json", lambda d: d["chain"].update(registry=verifier))
    res = zkml("check", path, "--policy", policy(world), "--json")
    assert res.exit_code == 1 and verdict(res)["on chain"] is False


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('{"schema": "zkml.attestation/v9"}', "v9"),
    ('{"claim": {}}', "schema"),
    ("[]", "JSON object"),
])
def test_malformed_attestations_exit_2(world, content, message):
    path = world["dir"] / "bad.json"
    path.write_text(content)
    res = zkml("check", path, "--policy", policy(world))
    assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output
    res = zkml("check", path, "--policy", policy(world), "--json")
    assert res.exit_code == 2 and '"CANNOT CHECK"' in res.output


@pytest.mark.parametrize("text, message", [
    ('[policy]\nsigners = ["0xabc"] ]\nmodels = []\n', "line 2"),
    ('[policy]\nsigners = ["{owner}"]\nmin_acuracy = 0.9\n', "line 3: unknown key 'min_acuracy'"),
    ('[policy]\nsigners = ["{owner}"]\n\nmin_accuracy = "high"\n', "line 4: 'min_accuracy' has the wrong type"),
    ('[policy]\nsigners = ["{owner}"]\nmin_accuracy = 1.5\n', "line 3: min_accuracy must lie between 0 and 1"),
    ('[policy]\nsigners = ["0x12"]\n', "line 2: signer '0x12' is not a 0x address"),
    ('[policy]\nsigners = ["{owner}"]\nconfidence = 1.0\n', "line 3: confidence = 1.0 must lie strictly between 0 and 1"),
    ('[policy]\nsigners = ["{owner}"]\nconfidence = 0\n', "line 3: confidence = 0 must lie strictly between 0 and 1"),
    ('[policy]\nsigners = ["{owner}"]\nmin_recall = {1 = 1.5}\n', "line 3: min_recall: the recall of class '1'"),
    ('[policy]\nmodels = []\n', "'signers'"),
])
def test_policy_errors_name_the_line(world, text, message):
    path = world["dir"] / "bad-policy.toml"
    path.write_text(text.replace("{owner}", world["owner"]))
    res = zkml("check", world["dir"] / "ev.json", "--policy", path)
    assert res.exit_code == 2 and message in res.output and "bad-policy.toml" in res.output


def test_unreachable_chain_is_not_a_pass(world):
    res = zkml("check", world["dir"] / "ev.json", "--policy", policy(world), "--rpc", "http://127.0.0.1:9")
    assert res.exit_code == 2 and "cannot reach" in res.output
    res = zkml("audit", "--registry", world["registry"], "--rpc", "http://127.0.0.1:9")
    assert res.exit_code == 2 and "cannot reach" in res.output


def test_evaluation_keys_are_reused_for_other_data(world, tmp_path):
    """The circuit depends on N, not on the data: a second data set reuses the keys."""
    data = np.load(MODELS / "breast_cancer_test.npz")
    other = tmp_path / "other.npz"
    np.savez(other, x=data["x"][10:14], y=data["y"][10:14])
    res = ok("attest", "evaluate", world["bundle"], "--data", other, "-o", tmp_path / "e.json")
    assert "reusing the evaluation keys" in res.output
    a, b = D.read(tmp_path / "e.json"), D.read(world["dir"] / "ev.json")
    assert a["circuit"]["vk_sha256"] == b["circuit"]["vk_sha256"]
    assert a["claim"]["dataset"]["commitment"] != b["claim"]["dataset"]["commitment"]


def _one_weight_changed(src, dest):
    import onnx
    from onnx import numpy_helper

    m = onnx.load(str(src))
    t = max(m.graph.initializer, key=lambda t: numpy_helper.to_array(t).size)
    w = numpy_helper.to_array(t).copy()
    w.flat[0] += 0.5
    t.CopyFrom(numpy_helper.from_array(w, t.name))
    onnx.save(m, str(dest))


def test_audit_names_a_verifier_registered_from_another_circuit(world):
    """The owner registers, under the model's id, the verifier of another circuit (the model
    with one weight changed): every hash check passes, the key column fails for it alone, and a
    policy with require_key_check fails it while passing the honest attestation."""
    d = world["dir"]
    _one_weight_changed(MODELS / "breast_cancer.onnx", d / "evil.onnx")
    ok("compile", d / "evil.onnx", "-c", MODELS / "breast_cancer_calibration.npz", "-o", d / "evil")
    ok("setup", d / "evil")
    ok("prove", d / "evil", "-i", d / "x.json", "-o", d / "evil-proof.json")
    ok("attest", "inference", d / "evil-proof.json", "-o", d / "evil.json")
    good = json.loads((d / "inf.json").read_text())["claim"]
    doc = json.loads((d / "evil.json").read_text())
    for k in ("model_id", "model_sha256", "weights_sha256"):  # the owner's word that this is the model
        doc["claim"][k] = good[k]
    (d / "evil.json").write_text(json.dumps(doc))
    ok("attest", "sign", d / "evil.json", "--private-key-file", d / "owner.key")
    ok("attest", "publish", d / "evil.json", "--registry", world["registry"])
    evil_id = json.loads((d / "evil.json").read_text())["chain"]["attestation_id"]
    res = zkml("audit", "--registry", world["registry"], "--onnx", MODELS / "breast_cancer.onnx", "--json")
    assert res.exit_code == 1
    rows = {r["attestation_id"]: r for r in json.loads(res.output)["attestations"]}
    assert rows[evil_id]["checks"]["key"]["passed"] is False
    assert rows[evil_id]["checks"]["key"]["detail"].startswith("key FAIL: ")
    assert all(r["checks"][k]["passed"] for k in ("vk", "bytecode", "proof", "onnx") for r in [rows[evil_id]])
    others = [r for i, r in rows.items() if i != evil_id]
    assert others and all(r["checks"]["key"]["detail"] == "key ok" for r in others)
    res = zkml("audit", "--registry", world["registry"], "--onnx", MODELS / "breast_cancer.onnx")
    assert "key FAIL" in res.output and "key ok" in res.output
    pol = policy(world, "keys.toml", require_key_check=True)
    pol.write_text(pol.read_text().replace("models = ", "# models = "))
    res = zkml("check", d / "inf.json", "--policy", pol, "--onnx", MODELS / "breast_cancer.onnx", "--json")
    assert res.exit_code == 0 and verdict(res)["key"] is True, res.output
    res = zkml("check", d / "evil.json", "--policy", pol, "--onnx", MODELS / "breast_cancer.onnx", "--json")
    assert res.exit_code == 1 and verdict(res)["key"] is False
    res = zkml("check", d / "inf.json", "--policy", pol, "--json")  # no model given: cannot check
    assert res.exit_code == 2 and "--onnx" in res.output


# --- evidence insurers can price: confidence bounds, per-class recall, expiry, exports ----------


def test_confidence_bound_and_recall_rules(world):
    """4 of 4 right passes a recall rule on the point estimate but supports only accuracy >= 0.473
    at 95% confidence: the bound, N and the rule are printed."""
    d = world["dir"]
    path = policy(world, "bounds.toml", min_recall={"1": 0.9}, min_accuracy_lower_bound=0.95, confidence=0.95)
    res = zkml("check", d / "ev.json", "--policy", path, "--json")
    rules = {r["rule"]: r for r in json.loads(res.output)["rules"]}
    assert res.exit_code == 1 and rules["recall 1"]["passed"] and not rules["accuracy"]["passed"]
    assert "accuracy >= 0.4729 at 95% confidence (exact, N = 4)" in rules["accuracy"]["reason"]
    assert "min_accuracy_lower_bound 0.95" in rules["accuracy"]["reason"]
    res = zkml("check", d / "ev.json", "--policy", path)
    assert "FAIL  accuracy" in res.output and "PASS  recall 1" in res.output
    # the same recall asked as a lower bound fails; a weaker bound at a lower confidence passes
    res = zkml("check", d / "ev.json", "--policy", policy(world, "rb.toml", min_recall_lower_bound={"1": 0.9}), "--json")
    assert res.exit_code == 1 and verdict(res)["recall 1"] is False
    res = zkml("check", d / "ev.json", "--policy",
               policy(world, "weak.toml", min_accuracy_lower_bound=0.2, confidence=0.5), "--json")
    assert res.exit_code == 0 and verdict(res)["accuracy"] is True


def test_policy_naming_a_class_the_model_lacks(world):
    from conftest import one_line

    res = zkml("check", world["dir"] / "ev.json", "--policy", policy(world, "cat.toml", min_recall={"cat": 0.9}))
    line = one_line(res)
    assert res.exit_code == 2 and "min_recall names class 'cat'" in line and "0..1" in line
    res = zkml("check", world["dir"] / "ev.json", "--policy", policy(world, "c7.toml", min_recall_lower_bound={"7": 0.9}))
    assert res.exit_code == 2 and "class '7'" in one_line(res)


def test_expired_attestation_fails_naming_the_date(world):
    from eth_account import Account

    from zkml.attest.policy import check, read_policy

    key = Account.from_key((world["dir"] / "owner.key").read_text().strip())
    doc = json.loads((world["dir"] / "ev.json").read_text())
    # issued an hour ago, valid for a minute: expired however fast the suite runs
    path = _variant(world, "expired.json", lambda d: d.update(issued_at=d["issued_at"] - 3600,
                                                              valid_until=d["issued_at"] - 3540), resign_with=key)
    res = zkml("check", path, "--policy", policy(world), "--json")
    rules = {r["rule"]: r for r in json.loads(res.output)["rules"]}
    assert res.exit_code == 1 and not rules["expiry"]["passed"] and rules["signer"]["passed"]
    assert f"expired on {D.utc(doc['issued_at'] - 3540)}" in rules["expiry"]["reason"]
    # the registry records the original date: a re-dated document does not match its record
    assert not rules["on chain"]["passed"] and "valid until" in rules["on chain"]["reason"]
    # the published document itself: valid now, expired once its date has passed
    p = read_policy(policy(world, "noc.toml", require_onchain=False))
    now_rules = {r: ok for r, ok, _ in check(doc, p)}
    later = {r: (ok, why) for r, ok, why in check(doc, p, now=doc["valid_until"] + 1)}
    assert now_rules["expiry"] and not later["expiry"][0] and D.utc(doc["valid_until"]) in later["expiry"][1]


def test_valid_until_before_issued_at_is_refused(world, tmp_path):
    from conftest import one_line

    path = _variant(world, "backwards.json", lambda d: d.update(valid_until=d["issued_at"] - 10))
    res = zkml("check", path, "--policy", policy(world))
    assert res.exit_code == 2 and "valid_until" in one_line(res) and "precedes issued_at" in one_line(res)
    res = zkml("attest", "evaluate", world["bundle"], "--data", MODELS / "breast_cancer_test.npz", "--samples", "4",
               "--valid-until", "2001-01-01", "-o", tmp_path / "e.json")
    assert res.exit_code == 1 and "precedes now" in one_line(res) and not (tmp_path / "e.json").exists()


def test_eas_export_verifies_with_an_independent_eip712(world, tmp_path):
    """eth_account's encode_typed_data over the exported domain, types and message recovers the
    owner; the UID and data decode as EAS's own rules say (eth_abi's packed and ABI codecs)."""
    from eth_abi import decode
    from eth_abi.packed import encode_packed
    from eth_account import Account
    from eth_account.messages import encode_typed_data
    from eth_utils import keccak

    from zkml.attest.export import SCHEMA

    out = tmp_path / "ev.eas.json"
    ok("attest", "export", world["dir"] / "ev.json", "--format", "eas", "--private-key-file", world["dir"] / "owner.key",
       "-o", out)
    view = json.loads(out.read_text())
    sig, doc = view["sig"], D.read(world["dir"] / "ev.json")
    assert sig["domain"]["name"] == "EAS Attestation" and sig["domain"]["chainId"] == 1
    assert sig["primaryType"] == "Attest" and [f["name"] for f in sig["types"]["Attest"]][0] == "version"
    domain_type = [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                   {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}]
    msg = encode_typed_data(full_message={"types": {"EIP712Domain": domain_type, **sig["types"]},
                                          "primaryType": "Attest", "domain": sig["domain"], "message": sig["message"]})
    s = sig["signature"]
    raw = bytes.fromhex(s["r"][2:]) + bytes.fromhex(s["s"][2:]) + bytes([s["v"]])
    assert Account.recover_message(msg, signature=raw) == world["owner"] == view["signer"]
    m = sig["message"]
    assert m["schema"] == "0x" + keccak(SCHEMA.encode() + bytes(20) + b"\x01").hex()
    assert m["time"] == doc["issued_at"] and m["expirationTime"] == doc["valid_until"]
    uid = keccak(encode_packed(["uint16", "bytes", "address", "address", "uint64", "uint64", "bool", "bytes32", "bytes", "uint32"],
                               [1, m["schema"].encode(), m["recipient"], "0x" + "00" * 20, m["time"], m["expirationTime"],
                                m["revocable"], bytes.fromhex(m["refUID"][2:]), bytes.fromhex(m["data"][2:]), 0]))
    assert sig["uid"] == "0x" + uid.hex()
    fields = decode([f.split(" ")[0] for f in SCHEMA.split(",")], bytes.fromhex(m["data"][2:]))
    assert "0x" + fields[0].hex() == doc["claim"]["model_id"] and fields[4] == "evaluation"
    assert list(fields[10]) == doc["claim"]["metric"]["per_class"]["tp"] and fields[3] == D.document_hash(doc)
    # a tampered message no longer recovers the owner
    tampered = dict(m, expirationTime=m["expirationTime"] + 86400)
    msg = encode_typed_data(full_message={"types": {"EIP712Domain": domain_type, **sig["types"]},
                                          "primaryType": "Attest", "domain": sig["domain"], "message": tampered})
    assert Account.recover_message(msg, signature=raw) != world["owner"]


def test_in_toto_export_subject_is_the_onnx_file(world, tmp_path):
    import base64
    import hashlib

    from eth_account import Account
    from eth_account.messages import encode_defunct

    out = tmp_path / "ev.intoto.json"
    ok("attest", "export", world["dir"] / "ev.json", "--format", "in-toto", "--private-key-file",
       world["dir"] / "owner.key", "--model", MODELS / "breast_cancer.onnx", "-o", out)
    env = json.loads(out.read_text())
    assert env["payloadType"] == "application/vnd.in-toto+json" and len(env["signatures"]) == 1
    body = base64.b64decode(env["payload"])
    st = json.loads(body)
    assert st["_type"] == "https://in-toto.io/Statement/v1"
    assert st["subject"] == [{"name": "breast_cancer.onnx",
                              "digest": {"sha256": hashlib.sha256((MODELS / "breast_cancer.onnx").read_bytes()).hexdigest()}}]
    assert st["predicate"]["claim"] == D.read(world["dir"] / "ev.json")["claim"]
    t = env["payloadType"].encode()
    pae = b"DSSEv1 " + str(len(t)).encode() + b" " + t + b" " + str(len(body)).encode() + b" " + body
    sig = base64.b64decode(env["signatures"][0]["sig"])
    assert Account.recover_message(encode_defunct(primitive=pae), signature=sig) == env["signatures"][0]["keyid"] == world["owner"]
    other_type = b"DSSEv1 16 application/json " + str(len(body)).encode() + b" " + body
    assert Account.recover_message(encode_defunct(primitive=other_type), signature=sig) != world["owner"]
    # another ONNX file as the subject is refused
    res = zkml("attest", "export", world["dir"] / "ev.json", "--format", "in-toto", "--private-key-file",
               world["dir"] / "owner.key", "--model", MODELS / "digits_mlp.onnx", "-o", tmp_path / "x.json")
    assert res.exit_code == 1 and "another model file" in res.output


def test_export_refuses_unsigned_documents_and_other_keys(world, tmp_path):
    from conftest import one_line

    unsigned = _variant(world, "unsigned-export.json", lambda d: d.update(signature=None))
    for fmt in ("eas", "in-toto"):
        res = zkml("attest", "export", unsigned, "--format", fmt, "--private-key-file", world["dir"] / "owner.key",
                   "-o", tmp_path / f"u.{fmt}.json")
        assert res.exit_code == 1 and "sign it first" in one_line(res) and not (tmp_path / f"u.{fmt}.json").exists()
    ok("attest", "keygen", tmp_path / "other.key")
    res = zkml("attest", "export", world["dir"] / "ev.json", "--format", "eas", "--private-key-file", tmp_path / "other.key",
               "-o", tmp_path / "o.json")
    assert res.exit_code == 1 and "export with the signer's key" in one_line(res)


def test_renew_reproves_on_the_same_committed_data(world, tmp_path):
    d = world["dir"]
    shutil.copy(d / "ev.json", tmp_path / "ev.json")
    shutil.copy(d / "ev.opening.json", tmp_path / "ev.opening.json")
    old = D.read(tmp_path / "ev.json")
    ok("attest", "renew", tmp_path / "ev.json", "--valid-days", "10", "-o", tmp_path / "renewed.json")
    new = D.read(tmp_path / "renewed.json")
    assert new["claim"]["dataset"] == old["claim"]["dataset"] and new["claim"]["metric"] == old["claim"]["metric"]
    assert new["proof"]["pi_a"] != old["proof"]["pi_a"] and D.check_proof(new, "renewed")[0]
    assert new["signature"] is None and new["chain"] is None
    assert 9.9 < (new["valid_until"] - new["issued_at"]) / 86400 <= 10 and (tmp_path / "renewed.opening.json").exists()
    # other data than the committed set is refused
    data = np.load(MODELS / "breast_cancer_test.npz")
    np.savez(tmp_path / "other.npz", x=data["x"][:4], y=data["y"][:4])
    res = zkml("attest", "renew", tmp_path / "ev.json", "--data", tmp_path / "other.npz")
    assert res.exit_code == 1 and "not the committed data set" in res.output
    res = zkml("attest", "renew", d / "inf.json")
    assert res.exit_code == 1 and "renew re-proves evaluations" in res.output
