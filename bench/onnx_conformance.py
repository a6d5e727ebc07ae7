"""Conformance of zkml's fixed-point circuits with onnx's own stored cases.

Every case in the installed onnx wheel's ``backend/test/data/pytorch-converted`` and
``pytorch-operator`` with one input and a stored output is compiled (calibrated on its stored
input), the circuit's output is computed by ``zkml.compiler.compile.forward`` (the values a
proof would claim, no proving) for every stored sample, and compared with the stored output.
Each case ends as

  pass     every output value within the tolerance below;
  refused  the compiler refused it with a ZkmlError (the reason is its message);
  wrong    it compiled but the output differs (or has another size): the worst case there is;
  crash    any other exception.

Tolerance, from the output's scale: the circuit's output is an integer at 2^-f (f its fraction
bits); each rounding on the way costs at most half a step of its own grid, and activations are
calibrated to 16 significant bits (never fewer than ``--frac-bits`` = 8 fraction bits), so

  |circuit - stored| <= 16 * 2^-f + 2^-8 * max(1, max |stored|) + (approximation bounds)

(16 output steps, plus the coarsest activation grid, 2^-8, relative to the output's magnitude,
plus the interpolation error the manifest records for each approximated op, e.g. the
piecewise-linear Tanh: a bound the claim publishes, not a slack chosen here).

A handful of small passing cases also go through the CLI (compile, setup, prove, verify) and
the claim's dequantized output is compared with the stored output the same way.

The `light/` model-zoo files (no stored input: a fixed random one calibrates) are compiled in a
child process under a memory cap and a time limit: each must compile, or be refused naming what
stops it, within seconds; the size estimate (zkml.compiler.estimate) is shown for each.

    .venv/bin/python bench/onnx_conformance.py [--only NAME ...] [--no-cli] [--no-light] [--out FILE]
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
import traceback
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from onnx_cases_cli import DATA, one_input_cases, stored  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "onnx-conformance.md"
CLI_CASES = ["test_Linear", "test_Conv2d", "test_Conv1d_stride", "test_Conv3d", "test_MaxPool1d", "test_operator_pad",
             "test_Embedding", "test_GLU", "test_PReLU_2d"]
LIGHT_TIME_LIMIT = 120.0  # seconds per light model, in a child process
LIGHT_MEMORY_LIMIT = 8 << 30  # address-space cap of that child


def tolerance(frac: int, want: np.ndarray, approximations: dict | None = None) -> float:
    """The pass threshold on max |circuit - stored| (module docstring)."""
    m = float(np.max(np.abs(want))) if want.size else 0.0
    approx = sum(float(a.get("error_bound", a.get("interpolation_error", 0.0))) for a in (approximations or {}).values())
    return 16.0 * 2.0 ** -frac + 2.0 ** -8 * max(1.0, m) + approx


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:400]


def run_case(case: Path) -> dict:
    from zkml.compiler.compile import compile_model, forward
    from zkml.errors import ZkmlError

    row = {"case": f"{case.parent.name}/{case.name}"}
    t0 = time.perf_counter()
    try:
        x = stored(case, "input_0.pb").astype(np.float64)
        want = stored(case, "output_0.pb").astype(np.float64)
        c = compile_model(case / "model.onnx", x)
        xs = x.reshape((-1,) + tuple(c.input_shape))
        got = np.concatenate([forward(c, s)[0].reshape(-1) for s in xs])
        frac = c.outputs[0][2]
        row.update(constraints=c.r1cs.n_constraints, frac=frac)
        if got.size != want.size:
            row.update(kind="wrong", reason=f"circuit gives {got.size} values, stored output has shape {want.shape}")
        else:
            err = float(np.max(np.abs(got - want.reshape(-1)))) if got.size else 0.0
            tol = tolerance(frac, want, c.output_transforms.get("_approximations"))
            row.update(max_abs_error=err, tolerance=tol)
            row["kind"] = "pass" if err <= tol else "wrong"
            if row["kind"] == "wrong":
                row["reason"] = f"max |error| {err:.4g} > tolerance {tol:.3g}"
    except ZkmlError as e:
        row.update(kind="refused", reason=_first_line(e))
    except Exception as e:  # a crash is a finding: record it, go on
        tb = traceback.extract_tb(e.__traceback__)[-1]
        row.update(kind="crash", reason=f"{type(e).__name__}: {_first_line(e)} ({Path(tb.filename).name}:{tb.lineno})")
    row["seconds"] = round(time.perf_counter() - t0, 2)
    return row


def run_cli(case: Path, work: Path) -> dict:
    """compile, setup, prove, verify through the `zkml` command; the claim's output vs stored."""
    zkml = str(Path(sys.executable).parent / "zkml")
    x = stored(case, "input_0.pb").astype(np.float64)
    want = stored(case, "output_0.pb").astype(np.float64)
    np.savez(work / "cal.npz", x=x)
    np.savez(work / "input.npz", x=x[:1] if x.ndim > 1 and x.shape[0] > 1 else x)
    bundle, proof = work / "bundle", work / "proof.json"
    env = dict(os.environ, COLUMNS="400", NO_COLOR="1")
    row = {"case": f"{case.parent.name}/{case.name}"}
    t0 = time.perf_counter()
    for step in (["compile", str(case / "model.onnx"), "-c", str(work / "cal.npz"), "-o", str(bundle)],
                 ["setup", str(bundle)], ["prove", str(bundle), "-i", str(work / "input.npz"), "-o", str(proof)],
                 ["verify", str(proof), "--bundle", str(bundle)]):
        p = subprocess.run([zkml] + step, capture_output=True, text=True, env=env, timeout=600)
        if p.returncode != 0:
            row.update(kind="fail", reason=f"zkml {step[0]} exit {p.returncode}: "
                                           f"{(p.stderr.strip().splitlines() or [''])[-1][:300]}")
            return row
    claim = json.loads(proof.read_text())["claim"]
    got = np.asarray(claim["outputs"][0]["values"], np.float64).ravel()
    first = want.reshape(x.shape[0], -1)[0] if x.ndim > 1 and x.shape[0] > 1 and want.shape[0] == x.shape[0] else want
    manifest = json.loads((bundle / "manifest.json").read_text())
    frac = manifest["outputs"][0]["frac"]
    err = float(np.max(np.abs(got - first.ravel()))) if got.size == first.size else float("inf")
    tol = tolerance(frac, first, manifest.get("approximations"))
    row.update(kind="pass" if err <= tol else "wrong", max_abs_error=err, tolerance=tol,
               seconds=round(time.perf_counter() - t0, 1))
    return row


