"""Scale-out on Ray, two sections of bench/results/scale.md:

- inference: proofs per minute for a batch of digits-CNN inferences: one process proving in a
  loop (both cores), and `prove-batch` on a local Ray with 1 and 2 workers (one core each), in
  the same run; plus Ray's per-task overhead. Steady-state rates are taken between the first and
  the last finished proof, so worker start-up (imports, JIT cache, key transfer) is reported apart.
- evaluation: the whole digits test split (540 samples) as one chunked evaluation with per-class
  counts, through the Python API (`zkml.attest.evaluate(..., chunk_size=27, workers=2)`, lookups
  on: two-round proofs), signed and checked against a policy (`zkml.check`), with its wall time.

    python bench/bench_scale.py [inference|evaluation|all] [N inputs]   (default: all, 16)

Running one section keeps the other one's table from the file as it is.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


RESULTS = ROOT / "bench" / "results" / "scale.md"
TITLE = "# Scale-out on Ray (same machine, 2 cores)"
SECTIONS = ("inference", "evaluation")
HEADINGS = {"inference": "## Inference proofs: digits CNN, prove-batch",
            "evaluation": "## A chunked evaluation over the whole digits test split"}


def main(which: str = "all", n: int = 16) -> None:
    sections = _read_sections()
    if which in ("inference", "all"):
        sections["inference"] = inference(n)
    if which in ("evaluation", "all"):
        sections["evaluation"] = evaluation()
    text = "\n\n".join([TITLE] + [HEADINGS[k] + "\n\n" + sections[k].strip() for k in SECTIONS if sections.get(k)])
    RESULTS.write_text(text + "\n")
    print(text)


def _read_sections() -> dict:
    """The sections already in scale.md (an older file without headings is the inference one)."""
    if not RESULTS.exists():
        return {}
    text = RESULTS.read_text()
    found = {}
    for key in SECTIONS:
        start = text.find(HEADINGS[key])
        if start < 0:
            continue
        body = text[start + len(HEADINGS[key]):]
        ends = [body.find(h) for h in HEADINGS.values() if body.find(h) >= 0]
        found[key] = body[:min(ends)] if ends else body
    if not found and text.startswith("# Scale-out on Ray: digits-CNN inference proofs"):
        found["inference"] = text.split("\n", 1)[1]
    return found


def inference(n: int = 16) -> str:
    from click.testing import CliRunner

    from zkml.bundle.claims import Prover, prove_inference
    from zkml.cli import main as cli
    from zkml.scale.batch_prove import prove_batch
    from zkml.scale.cluster import ray_session

    work = Path(tempfile.mkdtemp(prefix="zkml-bench-scale-"))
    try:
        bundle = work / "cnn"
        r = CliRunner()
        assert r.invoke(cli, ["compile", str(ROOT / "models/digits_cnn.onnx"), "-c",
                              str(ROOT / "models/digits_cnn_calibration.npz"), "-o", str(bundle)]).exit_code == 0
        assert r.invoke(cli, ["setup", str(bundle)]).exit_code == 0
        xs = np.load(ROOT / "models/digits_cnn_test.npz")["x"][:n]

        prover = Prover(bundle)
        prove_inference(bundle, xs[0], work / "warm.json", prover=prover)
        t0 = time.perf_counter()
        for i, x in enumerate(xs):
            prove_inference(bundle, x, work / f"loop{i}.json", prover=prover)
        loop = n / (time.perf_counter() - t0) * 60

        rows = []
        for workers in (1, 2):
            stamps = []
            t0 = time.perf_counter()
            res = prove_batch(bundle, xs, work / f"ray{workers}", workers=workers,
                              progress=lambda d, t, e: stamps.append(time.perf_counter()))
            total = time.perf_counter() - t0
            assert len(res.proved) == n and not res.failed
            steady = (len(stamps) - 1) / (stamps[-1] - stamps[0]) * 60
            rows.append((workers, steady, stamps[0] - t0, total))

        with ray_session(None, 1) as ray:
            @ray.remote(num_cpus=1)
            class Echo:
                def ping(self, x):
                    return x

            e = Echo.remote()
            ray.get(e.ping.remote(0))
            t0 = time.perf_counter()
            for _ in range(200):
                ray.get(e.ping.remote(xs[0]))
            overhead = (time.perf_counter() - t0) / 200
    finally:
        shutil.rmtree(work, ignore_errors=True)
    per_proof = 60 / rows[0][1]
    lines = [f"{n} inputs from the test split, same run; every proof is self-checked with py_ecc before it is written.", "",
             "| how | proofs per minute (steady) | first proof after (s) | wall time (s) |", "|---|---|---|---|",
             f"| one process, loop (both cores) | {loop:.1f} | | {n / loop * 60:.1f} |"]
    lines += [f"| prove-batch, {w} worker{'s' if w > 1 else ''} (one core each) | {s:.1f} | {f:.1f} | {t:.1f} |" for w, s, f, t in rows]
    lines += ["", f"2 workers / 1 worker: **{rows[1][1] / rows[0][1]:.2f}x**; 2 workers / loop: **{rows[1][1] / loop:.2f}x**.",
              f"Ray's per-task overhead (round trip of a task carrying one input): {overhead * 1e3:.2f} ms = "
              f"{overhead / per_proof:.1%} of a one-core proof ({per_proof:.2f} s).", "",
              "A cluster of N GPU machines, modelled from these figures (not measured): each worker proves at the rate "
              "above (or the GPU engine's rate once measured), Ray adds the overhead above per task, so N machines "
              "with k workers each give about N x k x the 1-worker rate, minus start-up (the first-proof time) per worker."]
    return "\n".join(lines)


def evaluation(chunk_size: int = 27, workers: int = 2) -> str:
    """540 samples in chunks of ``chunk_size`` on ``workers`` one-core Ray workers, from a fresh
    bundle (the chunk circuit's keys are made in the run and timed apart), then sign and check."""
    import resource

    import zkml
    from zkml.attest.confidence import lower_bound

    work = Path(tempfile.mkdtemp(prefix="zkml-bench-eval-"))
    data = ROOT / "models" / "digits_cnn_test.npz"
    n = len(np.load(data)["y"])
    try:
        t0 = time.perf_counter()
        bundle = zkml.compile(ROOT / "models/digits_cnn.onnx", ROOT / "models/digits_cnn_calibration.npz",
                              output=work / "cnn")
        zkml.setup(bundle.path, no_dev_ptau=True)
        t_bundle = time.perf_counter() - t0
        stamps = []

        def log(message: str) -> None:
            stamps.append((time.perf_counter(), message))
            print(f"  {time.perf_counter() - t0:7.1f} s  {message}", flush=True)

        t1 = time.perf_counter()
        ev = zkml.attest.evaluate(bundle.path, data, chunk_size=chunk_size, workers=workers,
                                  class_names=[str(c) for c in range(10)], output=work / "digits.attestation.json",
                                  log=log)
        t_eval = time.perf_counter() - t1
        done = [t for t, m in stamps if m.split(" ", 1)[0].endswith(f"/{n // chunk_size}") and "chunks" in m]
        keys_at = next((t for t, m in stamps if m.startswith("making keys")), t1)
        zkml.attest.keygen(work / "owner.key")
        signer = zkml.attest.sign(ev.path, private_key_file=work / "owner.key")["signature"]["signer"]
        (work / "policy.toml").write_text(
            f'signers = ["{signer}"]\nkinds = ["evaluation"]\nmin_accuracy = 0.95\nmin_accuracy_lower_bound = 0.95\n'
            'min_recall = {"3" = 0.9, "8" = 0.9}\nconfidence = 0.95\nmin_samples = 500\nrequire_onchain = false\n')
        t2 = time.perf_counter()
        report = zkml.check(ev.path, work / "policy.toml")
        t_check = time.perf_counter() - t2
        assert report.passed, report.failed()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        chunks = ev.document["proof"]["chunks"]
        lookups = ev.document["circuit"]["verifying_key"].get("protocol")
        # a negative twin, on the real document: one chunk's count moved to another class fails the proof rule
        import copy
        import json

        bad = copy.deepcopy(ev.document)
        fp = bad["claim"]["metric"]["per_class"]["fp"]
        moved = int(np.argmax(fp))
        fp[moved] -= 1
        fp[(moved + 1) % len(fp)] += 1
        (work / "bad.json").write_text(json.dumps(bad))
        rejected = zkml.check(work / "bad.json", work / "policy.toml")
        assert "proof" in [r.rule for r in rejected.failed()]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    m = ev.metric
    pc = m["per_class"]
    load = os.getloadavg()  # the machine is shared: say how busy it was
    keys_s = (done[0] if done else t1) - keys_at
    lb = lower_bound(m["correct"], m["n"], 0.95)
    lines = [f"`models/digits_cnn_test.npz`, all {m['n']} samples, one claim with per-class counts: "
             f"{len(chunks)} chunks of {chunk_size} samples (one chunk circuit; lookups on, protocol `{lookups}`), "
             f"proved on a local Ray with {workers} one-core workers, through the Python API "
             f"(`zkml.attest.evaluate(bundle, data, chunk_size={chunk_size}, workers={workers})`, what "
             f"`zkml attest evaluate --chunk-size {chunk_size} --workers {workers}` runs), then signed and checked "
             "(`zkml.check`: every chunk proof in one batched pairing check, the chunk indices, the Merkle root, the "
             "per-class counts adding up, and the policy's rules).", "",
             "| step | wall time (s) |", "|---|---|",
             f"| compile + setup of the inference bundle | {t_bundle:.1f} |",
             f"| evaluate, total: chunk circuit's keys, Ray start-up, {len(chunks)} chunk proofs, attestation | {t_eval:.1f} |",
             f"| of which: keys of the chunk circuit, Ray start-up, the first chunk proof | {keys_s:.1f} |",
             f"| check (policy with accuracy, its 95% lower bound, recall of two classes) | {t_check:.1f} |",
             f"| **evaluate + check, 540 samples** | **{t_eval + t_check:.1f}** |", "",
             f"Proved: {m['correct']} of {m['n']} right (accuracy {m['correct'] / m['n']:.3f}; exact 95% lower bound "
             f"{lb:.4f}); true positives per class {pc['tp']}, false negatives {pc['fn']}, false positives {pc['fp']}. "
             f"Peak memory of the driver process {peak:.0f} MB (each worker holds the chunk key as well); load average "
             f"{load[0]:.1f} (1 min) / {load[2]:.1f} (15 min) at the end of the run. "
             f"Steady rate: {(len(done) - 1) / (done[-1] - done[0]) * 60:.1f} chunks per minute "
             f"({chunk_size * (len(done) - 1) / (done[-1] - done[0]):.2f} samples per second) over both workers."
             if len(done) > 1 else "",
             "", "`zkml.check`'s report:", "", "| rule | verdict | reason |", "|---|---|---|",
             *[f"| {r.rule} | {'PASS' if r.passed else 'FAIL'} | {r.reason} |" for r in report.rules],
             "", f"The same document with one false positive moved from class {moved} to class {(moved + 1) % 10} fails "
             "the `proof` rule (the chunk proofs' counts do not add up to the claim's)."]
    return "\n".join(lines)


if __name__ == "__main__":
    args = sys.argv[1:]
    which = args.pop(0) if args and args[0] in ("inference", "evaluation", "all") else "all"
    main(which, int(args[0]) if args else 16)
