"""The transformer examples end to end, zkml beside ezkl in the same run: whole CLI commands
(`zkml compile`, `setup`, `prove`, `verify`; ezkl's steps through bench/peers/ezkl_step.py),
each its own process, timed with its peak RSS under a wall-time limit and a memory cap (killed
when crossed: the table says "did not finish in T s" or "exceeded M GB"), and the circuit's
fidelity against onnxruntime on the 200 held-out inputs of each model. Writes the
"## Transformers" section of bench/results/models.md (bench_models.py keeps it).

    python bench/bench_transformers.py [--models encoder_ts,gpt_dynamo,...] [--ezkl encoder_ts,gpt_ts] [--no-ezkl]

Caps: BENCH_LIMIT_S (600 s per command), BENCH_EZKL_MEM_GB (6 here), BENCH_ZKML_MEM_GB (8).
The decoder is compiled with a committed input (the prompt is private, its Poseidon commitment
public); ezkl gets its default public input, as it has no committed form through this driver.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCH_EZKL_MEM_GB", "6")
os.environ["PYTHONPATH"] = str(ROOT) + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else "")

import bench_cli  # noqa: E402  (the capped, timed process runner and the ezkl steps)

MODELS = ROOT / "models"
RESULTS = ROOT / "bench" / "results"
NAMES = ["encoder_dynamo", "encoder_ts", "gpt_dynamo", "gpt_ts"]
SECTION = "## Transformers"
ZKML = [sys.executable, "-m", "zkml.cli"]


NOTE_MASK = ("ezkl on the decoder: its gen_settings refuses the causal mask's -inf fill (`masked_fill(mask, -inf)`, a "
             "Where on a -inf constant, as both exporters emit it); checked by hand: the same file with -1e4 in place of "
             "-inf passes gen_settings. Not run further here: that is another model file, and the encoder's ezkl setup "
             "at logrows 20 already exceeds the memory cap.")


def files(name: str) -> tuple[Path, Path, Path]:
    base = name.split("_")[0]
    return MODELS / f"{name}.onnx", MODELS / f"{base}_calibration.npz", MODELS / f"{base}_test.npz"


def zkml_side(d: Path, name: str) -> tuple[dict, int | None]:
    import numpy as np

    model, cal, test = files(name)
    bundle, proof, x = d / f"{name}.bundle", d / f"{name}.proof.json", d / f"{name}.input.npz"
    np.savez(x, x=np.load(test)["x"][:1])
    vis = "committed" if name.startswith("gpt") else "public"
    run = bench_cli.timed
    out = {"compile": run([*ZKML, "compile", model, "-c", cal, "-o", bundle, "--input-visibility", vis], d)}
    out["setup"] = run([*ZKML, "setup", bundle, "--no-dev-ptau"], d) if out["compile"].ok else bench_cli.skipped("compile")
    out["prove"] = run([*ZKML, "prove", bundle, "-i", x, "-o", proof], d) if out["setup"].ok else bench_cli.skipped("setup")
    out["verify"] = (run([*ZKML, "verify", proof, "--bundle", bundle], d) if out["prove"].ok
                     else bench_cli.skipped("prove"))
    constraints = None
    if out["compile"].ok:
        import json

        constraints = json.loads((bundle / "manifest.json").read_text()).get("circuit", {}).get("constraints")
    return out, constraints


def fidelity(name: str) -> str:
    """Per output, on the 200 held-out inputs: argmax (top-1) agreement with onnxruntime, and the
    worst and mean |circuit - onnxruntime|."""
    import numpy as np
    import onnxruntime as ort

    from zkml.compiler.compile import compile_model, forward

    model, cal, test = files(name)
    xs = np.load(test)["x"]
    c = compile_model(model, np.load(cal)["x"])
    s = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    feed = s.get_inputs()[0].name
    ref = np.concatenate([s.run(None, {feed: xs[i:i + 1]})[0].reshape(1, -1) for i in range(len(xs))])
    got = np.concatenate([forward(c, xs[i:i + 1])[0].reshape(1, -1) for i in range(len(xs))])
    err = np.abs(got - ref)
    agree = float(np.mean(got.argmax(1) == ref.argmax(1)))
    y = np.load(test).get("y")
    task = f"; float task accuracy {np.mean(ref.argmax(1) == y):.1%}, circuit {np.mean(got.argmax(1) == y):.1%}" if y is not None else ""
    return f"{c.outputs[0][0]}: top-1 {agree:.1%} of {len(xs)}, max {err.max():.4f}, mean {err.mean():.4f}{task}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=",".join(NAMES))
    ap.add_argument("--ezkl", default="encoder_ts,gpt_ts", help="the files ezkl runs on (each can take 30 minutes)")
    ap.add_argument("--no-ezkl", action="store_true")
    args = ap.parse_args()
    try:
        ezkl_version = importlib.metadata.version("ezkl")
    except importlib.metadata.PackageNotFoundError:
        ezkl_version = None
    names = [n for n in args.models.split(",") if n]
    with_ezkl = set() if args.no_ezkl or ezkl_version is None else {n for n in args.ezkl.split(",") if n}
    rows = []
    with tempfile.TemporaryDirectory(prefix="zkml-bench-tfm-") as tmp:
        d = Path(tmp)
        for name in names:
            model, cal, test = files(name)
            print(f"{name}: zkml", file=sys.stderr, flush=True)
            z, constraints = zkml_side(d, name)
            print(f"{name}: fidelity", file=sys.stderr, flush=True)
            fid = fidelity(name)
            rows.append(f"| {name} | zkml | {constraints if constraints is not None else '—'} | "
                        f"{z['compile'].cell()} | {z['setup'].cell()} | {z['prove'].cell()} | {z['verify'].cell()} | {fid} |")
            if name in with_ezkl:
                print(f"{name}: ezkl", file=sys.stderr, flush=True)
                e = bench_cli.ezkl_side(d, name, model, cal, test, 0, 1)
                rows.append(f"| {name} | ezkl | {_logrows(d / f'ezkl-{name}')} | {e['compile'].cell()} | "
                            f"{_srs_setup(e)} | {e['prove'].cell()} | {e['verify'].cell()} | |")
            print(rows[-1], file=sys.stderr, flush=True)
    cpu = platform.processor() or platform.machine()
    section = [
        SECTION, "",
        f"Measured {time.strftime('%Y-%m-%d')} by `python bench/bench_transformers.py` on this machine ({os.cpu_count()} cores, "
        f"{cpu}; ezkl {ezkl_version or 'not installed'}), shared with other jobs. Models from `models/build_transformers.py`: "
        "`encoder_*` a 2-layer encoder classifier (16 tokens x 4 features, width 32, 4 heads, GELU, LayerNorm; sklearn "
        "digits), `gpt_*` a GPT-style decoder (vocabulary 32, 16-token prompt, causal mask, 2 layers; next-token logits "
        "for a committed prompt); `_dynamo` / `_ts`: torch's dynamo / TorchScript exporter. Each cell is one whole "
        "process: wall time and peak RSS. zkml: `compile` (with fidelity on the calibration split), `setup --no-dev-ptau` "
        "(development tau made on the spot), `prove` (witness + two-round Groth16 with lookups), `verify`. ezkl (Halo2/KZG, "
        "bench/peers/ezkl_step.py): compile = gen_settings + calibrate_settings (resources) + compile_circuit; setup "
        "column = gen_srs + setup; prove = gen_witness + prove; its constraints column gives logrows. Caps: "
        f"{bench_cli.LIMIT_S:.0f} s per command, {bench_cli.EZKL_MEM_GB:g} GB for ezkl, {bench_cli.ZKML_MEM_GB:g} GB for zkml. "
        "Fidelity: the circuit's dequantized output against onnxruntime on the 200 held-out inputs.", "",
        "| model | prover | constraints | compile | setup | prove | verify | fidelity (per output, 200 held-out inputs) |",
        "|---|---|---|---|---|---|---|---|", *rows, ""]
    if any("| ezkl |" in r and "significant bit truncation" in r for r in rows):
        section += [NOTE_MASK, ""]
    path = RESULTS / "models.md"
    text = path.read_text() if path.exists() else ""
    head = text.split(SECTION, 1)[0].rstrip() + "\n\n" if text else ""
    path.write_text(head + "\n".join(section))
    print(f"wrote {path}")


def _logrows(w: Path) -> str:
    import json

    try:
        return f"logrows {json.loads((w / 'settings.json').read_text())['run_args']['logrows']}"
    except (OSError, ValueError, KeyError):
        return "—"


def _srs_setup(e: dict) -> str:
    srs, setup = e["srs"], e["setup"]
    if srs.ok and setup.ok:
        return f"{srs.wall + setup.wall:.2f} s, {max(srs.mb, setup.mb):.0f} MB"
    return srs.note if not srs.ok else setup.note


if __name__ == "__main__":
    main()