LIGHT_CHILD = r"""
import json, sys, time
import numpy as np
t0 = time.perf_counter()
out = {}
try:
    from zkml.compiler.compile import compile_model, load_for_compile
    from zkml.errors import ZkmlError
    path = sys.argv[1]
    try:
        from zkml.compiler.estimate import estimate_graph
        from zkml.onnx_import.load import load_model
        est = estimate_graph(load_model(path, None))
        out["estimate"] = est.summary()
    except Exception as e:
        out["estimate"] = f"(no estimate: {type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''})"
    import onnx
    m = onnx.load(path, load_external_data=False)
    inits = {t.name for t in m.graph.initializer}
    vi = next(i for i in m.graph.input if i.name not in inits)
    shape = [d.dim_value or 1 for d in vi.type.tensor_type.shape.dim]
    x = np.random.default_rng(0).uniform(-1, 1, [2] + shape[1:] if len(shape) > 1 else shape)
    try:
        c = compile_model(path, x)
        out.update(kind="compiled", reason=f"{c.r1cs.n_constraints:,} constraints")
    except ZkmlError as e:
        out.update(kind="refused", reason=str(e).strip().splitlines()[0][:500])
except MemoryError:
    out.update(kind="crash", reason="MemoryError (the memory cap was reached)")
except Exception as e:
    out.update(kind="crash", reason=f"{type(e).__name__}: {str(e).strip().splitlines()[0][:300] if str(e).strip() else ''}")
out["seconds"] = round(time.perf_counter() - t0, 1)
print("RESULT " + json.dumps(out))
"""


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIGHT_MEMORY_LIMIT, LIGHT_MEMORY_LIMIT))


def run_light(path: Path) -> dict:
    row = {"case": f"light/{path.name}"}
    t0 = time.perf_counter()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    try:
        p = subprocess.run([sys.executable, "-c", LIGHT_CHILD, str(path)], capture_output=True, text=True,
                           timeout=LIGHT_TIME_LIMIT, preexec_fn=_cap_memory, env=env)
        lines = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
        if lines:
            row.update(json.loads(lines[-1][7:]))
        else:
            tail = (p.stderr.strip().splitlines() or [""])[-1]
            row.update(kind="crash", reason=f"exit {p.returncode}: {tail[:300]}")
    except subprocess.TimeoutExpired:
        row.update(kind="timeout", reason=f"still running after {LIGHT_TIME_LIMIT:.0f} s")
    row.setdefault("seconds", round(time.perf_counter() - t0, 1))
    return row


