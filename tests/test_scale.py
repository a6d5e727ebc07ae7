"""Scale-out on Ray, on this machine only (127.0.0.1): batches proved by actors, resumed,
surviving a killed worker, on a two-node cluster; batch verification naming the bad proof;
bad input refused before any work is scheduled."""

import json
import os
import signal

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import ROOT, chain_circuit
from zkml.bundle.claim_fields import PROOF_VERSION
from zkml.cli import main
from zkml.crypto.bn254 import R, ints_to_limbs
from zkml.errors import ZkmlError
from zkml.scale.batch_prove import SUFFIX, prove_batch

MODELS = ROOT / "models"
pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    d = tmp_path_factory.mktemp("scale")
    r = CliRunner()
    assert r.invoke(main, ["compile", str(MODELS / "breast_cancer.onnx"), "-c", str(MODELS / "breast_cancer_calibration.npz"),
                           "-o", str(d / "bc")]).exit_code == 0
    assert r.invoke(main, ["setup", str(d / "bc")]).exit_code == 0
    return d / "bc"


@pytest.fixture(scope="module")
def xs():
    return np.load(MODELS / "breast_cancer_test.npz")["x"][:6]


def test_batch_resume_and_tampered_proof(bundle, xs, tmp_path):
    out = tmp_path / "proofs"
    res = prove_batch(bundle, xs, out, workers=2)
    assert len(res.proved) == 6 and not res.failed
    files = sorted(out.glob(f"*{SUFFIX}"))
    assert len(files) == 6 and not list(out.glob("*.tmp*"))
    # a re-run does nothing; a tampered proof is proved again
    assert prove_batch(bundle, xs, out, workers=2).skipped == 6
    doc = json.loads(files[2].read_text())
    doc["proof"]["pi_a"][1] = str(int(doc["proof"]["pi_a"][1]) + 1)
    files[2].write_text(json.dumps(doc))
    res = prove_batch(bundle, xs, out, workers=1)
    assert res.skipped == 5 and [n for n, _ in res.proved] == [files[2].name.removesuffix(SUFFIX)]
    # and the CLI's batch verification agrees that everything is valid again
    r = CliRunner().invoke(main, ["verify", str(out), "--batch", "--bundle", str(bundle)])
    assert r.exit_code == 0 and "all 6 proofs are valid" in r.output


def test_a_killed_worker_costs_only_its_task(bundle, xs, tmp_path):
    import ray  # noqa: F401  (ray puts its vendored psutil on sys.path when imported)
    import psutil

    killed = []

    def kill_one(done, total, elapsed):
        if killed:
            return
        for proc in psutil.process_iter(["cmdline"]):
            if any("ProverWorker" in part for part in (proc.info["cmdline"] or [])):
                os.kill(proc.pid, signal.SIGKILL)
                killed.append(proc.pid)
                return

    res = prove_batch(bundle, np.concatenate([xs, xs[:4] + 0.01]), tmp_path / "p", workers=2, progress=kill_one)
    assert killed, "no worker process was found to kill"
    assert len(res.proved) == 10 and not res.failed


def test_two_node_cluster(bundle, xs, tmp_path):
    from ray.cluster_utils import Cluster

    from zkml.scale.cluster import _loopback_env

    _loopback_env()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "node_ip_address": "127.0.0.1"})
    try:
        cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1")
        cluster.wait_for_nodes()
        res = prove_batch(bundle, xs[:4], tmp_path / "p", workers=2, address=cluster.address)
        assert len(res.proved) == 4 and not res.failed
        from zkml.attest import document as D
        from zkml.attest.owner import from_evaluation
        from zkml.scale.chunked_evaluation import prove_chunked

        result, _ = prove_chunked(bundle, MODELS / "breast_cancer_test.npz", None, 2, samples=4, workers=2,
                                  address=cluster.address, log=lambda m: None)
        assert D.check_proof(from_evaluation(result), "two-node")[0]
    finally:
        cluster.shutdown()


