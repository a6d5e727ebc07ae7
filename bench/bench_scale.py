"""Proofs per minute for a batch of digits-CNN inferences: one process proving in a loop (both
cores), and `prove-batch` on a local Ray with 1 and 2 workers (one core each), in the same run;
plus Ray's per-task overhead. Writes bench/results/scale.md.

Steady-state rates are taken between the first and the last finished proof, so worker start-up
(imports, JIT cache, key transfer) is reported apart.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(n: int = 16) -> None:
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
    lines = ["# Scale-out on Ray: digits-CNN inference proofs (same run, this 2-core machine)", "",
             f"{n} inputs from the test split; every proof is self-checked with py_ecc before it is written.", "",
             "| how | proofs per minute (steady) | first proof after (s) | wall time (s) |", "|---|---|---|---|",
             f"| one process, loop (both cores) | {loop:.1f} | | {n / loop * 60:.1f} |"]
    lines += [f"| prove-batch, {w} worker{'s' if w > 1 else ''} (one core each) | {s:.1f} | {f:.1f} | {t:.1f} |" for w, s, f, t in rows]
    lines += ["", f"2 workers / 1 worker: **{rows[1][1] / rows[0][1]:.2f}x**; 2 workers / loop: **{rows[1][1] / loop:.2f}x**.",
              f"Ray's per-task overhead (round trip of a task carrying one input): {overhead * 1e3:.2f} ms = "
              f"{overhead / per_proof:.1%} of a one-core proof ({per_proof:.2f} s).", "",
              "A cluster of N GPU machines, modelled from these figures (not measured): each worker proves at the rate "
              "above (or the GPU engine's rate once measured), Ray adds the overhead above per task, so N machines "
              "with k workers each give about N x k x the 1-worker rate, minus start-up (the first-proof time) per worker."]
    (ROOT / "bench" / "results" / "scale.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 16)
