"""The peer side of bench/bench_cli.py: one ezkl (Halo2, KZG) step per process, so that each
step is timed as a whole command, as zkml's are (the wheel ships Python bindings, no CLI).

    python ezkl_step.py prepare DIR MODEL.onnx CALIBRATION.npz INPUT.npz [INDEX]
    python ezkl_step.py compile|srs|setup|prove|verify DIR
    python ezkl_step.py compile DIR fixed|private|hashed   (param_visibility; default fixed)

prepare (untimed) fixes the model's symbolic dimensions to 1 and writes the calibration and
proving inputs as ezkl's JSON; compile is gen_settings + calibrate_settings ("resources") +
compile_circuit; srs generates the KZG parameters locally (gen_srs, a development SRS: nothing
is downloaded); setup makes the keys; prove is gen_witness + prove, since `zkml prove` computes
its witness too; verify exits 1 when ezkl rejects the proof.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import sys
from pathlib import Path


def _run(f, *a, **k):
    r = f(*a, **k)
    return asyncio.new_event_loop().run_until_complete(r) if inspect.isawaitable(r) else r


def prepare(d: Path, model: str, cal: str, inp: str, index: str = "0") -> None:
    import numpy as np
    import onnx

    m = onnx.load(model)
    for vi in list(m.graph.input) + list(m.graph.output):
        for dim in vi.type.tensor_type.shape.dim:
            if not dim.HasField("dim_value"):
                dim.dim_value = 1
    # ezkl's importer wants the Conv/pool attributes that ONNX lets a file leave at their defaults
    for node in m.graph.node:
        if node.op_type not in ("Conv", "MaxPool", "AveragePool"):
            continue
        have = {a.name for a in node.attribute}
        k = len(next(a.ints for a in node.attribute if a.name == "kernel_shape"))
        for name, value in (("strides", [1] * k), ("pads", [0] * 2 * k), ("dilations", [1] * k)):
            if name not in have and "auto_pad" not in have and (name != "dilations" or node.op_type != "AveragePool"):
                node.attribute.append(onnx.helper.make_attribute(name, value))
    d.mkdir(parents=True, exist_ok=True)
    onnx.save(m, d / "model.onnx")
    x = np.load(inp)["x"][int(index)]
    (d / "input.json").write_text(json.dumps({"input_data": [x.reshape(-1).tolist()]}))
    (d / "cal.json").write_text(json.dumps({"input_data": [np.load(cal)["x"][0].reshape(-1).tolist()]}))


def main() -> int:
    step, d = sys.argv[1], Path(sys.argv[2])
    if step == "prepare":
        prepare(d, *sys.argv[3:])
        return 0
    import ezkl

    f = {name: str(d / name) for name in ("model.onnx", "settings.json", "cal.json", "model.compiled", "kzg.srs",
                                          "vk.key", "pk.key", "input.json", "witness.json", "proof.json")}
    if step == "compile":
        args = ezkl.PyRunArgs()
        params = sys.argv[3] if len(sys.argv) > 3 else "fixed"  # fixed, private or hashed (bench_private_weights.py)
        args.input_visibility, args.output_visibility, args.param_visibility = "public", "public", params
        _run(ezkl.gen_settings, f["model.onnx"], f["settings.json"], py_run_args=args)
        _run(ezkl.calibrate_settings, f["cal.json"], f["model.onnx"], f["settings.json"], "resources")
        ok = _run(ezkl.compile_circuit, f["model.onnx"], f["model.compiled"], f["settings.json"])
    elif step == "srs":
        logrows = json.loads(Path(f["settings.json"]).read_text())["run_args"]["logrows"]
        _run(ezkl.gen_srs, f["kzg.srs"], logrows)
        ok = True
    elif step == "setup":
        ok = _run(ezkl.setup, f["model.compiled"], f["vk.key"], f["pk.key"], f["kzg.srs"])
    elif step == "prove":
        _run(ezkl.gen_witness, f["input.json"], f["model.compiled"], f["witness.json"])
        ok = _run(ezkl.prove, f["witness.json"], f["model.compiled"], f["pk.key"], f["proof.json"], f["kzg.srs"])
    elif step == "verify":
        ok = _run(ezkl.verify, f["proof.json"], f["settings.json"], f["vk.key"], f["kzg.srs"])
    else:
        print(f"ezkl_step.py: unknown step {step!r} (prepare, compile, srs, setup, prove, verify)", file=sys.stderr)
        return 2
    return 0 if ok is not False else 1


if __name__ == "__main__":
    sys.exit(main())
