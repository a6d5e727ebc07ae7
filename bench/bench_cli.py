"""Whole commands, as a user times them: wall time and peak memory of `zkml compile`, `setup`,
`prove` and `verify` on the example models, and `zkml groth16 prove`/`verify` against
`snarkjs groth16 prove`/`verify` on the same circom circuits, keys and witnesses in the same run.
ezkl is measured where its optional extra is installed and reported as absent otherwise.
Writes bench/results/cli.md.

    python bench/bench_cli.py [--runs N] [--logs 12,16]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_groth16 import make_circuit  # noqa: E402  (the same circom circuits as the Groth16 tables)

ZKML = ROOT / ".venv" / "bin" / "zkml"
SNARKJS = ROOT / "node_modules" / ".bin" / "snarkjs"
RESULTS = ROOT / "bench" / "results"
MODELS = [("breast_cancer", "breast_cancer_calibration.npz", "breast_cancer_test.npz"),
          ("digits_mlp", "digits_calibration.npz", "digits_test.npz"),
          ("digits_cnn", "digits_cnn_calibration.npz", "digits_cnn_test.npz")]


def timed(argv, cwd: Path) -> tuple[float, float]:
    """(wall seconds, peak MB of the process) for one run; a failing command stops the benchmark."""
    t0 = time.perf_counter()
    p = subprocess.Popen([str(a) for a in argv], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} failed: {err[-800:]}")
    return wall, usage.ru_maxrss / 1024


def median_of(argv, cwd: Path, runs: int) -> tuple[float, float]:
    results = [timed(argv, cwd) for _ in range(runs)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results)


def bench_models(d: Path, runs: int) -> list[str]:
    import numpy as np

    rows = []
    for name, cal, test in MODELS:
        bundle = d / name
        x = np.load(ROOT / "models" / test)["x"][0]
        (d / f"{name}.json").write_text(json.dumps(x.tolist()))
        c = timed([ZKML, "compile", ROOT / "models" / f"{name}.onnx", "-c", ROOT / "models" / cal, "-o", bundle], d)
        s = timed([ZKML, "setup", bundle], d)
        timed([ZKML, "prove", bundle, "-i", f"{name}.json", "-o", f"{name}.proof.json"], d)  # warm caches
        p = median_of([ZKML, "prove", bundle, "-i", f"{name}.json", "-o", f"{name}.proof.json"], d, runs)
        v = median_of([ZKML, "verify", f"{name}.proof.json", "--bundle", bundle], d, runs)
        cells = " | ".join(f"{t:.2f} s, {mb:.0f} MB" for t, mb in (c, s, p, v))
        rows.append(f"| {name} | {cells} |")
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


def bench_groth16(d: Path, logs: list[int], runs: int) -> list[str]:
    rows = []
    for log_n in logs:
        r1cs, wtns = make_circuit(d, "chain", log_n)
        zkey, vk = r1cs.with_suffix(".zkey"), r1cs.parent / "vk.json"
        timed([ZKML, "groth16", "setup", r1cs, zkey, "--dev"], d)
        timed([ZKML, "groth16", "export-vk", zkey, vk], d)
        ours = median_of([ZKML, "groth16", "prove", zkey, wtns, "p.json", "pub.json"], d, runs)
        theirs = median_of([SNARKJS, "groth16", "prove", zkey, wtns, "sp.json", "spub.json"], d, runs)
        ours_v = median_of([ZKML, "groth16", "verify", vk, "pub.json", "p.json"], d, runs)
        theirs_v = median_of([SNARKJS, "groth16", "verify", vk, "spub.json", "sp.json"], d, runs)
        # each verifier accepts the other's proof: a fast wrong prover is no result
        timed([ZKML, "groth16", "verify", vk, "spub.json", "sp.json"], d)
        timed([SNARKJS, "groth16", "verify", vk, "pub.json", "p.json"], d)
        rows.append(f"| 2^{log_n} | {ours[0]:.2f} s, {ours[1]:.0f} MB | {theirs[0]:.2f} s, {theirs[1]:.0f} MB | "
                    f"{theirs[0] / ours[0]:.1f}x | {ours_v[0]:.2f} s | {theirs_v[0]:.2f} s | {theirs_v[0] / ours_v[0]:.1f}x |")
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--logs", default="12,16")
    args = ap.parse_args()
    logs = [int(v) for v in args.logs.split(",")]
    with tempfile.TemporaryDirectory(prefix="zkml-cli-bench-") as tmp:
        d = Path(tmp)
        model_rows = bench_models(d, args.runs)
        g16_rows = bench_groth16(d, logs, args.runs)
    ezkl = "installed" if importlib.util.find_spec("ezkl") else "not installed here (`pip install -e '.[halo2]'`)"
    text = "\n".join([
        "# Whole commands",
        "",
        f"Written by `bench/bench_cli.py` ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, {platform.machine()}): "
        f"each figure is a whole process (start-up, imports, file reading, the prover's self-check) timed from "
        f"outside; prove and verify are the median of {args.runs} runs after a warm-up, compile and setup one run; "
        "memory is the process's peak RSS. Kernel caches warm.",
        "",
        "## Models (`zkml compile`, `setup`, `prove`, `verify`)",
        "",
        "| model | compile | setup | prove | verify |",
        "|---|---|---|---|---|",
        *model_rows,
        "",
        f"ezkl: {ezkl}; its rows are missing from this run, so no ratio against it is claimed here "
        "(bench/results/models.md has ezkl's in-process figures from an earlier run).",
        "",
        "## Groth16 on circom circuits, against snarkjs in the same run",
        "",
        "| constraints | zkml groth16 prove | snarkjs groth16 prove | speed-up | zkml groth16 verify | "
        "snarkjs groth16 verify | speed-up |",
        "|---|---|---|---|---|---|---|",
        *g16_rows,
        "",
    ])
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cli.md").write_text(text)
    print(f"wrote {RESULTS / 'cli.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