def test_bad_input_is_refused_before_scheduling(bundle, xs, tmp_path):
    import ray

    bad = np.zeros((3, 7))  # breast cancer takes 30 features
    with pytest.raises(ZkmlError, match="row 0"):
        prove_batch(bundle, bad, tmp_path / "p", workers=2, source="bad.npz")
    rows = xs.copy()
    rows[4, 3] = np.nan
    with pytest.raises(ZkmlError, match="row 4.*NaN"):
        prove_batch(bundle, rows, tmp_path / "p", workers=2, source="bad.npz")
    assert not ray.is_initialized() and not (tmp_path / "p").exists()  # refused before Ray started


def test_output_folder_of_another_bundle_and_unreachable_cluster(bundle, xs, tmp_path):
    out = tmp_path / "p"
    out.mkdir()
    doc = {"zkml_proof_version": PROOF_VERSION, "claim": {"model_sha256": "00" * 32, "vk_sha256": "11" * 32},
           "proof": {}, "public_signals": []}
    (out / f"other{SUFFIX}").write_text(json.dumps(doc))
    with pytest.raises(ZkmlError, match=f"other{SUFFIX}: is a proof for another bundle"):
        prove_batch(bundle, xs, out, workers=1)
    r = CliRunner().invoke(main, ["prove-batch", str(bundle), str(MODELS / "breast_cancer_test.npz"), "-o",
                                  str(tmp_path / "q"), "--ray", "127.0.0.1:9"])
    assert r.exit_code == 1 and "cannot connect" in r.output  # the bounded TCP check, not Ray's own retries
    assert not (tmp_path / "q").exists()


def test_batch_verification_names_the_bad_proof():
    from zkml.engines.cpu.prover import prove
    from zkml.groth16.batch_verify import verify_batch, verify_batch_equation
    from zkml.groth16.setup import DevTau, setup_from_secrets

    r1cs, w = chain_circuit(4, n_extra_public=1)
    pk = setup_from_secrets(r1cs, DevTau.random())
    vk = pk.verifying_key()
    public = w[1: pk.n_public + 1]
    items = [(public, prove(pk, ints_to_limbs(w))) for _ in range(6)]
    assert verify_batch(vk, items) == (True, [])
    wrong = list(items)
    wrong[3] = ([(public[0] + 1) % R] + public[1:], items[3][1])
    assert verify_batch(vk, wrong) == (False, [3])
    # two wrong proofs whose errors could cancel with fixed weights do not with random ones
    p0, p1 = items[0][1], items[1][1]
    swapped = [(public, type(p0)(a=p0.a, b=p0.b, c=p1.c)), (public, type(p1)(a=p1.a, b=p1.b, c=p0.c))]
    assert not verify_batch_equation(vk, swapped)
    assert verify_batch(vk, swapped) == (False, [0, 1])


@pytest.fixture(scope="module")
def chunked(bundle):
    """Two chunked evaluations (3 chunks of 2) of different test rows, as documents."""
    from zkml.attest.owner import from_evaluation
    from zkml.scale.chunked_evaluation import prove_chunked

    d = bundle.parent
    data = np.load(MODELS / "breast_cancer_test.npz")
    np.savez(d / "other.npz", x=data["x"][20:26], y=data["y"][20:26])
    docs = []
    for src in (MODELS / "breast_cancer_test.npz", d / "other.npz"):
        result, _ = prove_chunked(bundle, src, None, 2, samples=6, workers=2, log=lambda m: None)
        docs.append(from_evaluation(result))
    return docs


def test_chunked_evaluation_verifies(chunked):
    from zkml.attest import document as D

    doc = chunked[0]
    assert doc["claim"]["dataset"]["chunks"] == 3 and len(doc["proof"]["chunks"]) == 3
    # lookups are on by default: the chunk circuit is a two-round (lookup) circuit, each chunk proof carries D
    assert doc["circuit"]["verifying_key"]["protocol"] == "groth16-lookup"
    assert all(ch.get("protocol") == "groth16-lookup" and "pi_d" in ch for ch in doc["proof"]["chunks"])
    ok, reason = D.check_proof(doc, "chunked")
    assert ok, reason
    # the negative twin: a chunk's D replaced by another chunk's (its challenge changes) does not verify
    bad = _tampered(doc, lambda d: d["proof"]["chunks"][0].__setitem__("pi_d", doc["proof"]["chunks"][1]["pi_d"]))
    ok, reason = D.check_proof(bad, "chunked")
    assert not ok and "do not verify" in reason, reason