def write_table(rows: list[dict], cli_rows: list[dict], light_rows: list[dict], out: Path) -> str:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["kind"]] = counts.get(r["kind"], 0) + 1
    summary = ", ".join(f"{k} {counts.get(k, 0)}" for k in ("pass", "refused", "wrong", "crash"))
    lines = [
        "# ONNX conformance: onnx's stored cases through zkml's circuits",
        "",
        f"Written by `bench/onnx_conformance.py` ({time.strftime('%Y-%m-%d')}, onnx {_onnx_version()}): every case in "
        "the onnx wheel's `pytorch-converted` and `pytorch-operator` with one input and a stored output, compiled "
        "with its stored input as calibration, its circuit output (`compiler.compile.forward`, the values a proof "
        "claims) compared with the stored output. Pass: max |circuit - stored| <= 16 * 2^-f + 2^-8 * max(1, max "
        "|stored|) + the approximation bounds the manifest records, f the output's fraction bits (16 steps of "
        "the output grid, the coarsest activation grid relative to the output's magnitude, and the published "
        "interpolation error of piecewise-linear Sigmoid/Tanh).",
        "",
        f"**{len(rows)} cases: {summary}.**",
        "",
        "| case | result | constraints | max abs error | tolerance | reason |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        err = f"{r['max_abs_error']:.3g}" if "max_abs_error" in r else ""
        tol = f"{r['tolerance']:.3g}" if "tolerance" in r else ""
        cons = f"{r['constraints']:,}" if "constraints" in r else ""
        reason = r.get("reason", "").replace("|", "\\|").replace(str(DATA) + "/", "")
        lines.append(f"| {r['case']} | {r['kind']} | {cons} | {err} | {tol} | {reason} |")
    if cli_rows:
        lines += ["", "## Through the CLI: compile, setup, prove, verify; the claim's output against the stored one",
                  "", "| case | result | max abs error | tolerance | seconds | reason |", "|---|---|---|---|---|---|"]
        for r in cli_rows:
            err = f"{r['max_abs_error']:.3g}" if "max_abs_error" in r else ""
            tol = f"{r['tolerance']:.3g}" if "tolerance" in r else ""
            lines.append(f"| {r['case']} | {r['kind']} | {err} | {tol} | {r.get('seconds', '')} | "
                         f"{r.get('reason', '').replace('|', chr(92) + '|')} |")
    if light_rows:
        lines += ["", f"## The `light/` model-zoo files (child process, {LIGHT_MEMORY_LIMIT >> 30} GiB address-space "
                  f"cap, {LIGHT_TIME_LIMIT:.0f} s limit; random calibration input)", "",
                  "| model | result | seconds | size estimate | reason |", "|---|---|---|---|---|"]
        for r in light_rows:
            reason = r.get("reason", "").replace("|", "\\|").replace(str(DATA) + "/", "")
            lines.append(f"| {r['case']} | {r['kind']} | {r.get('seconds', '')} | {r.get('estimate', '')} | {reason} |")
    text = "\n".join(lines) + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return summary


def _onnx_version() -> str:
    import onnx

    return onnx.__version__


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*", help="case names to run")
    ap.add_argument("--no-cli", action="store_true", help="skip the prove/verify runs through the CLI")
    ap.add_argument("--no-light", action="store_true", help="skip the light/ model-zoo files")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = ap.parse_args()
    import onnxruntime as ort

    ort.set_default_logger_severity(3)
    _cap_memory()  # a case that outgrows the cap fails with MemoryError (a crash row), not the machine
    cases = [c for c in one_input_cases() if not args.only or c.name in args.only]
    rows = []
    for case in cases:
        r = run_case(case)
        rows.append(r)
        print(f"{r['kind']:8} {r['seconds']:6.2f}s {r['case']}: {r.get('reason', '')[:160]}", flush=True)
    cli_rows = []
    if not args.no_cli:
        for name in CLI_CASES:
            case = next((c for c in cases if c.name == name), None)
            if case is None:
                continue
            with tempfile.TemporaryDirectory() as tmp:
                r = run_cli(case, Path(tmp))
            cli_rows.append(r)
            print(f"cli {r['kind']:6} {r['case']}: {r.get('reason', r.get('max_abs_error'))}", flush=True)
    light_rows = []
    if not args.no_light:
        for path in sorted((DATA / "light").glob("*.onnx")):
            r = run_light(path)
            light_rows.append(r)
            print(f"light {r['kind']:8} {r.get('seconds')}s {r['case']}: {r.get('estimate', '')} {r.get('reason', '')[:200]}",
                  flush=True)
    summary = write_table(rows, cli_rows, light_rows, args.out)
    if args.json:
        args.json.write_text(json.dumps({"cases": rows, "cli": cli_rows, "light": light_rows}, indent=1))
    print(f"{len(rows)} cases: {summary}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
