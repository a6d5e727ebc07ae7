"""Lookups on and off, same run: constraints, proving-key size, setup, prove, verify and gas for
the digits MLP, the digits CNN and DeepProve's CIFAR CNN shape (models/cifar_cnn.onnx), each
compiled with `--lookups on` (two-round Groth16, LogUp range checks) and `--lookups off` (bit
decompositions, plain Groth16). Writes bench/results/lookups.md.

    python bench/bench_lookups.py [--models digits_mlp,digits_cnn,cifar_cnn] [--runs 3]

Whole commands (`zkml compile/setup/prove/verify`, wall time and peak memory, each under the
limits of bench_cli.py) beside the in-process figures (the Groth16 prove of one witness, the
engine's verify). Gas is the gasUsed of a verifyProof transaction on the embedded chain, from
`zkml verify --onchain --json`, with `--public-signals hash` (one public signal).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_cli import ZKML, measured, timed  # noqa: E402

MODELS = {"digits_mlp": ("digits_calibration.npz", "digits_test.npz"),
          "digits_cnn": ("digits_cnn_calibration.npz", "digits_cnn_test.npz"),
          "cifar_cnn": ("cifar_cnn_calibration.npz", None)}
RESULTS = ROOT / "bench" / "results"


def _input(d: Path, name: str) -> Path:
    import numpy as np

    cal, test = MODELS[name]
    src = np.load(ROOT / "models" / (test or cal))
    x = np.asarray(src["x"][0], np.float64)
    path = d / f"{name}_input.json"
    path.write_text(json.dumps({"input": x.tolist()}))
    return path


def in_process(bundle: Path, inp: Path, runs: int) -> dict:
    """Prove and verify inside one process, after a warm-up: what the engine itself takes."""
    import numpy as np

    from zkml.bundle import store
    from zkml.compiler.compile import witness_rounds
    from zkml.crypto.bn254 import ints_to_limbs
    from zkml.formats.zkey import read_zkey
    from zkml.groth16.fast_verify import prepare_vk, verify
    from zkml.groth16.prover import prove

    compiled = store.load_compiled(bundle)
    pk = read_zkey(bundle / store.ZKEY_FILE)
    x = np.asarray(json.loads(inp.read_text())["input"], np.float64).reshape(compiled.input_shape)
    w1, complete, _ = witness_rounds(compiled, x)
    limbs = ints_to_limbs(w1)
    kw = {"complete": complete} if pk.has_lookups else {}
    prove(pk, limbs, check=False, **kw)  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        proof, public = prove(pk, limbs, check=False, **kw)
        times.append(time.perf_counter() - t)
    pvk = prepare_vk(pk.verifying_key())
    vt = []
    for _ in range(runs):
        t = time.perf_counter()
        ok = verify(pvk, public, proof)
        vt.append(time.perf_counter() - t)
    assert ok, "the benchmark's proof does not verify"
    t = time.perf_counter()
    witness_rounds(compiled, x)
    wt = time.perf_counter() - t
    return {"prove_s": statistics.median(times), "verify_ms": 1000 * statistics.median(vt), "witness_s": wt}


def bench_model(d: Path, name: str, lookups: str, runs: int) -> dict:
    cal, _ = MODELS[name]
    model, calib = ROOT / "models" / f"{name}.onnx", ROOT / "models" / cal
    bundle = d / f"{name}-{lookups}"
    inp = _input(d, name)
    row = {"model": name, "lookups": lookups}
    row["compile"] = timed([str(ZKML), "compile", str(model), "-c", str(calib), "-o", str(bundle), "--force",
                            "--lookups", lookups, "--public-signals", "hash"], ROOT)
    if not row["compile"].ok:
        return row
    m = json.loads((bundle / "manifest.json").read_text())
    row["constraints"] = m["circuit"]["constraints"]
    row["wires"] = m["circuit"]["wires"]
    row["setup"] = timed([str(ZKML), "setup", str(bundle)], ROOT)
    if not row["setup"].ok:
        return row
    row["zkey_mb"] = (bundle / "circuit.zkey").stat().st_size / 2**20
    proof = d / f"{name}-{lookups}.proof.json"
    row["prove"] = measured([str(ZKML), "prove", str(bundle), "-i", str(inp), "-o", str(proof)], ROOT, runs)
    row["verify"] = measured([str(ZKML), "verify", str(proof), "--bundle", str(bundle)], ROOT, runs)
    row.update(in_process(bundle, inp, runs))
    import subprocess

    out = subprocess.run([str(ZKML), "verify", str(proof), "--bundle", str(bundle), "--onchain", "--json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    try:
        row["gas"] = json.loads(out.stdout)["onchain"]["gas_used"]
    except (ValueError, KeyError, TypeError):
        row["gas"] = None
    doc = json.loads(proof.read_text())
    row["proof_bytes"] = 256 + (64 if "pi_d" in doc["proof"] else 0)  # A, C (, D): 64 B each; B: 128 B
    return row


def _fmt(v, spec: str = ",") -> str:
    if v is None:
        return "n/a"
    if hasattr(v, "cell"):
        return v.cell()
    return format(v, spec)


def table(rows: list[dict]) -> list[str]:
    out = ["| model | lookups | constraints | wires | proving key | compile | setup | prove (command) | "
           "prove (in process) | witness | verify (command) | verify (in process) | verifyProof gas | proof |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append("| " + " | ".join([
            r["model"], r["lookups"], _fmt(r.get("constraints")), _fmt(r.get("wires")),
            f"{r['zkey_mb']:.1f} MB" if "zkey_mb" in r else "n/a",
            _fmt(r.get("compile")), _fmt(r.get("setup")), _fmt(r.get("prove")),
            f"{r['prove_s']:.2f} s" if "prove_s" in r else "n/a",
            f"{r['witness_s']:.2f} s" if "witness_s" in r else "n/a",
            _fmt(r.get("verify")),
            f"{r['verify_ms']:.1f} ms" if "verify_ms" in r else "n/a",
            _fmt(r.get("gas")), f"{r['proof_bytes']} B" if r.get("proof_bytes") else "n/a"]) + " |")
    return out


def ratios(rows: list[dict]) -> list[str]:
    out = ["| model | constraints off/on | proving key off/on | in-process prove off/on | gas on - off |",
           "|---|---|---|---|---|"]
    by = {(r["model"], r["lookups"]): r for r in rows}
    for name in dict.fromkeys(r["model"] for r in rows):
        off, on = by.get((name, "off")), by.get((name, "on"))
        if not off or not on or "prove_s" not in off or "prove_s" not in on:
            continue
        gas = f"{on['gas'] - off['gas']:+,}" if on.get("gas") and off.get("gas") else "n/a"
        out.append(f"| {name} | {off['constraints'] / on['constraints']:.2f}x | {off['zkey_mb'] / on['zkey_mb']:.2f}x | "
                   f"{off['prove_s'] / on['prove_s']:.2f}x | {gas} |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            for lookups in ("off", "on"):
                print(f"{name}, lookups {lookups}...", flush=True)
                rows.append(bench_model(Path(tmp), name, lookups, args.runs))
    import platform

    lines = ["# Lookups on and off: constraints, keys, prove, verify, gas", "",
             f"Measured {time.strftime('%Y-%m-%d')} by `python bench/bench_lookups.py` on {platform.machine()} "
             f"({__import__('os').cpu_count()} cores), same run for every row. `on`: two-round Groth16 with LogUp "
             "range checks (DESIGN \"Lookups\"); `off`: bit decompositions, plain Groth16. Whole commands are wall "
             "time (median of the runs after the first for prove and verify) with peak memory; in-process prove is "
             "the Groth16 prove of one witness after a warm-up (witness generation beside it); gas is the "
             "gasUsed of one verifyProof transaction (one public signal: `--public-signals hash`).", "",
             *table(rows), "", *ratios(rows), ""]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "lookups.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