def _tampered(doc, change):
    import copy

    d = copy.deepcopy(doc)
    change(d)
    return d


def test_chunked_evaluation_rejects_tampering(chunked):
    from zkml.attest import document as D

    doc, other = chunked
    chunks = doc["proof"]["chunks"]
    cases = {
        "missing": lambda d: d["proof"]["chunks"].pop(1),
        "repeated": lambda d: d["proof"]["chunks"].__setitem__(2, dict(d["proof"]["chunks"][1])),
        "other data set": lambda d: d["proof"]["chunks"].__setitem__(1, other["proof"]["chunks"][1]),
        "tampered proof": lambda d: d["proof"]["chunks"][0].__setitem__("pi_c", chunks[1]["pi_c"]),
        "moved index": lambda d: d["proof"]["chunks"][0].update(index=5),
    }
    for name, change in cases.items():
        ok, reason = D.check_proof(_tampered(doc, change), name)
        assert not ok, name
    # a claim of more right answers than the chunks prove cannot be re-encoded
    def inflate(d):
        d["claim"]["metric"]["correct"] = d["claim"]["metric"]["k"] = 6
        d["proof"]["chunks"][0]["public_signals"][0] = str(int(chunks[0]["public_signals"][0]) + 1)
    bad = _tampered(doc, inflate)
    assert not D.check_proof(bad, "inflated")[0]


def test_chunk_counts_that_do_not_add_up_are_rejected(chunked):
    """A claim consistent with itself (its aggregate signals re-encoded, its hash recomputed)
    whose per-class counts are not the sum of the chunk proofs' public counts."""
    # (the first six rows hold class 1 samples the model gets right)
    from zkml.attest import document as D

    doc = chunked[0]
    pc = doc["claim"]["metric"]["per_class"]
    assert sum(pc["tp"]) == doc["claim"]["metric"]["correct"] and len(pc["tp"]) == 2
    ok, _ = D.check_proof(doc, "chunked")
    assert ok

    def move_a_true_positive(d):  # a sample of class 1 claimed missed (predicted 0): totals stay consistent
        m = d["claim"]["metric"]
        m["per_class"]["tp"][1] -= 1
        m["per_class"]["fn"][1] += 1
        m["per_class"]["fp"][0] += 1
        m["per_class"]["k"] = [0, 0]
        m["k"] = 0
        m["correct"] = sum(m["per_class"]["tp"])
        d["proof"]["public_signals"] = [str(v) for v in D.claim_signals(d, "moved")]
        d["claim"]["claim_hash"] = D.claim_hash(d["proof"]["public_signals"])

    bad = _tampered(doc, move_a_true_positive)
    D.validate(bad, "moved")  # well-formed: only the chunk proofs can tell
    ok, reason = D.check_proof(bad, "moved")
    assert not ok and "chunk counts add up to" in reason, reason
    # a chunk's public counts replaced by another chunk's: the packing re-verifies, the proof does not
    swapped = _tampered(doc, lambda d: d["proof"]["chunks"][0]["public_signals"].__setitem__(
        0, d["proof"]["chunks"][1]["public_signals"][0] if d["proof"]["chunks"][1]["public_signals"][0]
        != d["proof"]["chunks"][0]["public_signals"][0] else str(int(d["proof"]["chunks"][0]["public_signals"][0]) ^ 1)))
    assert not D.check_proof(swapped, "swapped")[0]


def test_chunk_size_must_divide_the_samples(bundle):
    from zkml.scale.chunked_evaluation import prove_chunked

    with pytest.raises(ZkmlError, match="chunks of 4"):
        prove_chunked(bundle, MODELS / "breast_cancer_test.npz", None, 4, samples=6, workers=1)
