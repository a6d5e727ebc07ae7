"""Run `zkml compile` through the CLI on every one-input case stored in the onnx wheel
(pytorch-converted and pytorch-operator) and classify how each ends: compiled, refused in one
line (exit 1/2, no traceback), traceback, or killed by a signal.

    .venv/bin/python bench/onnx_cases_cli.py [--only NAME ...] [--timeout S] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

DATA = Path(onnx.__file__).parent / "backend" / "test" / "data"
SUITES = ("pytorch-converted", "pytorch-operator")


def one_input_cases() -> list[Path]:
    """Case folders with a model.onnx and exactly one stored input (input_0.pb)."""
    found = []
    for suite in SUITES:
        for case in sorted((DATA / suite).iterdir()):
            ds = case / "test_data_set_0"
            if (case / "model.onnx").exists() and (ds / "input_0.pb").exists() and not (ds / "input_1.pb").exists():
                found.append(case)
    return found


def stored(case: Path, name: str) -> np.ndarray:
    t = onnx.TensorProto()
    t.ParseFromString((case / "test_data_set_0" / name).read_bytes())
    return numpy_helper.to_array(t)


def write_calibration(case: Path, path: Path) -> None:
    np.savez(path, x=stored(case, "input_0.pb").astype(np.float64))


def classify(rc: int, stderr: str) -> str:
    if rc < 0 or rc >= 128:
        return "signal"
    if "Traceback" in stderr:
        return "traceback"
    if rc == 0:
        return "compiled"
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    return "refused" if rc in (1, 2) and len(errors) == 1 else "unclear"


def run_case(case: Path, zkml: str, work: Path, timeout: float) -> dict:
    cal = work / f"{case.name}.npz"
    write_calibration(case, cal)
    out = work / case.name
    env = dict(os.environ, COLUMNS="400", NO_COLOR="1")
    try:
        p = subprocess.run([zkml, "compile", str(case / "model.onnx"), "-c", str(cal), "-o", str(out)],
                           capture_output=True, text=True, timeout=timeout, env=env)
        rc, stderr = p.returncode, p.stderr
    except subprocess.TimeoutExpired:
        rc, stderr = -9, "timeout"
    kind = classify(rc, stderr)
    lines = [line for line in stderr.splitlines() if line.strip()]
    tail = lines[-1] if lines else ""
    return {"case": f"{case.parent.name}/{case.name}", "rc": rc, "kind": kind, "last_line": tail[:300]}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*", help="case names to run")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--json", type=Path, help="write the per-case results here")
    args = ap.parse_args()
    zkml = str(Path(sys.executable).parent / "zkml")
    cases = [c for c in one_input_cases() if not args.only or c.name in args.only]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            r = run_case(case, zkml, Path(tmp), args.timeout)
            results.append(r)
            print(f"{r['kind']:9} rc={r['rc']:<3} {r['case']}: {r['last_line']}", flush=True)
    counts: dict[str, int] = {}
    for r in results:
        counts[r["kind"]] = counts.get(r["kind"], 0) + 1
    print(f"{len(results)} cases: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    if args.json:
        args.json.write_text(json.dumps({"counts": counts, "cases": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
