"""Fixed against committed weights, and ezkl's private and hashed parameters, same run.

    python bench/bench_private_weights.py [--repeat 3] [--no-ezkl]   -> bench/results/private-weights.md

zkml, per model and weights mode: constraints, prove in process (witness + proof, best of
--repeat after a warm-up, fixed and committed interleaved so machine load hits both alike),
`zkml prove` as a whole command (wall seconds and peak RSS from /usr/bin/time). ezkl (Halo2/KZG
through bench/peers/ezkl_step.py, each step its own process, capped at 6 GB of address space
and 600 s): param_visibility private and hashed, prove = gen_witness + prove, as a command.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PY = sys.executable
EZKL_STEP = ROOT / "bench" / "peers" / "ezkl_step.py"
MODELS = [("digits_mlp", "digits_calibration.npz", "digits_test.npz"),
          ("digits_cnn", "digits_cnn_calibration.npz", "digits_cnn_test.npz")]
EZKL_MEMORY = 6 << 30
EZKL_SECONDS = 600


def _timed(cmd, limit_bytes=None, timeout=None, env=None):
    """(ok, wall seconds, peak RSS MB, stderr tail) of one command."""
    def cap():
        if limit_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
    t = time.perf_counter()
    try:
        r = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, text=True, timeout=timeout,
                           preexec_fn=cap, env=env)
    except subprocess.TimeoutExpired:
        return False, time.perf_counter() - t, None, f"timed out after {timeout} s"
    wall = time.perf_counter() - t
    lines = r.stderr.strip().splitlines()
    peak = int(lines[-1]) / 1024 if lines and lines[-1].isdigit() else None
    return r.returncode == 0, wall, peak, "\n".join(lines[-3:-1])


def zkml_rows(repeat: int, work: Path) -> list[dict]:
    from zkml.compiler.compile import CompileConfig, compile_model, witness_rounds
    from zkml.crypto.bn254 import ints_to_limbs
    from zkml.groth16 import setup
    from zkml.groth16.prover import prove

    rows = []
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for model, cal_name, test_name in MODELS:
        cal = np.load(ROOT / "models" / cal_name)["x"]
        xs = np.load(ROOT / "models" / test_name)["x"]
        np.save(work / f"{model}_x.npy", xs[0])
        built = {}
        for mode in ("fixed", "committed"):
            c = compile_model(ROOT / "models" / f"{model}.onnx", cal, CompileConfig(weights=mode))
            pk = setup.setup_from_secrets(c.r1cs, setup.DevTau.random())
            built[mode] = (c, pk)
        best = {m: float("inf") for m in built}
        for i in range(repeat + 1):  # the first round warms up
            for mode, (c, pk) in built.items():
                t = time.perf_counter()
                w, complete, _ = witness_rounds(c, xs[i % len(xs)])
                prove(pk, ints_to_limbs(w), complete=complete if pk.has_lookups else None, check=False)
                if i:
                    best[mode] = min(best[mode], time.perf_counter() - t)
        for mode, (c, _) in built.items():
            bundle = work / f"{model}_{mode}"
            z = [PY, "-m", "zkml.cli"]
            subprocess.run(z + ["compile", str(ROOT / "models" / f"{model}.onnx"), "-c", str(ROOT / "models" / cal_name),
                                "-o", str(bundle), "--weights", mode, "--force"], check=True, env=env, capture_output=True)
            subprocess.run(z + ["setup", str(bundle)], check=True, env=env, capture_output=True)
            ok, wall, peak, tail = _timed(z + ["prove", str(bundle), "-i", str(work / f"{model}_x.npy"),
                                               "-o", str(work / f"{model}_{mode}.proof.json")], env=env)
            assert ok, tail
            rows.append(dict(model=model, system="zkml", mode=f"weights {mode}", constraints=c.r1cs.n_constraints,
                             prove_in_process=best[mode], prove_command=wall, peak_mb=peak))
            print(json.dumps(rows[-1]), flush=True)
    return rows


def ezkl_rows(work: Path) -> list[dict]:
    rows = []
    for model, cal_name, test_name in MODELS:
        for params in ("private", "hashed"):
            d = work / f"ezkl_{model}_{params}"
            subprocess.run([PY, str(EZKL_STEP), "prepare", str(d), str(ROOT / "models" / f"{model}.onnx"),
                            str(ROOT / "models" / cal_name), str(ROOT / "models" / test_name)], check=True)
            row = dict(model=model, system="ezkl", mode=f"params {params}", constraints=None,
                       prove_in_process=None, prove_command=None, peak_mb=None, note="")
            for step in ("compile", "srs", "setup", "prove"):
                extra = [params] if step == "compile" else []
                ok, wall, peak, tail = _timed([PY, str(EZKL_STEP), step, str(d)] + extra, EZKL_MEMORY, EZKL_SECONDS)
                if not ok:
                    row["note"] = f"{step} failed under 6 GB / 600 s: {tail.strip()[:120] or 'killed'}"
                    break
                if step == "prove":
                    row["prove_command"], row["peak_mb"] = wall, peak
            if (d / "settings.json").exists():
                row["constraints"] = f"2^{json.loads((d / 'settings.json').read_text())['run_args']['logrows']} rows"
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def report(rows: list[dict]) -> str:
    def f(v, fmt):
        return "—" if v is None else format(v, fmt) if not isinstance(v, str) else v
    out = ["# Private weights: fixed against committed, and ezkl's private and hashed parameters", "",
           f"Measured {time.strftime('%Y-%m-%d')} on this shared 2-core machine by `python bench/bench_private_weights.py`, "
           "one run. zkml: lookups on (the default), development keys; prove in process = witness + proof, best of 3 "
           "after a warm-up with fixed and committed interleaved; the command is `zkml prove` (wall, peak RSS). "
           "ezkl 23 (Halo2/KZG): each step its own process (bench/peers/ezkl_step.py), capped at 6 GB and 600 s; "
           "prove = gen_witness + prove as a command (its in-process time is most of that).", "",
           "| model | system | weights | constraints | prove in process (s) | prove command (s) | peak MB | note |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['model']} | {r['system']} | {r['mode']} | {f(r['constraints'], ',')} | "
                   f"{f(r['prove_in_process'], '.3f')} | {f(r['prove_command'], '.2f')} | {f(r['peak_mb'], '.0f')} | "
                   f"{r.get('note', '')} |")
    by = {(r["model"], r["mode"]): r for r in rows}
    out += ["", "## The issue's bar (digits CNN)", ""]
    fixed, comm = by.get(("digits_cnn", "weights fixed")), by.get(("digits_cnn", "weights committed"))
    hashed = by.get(("digits_cnn", "params hashed"))
    if fixed and comm:
        out.append(f"- committed / fixed, prove in process: {comm['prove_in_process'] / fixed['prove_in_process']:.2f}x "
                   "(bar: <= 3x)")
    if comm and hashed and hashed["prove_command"]:
        out.append(f"- ezkl hashed / zkml committed, prove command: {hashed['prove_command'] / comm['prove_command']:.1f}x "
                   "(bar: >= 10x)")
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-ezkl", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rows = zkml_rows(args.repeat, work)
        if not args.no_ezkl:
            rows += ezkl_rows(work)
    path = ROOT / "bench" / "results" / "private-weights.md"
    path.write_text(report(rows))
    print(path.read_text())


if __name__ == "__main__":
    main()
