"""Example models end to end: zkml against ezkl (Halo2/KZG) in the same run, when installed.

For each model in models/: constraints, compile/setup/prove/verify seconds, key and proof
sizes, peak memory, fidelity on the test split; ezkl's gen_settings + calibrate_settings
("resources"), compile, a locally generated SRS (gen_srs, no download), setup, witness, prove
and verify on the same ONNX model and the same input. Each side runs in its own process so the
peak-memory figures are its own. Writes bench/results/models.md and models.json.
    python bench/bench_models.py [--no-ezkl]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
MODELS = [
    ("digits_mlp", "digits_calibration.npz", "digits_test.npz"),
    ("digits_cnn", "digits_cnn_calibration.npz", "digits_cnn_test.npz"),
    ("breast_cancer", "breast_cancer_calibration.npz", "breast_cancer_test.npz"),
]

ZKML_SIDE = r'''
import json, resource, sys, tempfile, time
from pathlib import Path
import numpy as np
sys.path.insert(0, sys.argv[1])
from zkml.compiler.compile import compile_model, forward, witness
from zkml.compiler.fidelity import fidelity_report
from zkml.crypto.bn254 import ints_to_limbs
from zkml.engines.cpu.prover import prove
from zkml.formats.snarkjs_json import proof_to_json
from zkml.formats.zkey import write_zkey
from zkml.groth16.setup import DevTau, setup_from_secrets
from zkml.groth16.verifier import verify
model, cal, test = sys.argv[2:5]
xs = np.load(cal)["x"]; xt = np.load(test)["x"]
t = time.perf_counter(); c = compile_model(model, xs); compile_s = time.perf_counter() - t
fid = fidelity_report(c, xt)
t = time.perf_counter(); pk = setup_from_secrets(c.r1cs, DevTau.random()); setup_s = time.perf_counter() - t
w, _ = witness(c, xt[0])
prove(pk, ints_to_limbs(w))  # warm-up: JIT cache load
best = 1e9
for _ in range(3):
    t = time.perf_counter(); w, _ = witness(c, xt[0]); p = prove(pk, ints_to_limbs(w)); best = min(best, time.perf_counter() - t)
vk = pk.verifying_key(); pub = w[1:c.r1cs.n_public + 1]
t = time.perf_counter(); ok = verify(vk, pub, p); verify_s = time.perf_counter() - t
d = Path(tempfile.mkdtemp()); write_zkey(d / "k.zkey", pk)
print(json.dumps(dict(constraints=c.r1cs.n_constraints, public=c.r1cs.n_public, compile_s=compile_s, setup_s=setup_s,
    prove_s=best, verify_s=verify_s, verified=ok, pk_bytes=(d / "k.zkey").stat().st_size,
    proof_bytes=len(json.dumps(proof_to_json(p))), proof_raw_bytes=256,
    peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, argmax_agreement=fid["argmax_agreement"],
    max_abs_error=fid["max_abs_error"])))
'''

EZKL_SIDE = r'''
import asyncio, inspect, json, os, resource, sys, tempfile, time
import numpy as np, onnx, ezkl
model, cal, test = sys.argv[1:4]
d = tempfile.mkdtemp(); os.chdir(d)
m = onnx.load(model)
for vi in list(m.graph.input) + list(m.graph.output):
    for dim in vi.type.tensor_type.shape.dim:
        if not dim.HasField("dim_value"): dim.dim_value = 1
onnx.save(m, "model.onnx")
def run(f, *a, **k):
    r = f(*a, **k)
    return asyncio.get_event_loop().run_until_complete(r) if inspect.isawaitable(r) else r
x0 = np.load(test)["x"][0]
json.dump({"input_data": [x0.reshape(-1).tolist()]}, open("input.json", "w"))
json.dump({"input_data": [np.load(cal)["x"][0].reshape(-1).tolist()]}, open("cal.json", "w"))
args = ezkl.PyRunArgs(); args.input_visibility = "public"; args.output_visibility = "public"; args.param_visibility = "fixed"
t = time.perf_counter()
run(ezkl.gen_settings, "model.onnx", "settings.json", py_run_args=args)
run(ezkl.calibrate_settings, "cal.json", "model.onnx", "settings.json", "resources")
run(ezkl.compile_circuit, "model.onnx", "model.compiled", "settings.json")
compile_s = time.perf_counter() - t
logrows = json.load(open("settings.json"))["run_args"]["logrows"]
t = time.perf_counter(); run(ezkl.gen_srs, "kzg.srs", logrows); srs_s = time.perf_counter() - t
t = time.perf_counter(); run(ezkl.setup, "model.compiled", "vk.key", "pk.key", "kzg.srs"); setup_s = time.perf_counter() - t
t = time.perf_counter()
run(ezkl.gen_witness, "input.json", "model.compiled", "witness.json")
run(ezkl.prove, "witness.json", "model.compiled", "pk.key", "proof.json", "kzg.srs")
prove_s = time.perf_counter() - t
t = time.perf_counter(); ok = run(ezkl.verify, "proof.json", "settings.json", "vk.key", "kzg.srs"); verify_s = time.perf_counter() - t
proof = json.load(open("proof.json"))
print(json.dumps(dict(logrows=logrows, compile_s=compile_s, srs_s=srs_s, setup_s=setup_s, prove_s=prove_s, verify_s=verify_s,
    verified=bool(ok), pk_bytes=os.path.getsize("pk.key"), proof_bytes=os.path.getsize("proof.json"),
    proof_raw_bytes=len(bytes(proof.get("proof", []))) if isinstance(proof.get("proof"), list) else len(proof.get("hex_proof", "")) // 2,
    peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
'''


def side(code: str, *args) -> dict:
    res = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=3600)
    if res.returncode:
        return {"error": (res.stderr.strip().splitlines() or ["failed"])[-1][:200]}
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-ezkl", action="store_true")
    args = ap.parse_args()
    try:
        import ezkl  # noqa: F401
        have_ezkl = not args.no_ezkl
    except ImportError:
        have_ezkl = False
    rows = []
    for name, cal, test in MODELS:
        paths = [ROOT / "models" / f"{name}.onnx", ROOT / "models" / cal, ROOT / "models" / test]
        ours = side(ZKML_SIDE, ROOT, *paths)
        theirs = side(EZKL_SIDE, *paths) if have_ezkl else {"error": "ezkl not installed (pip install 'zkml[halo2]')"}
        rows.append(dict(model=name, zkml=ours, ezkl=theirs))
        print(name, json.dumps(ours), json.dumps(theirs), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "models.json").write_text(json.dumps(rows, indent=1) + "\n")
    lines = [
        "# Example models: zkml (Groth16, CPU engine) against ezkl (Halo2, KZG)",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on this 2-core machine by `python bench/bench_models.py`; both in-process "
        "Python, same ONNX model, same input (the first test sample). zkml: development setup, prove = witness + proof, best "
        "of 3 after a warm-up. ezkl: settings calibrated for resources, SRS generated locally, prove = witness + proof, one "
        "run. Sizes: proving key on disk, proof as JSON (raw proof bytes in brackets).",
        "",
        "| model | zkml constraints | zkml compile (s) | zkml setup (s) | zkml prove (s) | zkml verify (s) | zkml key | zkml proof | zkml peak MB | fidelity (argmax, max err) | ezkl logrows | ezkl setup (s) | ezkl prove (s) | ezkl verify (s) | ezkl key | ezkl proof | ezkl peak MB | prove speed-up |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    mb = lambda n: f"{n / 2**20:.1f} MB"  # noqa: E731
    for r in rows:
        z, e = r["zkml"], r["ezkl"]
        if "error" in z:
            lines.append(f"| {r['model']} | zkml failed: {z['error']} |")
            continue
        zpart = (f"| {r['model']} | {z['constraints']} | {z['compile_s']:.2f} | {z['setup_s']:.2f} | {z['prove_s']:.3f} | "
                 f"{z['verify_s']:.2f} | {mb(z['pk_bytes'])} | {z['proof_bytes']} B [{z['proof_raw_bytes']}] | {z['peak_mb']:.0f} | "
                 f"{z['argmax_agreement']:.1%}, {z['max_abs_error']:.3g} |")
        if "error" in e:
            lines.append(zpart + f" {e['error']} | | | | | | | |")
        else:
            lines.append(zpart + f" {e['logrows']} | {e['setup_s']:.2f} | {e['prove_s']:.2f} | {e['verify_s']:.3f} | {mb(e['pk_bytes'])} | "
                         f"{e['proof_bytes']} B [{e['proof_raw_bytes']}] | {e['peak_mb']:.0f} | {e['prove_s'] / z['prove_s']:.0f}x |")
    kept = ""  # bench_transformers.py's section below the table, kept
    if (RESULTS / "models.md").exists() and "## Transformers" in (RESULTS / "models.md").read_text():
        kept = "\n## Transformers" + (RESULTS / "models.md").read_text().split("## Transformers", 1)[1]
    (RESULTS / "models.md").write_text("\n".join(lines) + "\n" + kept)
    print(f"wrote {RESULTS / 'models.md'}")


if __name__ == "__main__":
    main()
