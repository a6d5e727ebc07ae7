"""The transformer examples (models/build_transformers.py): a 2-layer encoder classifier and a
GPT-style decoder, each as exported by torch's dynamo exporter and by its TorchScript exporter.
Default: each compiles (the exporters' Shape/Range/Cast chains folded, the causal mask's -inf
handled) and its circuit agrees with onnxruntime on a few held-out inputs; attention masks,
token ids outside the table and too long a sequence on small models of their own. Slow: the
fidelity targets on all 200 held-out inputs, and prove/verify from the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from zkml.compiler.compile import compile_model, forward, quantize_input, witness
from zkml.compiler.input_range import check_input_range
from zkml.errors import ZkmlError

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
NAMES = ["encoder_dynamo", "encoder_ts", "gpt_dynamo", "gpt_ts"]
_compiled: dict = {}


def data(name: str, split: str) -> dict:
    return dict(np.load(MODELS / f"{name.split('_')[0]}_{split}.npz"))


def compiled(name: str):
    if name not in _compiled:
        _compiled[name] = compile_model(MODELS / f"{name}.onnx", data(name, "calibration")["x"])
    return _compiled[name]


def onnxruntime_outputs(name: str, xs: np.ndarray) -> np.ndarray:
    s = ort.InferenceSession(str(MODELS / f"{name}.onnx"), providers=["CPUExecutionProvider"])
    feed = s.get_inputs()[0].name
    return np.concatenate([s.run(None, {feed: xs[i:i + 1]})[0] for i in range(len(xs))])


def agreement(name: str, n: int) -> tuple[float, float]:
    """(argmax agreement with onnxruntime, worst |error| of the outputs) on n held-out inputs."""
    xs = data(name, "test")["x"][:n]
    ref = onnxruntime_outputs(name, xs)
    got = np.concatenate([forward(compiled(name), xs[i:i + 1])[0].reshape(1, -1) for i in range(len(xs))])
    return float(np.mean(ref.argmax(1) == got.argmax(1))), float(np.abs(ref - got).max())


@pytest.mark.parametrize("name", NAMES)
def test_exporter_graph_folds_to_the_same_ops(name):
    """Shape/Gather/Concat/Range/Cast/ConstantOfShape chains of either exporter fold at load time."""
    from zkml.onnx_import.load import load_model

    g = load_model(MODELS / f"{name}.onnx", None)
    ops = {n.op for n in g.nodes}
    assert not ops & {"Shape", "ConstantOfShape", "Range", "Cast", "Constant", "Concat", "Unsqueeze", "Slice"}
    assert {"Softmax", "LayerNormalization", "Erf", "MatMul"} <= ops
    assert ("Where" in ops) == name.startswith("gpt")  # the causal mask
    assert all(d > 0 for d in g.shapes[g.inputs[0]])


@pytest.mark.parametrize("name", NAMES)
def test_circuit_agrees_with_onnxruntime(name):
    agree, worst = agreement(name, 6)
    assert agree == 1.0
    assert worst < 0.1  # logits of size ~10; the fixed-point error is ~0.01


def test_causal_mask_is_a_finite_fill_recorded_in_the_manifest():
    c = compiled("gpt_ts")
    fills = {k: v for k, v in c.output_transforms["_approximations"].items() if "mask_fill" in v}
    assert len(fills) == 2 and all(v["op"] == "Where" and v["mask_fill"] < -32 for v in fills.values())


def test_token_id_outside_the_table_is_refused_by_position():
    c = compiled("gpt_ts")
    x = data("gpt_ts", "test")["x"][:1].astype(np.float64)
    x[0, 7] = 32
    with pytest.raises(ZkmlError, match=r"token id 32 at position 7 is outside the embedding table's 32 rows \(ids 0..31; Gather node '/tok/Gather'"):
        quantize_input(c, x)
    x[0, 7] = -1
    with pytest.raises(ZkmlError, match="token id -1 at position 7"):
        witness(c, x)
    x[0, 7] = 2.5
    with pytest.raises(ZkmlError, match="2.5 at position 7 is not an integer"):
        quantize_input(c, x)
    # the manifest's range (what `zkml prove` checks first) is the table, whatever the calibration held
    assert c.input_range["token_ids"] == 32 and set(c.input_range["max"]) == {31} and c.input_range["margin"] == 0
    x[0, 7] = 1000
    with pytest.raises(ZkmlError, match="token id 1000 at position 7 is outside the embedding table's 32 rows"):
        check_input_range(c.input_range, x, "prompt.npz")
    x[0, 7] = 31
    check_input_range(c.input_range, x, "prompt.npz")


# --- attention masks and long sequences on small models of their own --------------------------

def _model(tmp_path, name, nodes, shape, inits, out="p"):
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)], inits)
    m = onnx.shape_inference.infer_shapes(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]))
    path = tmp_path / f"{name}.onnx"
    onnx.save(m, path)
    return path


def _t(name, a, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(a, dtype), name)


CAUSAL = np.triu(np.ones((6, 6), bool), 1)


@pytest.mark.parametrize("form", ["where_inf", "where_lowest", "add_inf", "add_1e9", "scaled_after"])
def test_mask_fill_in_front_of_softmax(form, tmp_path):
    """Where(mask, -inf, s), Add(s, M) with -inf / -1e9 / float32's lowest, and a mask before a
    scalar Div: the circuit's probabilities match onnxruntime's, masked ones exactly 0."""
    fill = {"where_inf": -np.inf, "where_lowest": np.finfo(np.float32).min, "add_inf": -np.inf, "add_1e9": -1e9,
            "scaled_after": -np.inf}[form]
    if form.startswith("add"):
        nodes = [helper.make_node("Add", ["x", "m"], ["s"]), helper.make_node("Softmax", ["s"], ["p"], axis=-1)]
        inits = [_t("m", np.where(CAUSAL, fill, 0.0))]
    else:
        nodes = [helper.make_node("Where", ["c", "f", "x"], ["s"])]
        if form == "scaled_after":
            nodes.append(helper.make_node("Div", ["s", "d"], ["s2"]))
        nodes.append(helper.make_node("Softmax", [nodes[-1].output[0]], ["p"], axis=-1))
        inits = [_t("c", CAUSAL, bool), _t("f", fill), _t("d", 2.0)]
    path = _model(tmp_path, form, nodes, [1, 2, 6, 6], inits)
    xs = np.random.default_rng(0).uniform(-4, 4, (12, 1, 2, 6, 6)).astype(np.float32)
    c = compile_model(path, xs)
    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for x in xs[:3]:
        ref = s.run(None, {"x": x})[0]
        got = forward(c, x)[0]
        assert np.abs(got - ref).max() < 0.01
        assert (got[np.broadcast_to(CAUSAL, got.shape)] == 0).all()


def test_infinity_not_in_front_of_a_softmax_is_refused(tmp_path):
    path = _model(tmp_path, "bare_where", [helper.make_node("Where", ["c", "f", "x"], ["p"])], [1, 6, 6],
                  [_t("c", CAUSAL, bool), _t("f", -np.inf)])
    with pytest.raises(ZkmlError, match="holds an infinity"):
        compile_model(path, np.random.default_rng(0).uniform(-1, 1, (12, 1, 6, 6)))


def test_fully_masked_softmax_row_is_refused(tmp_path):
    mask = CAUSAL.copy()
    mask[2] = True
    path = _model(tmp_path, "full_row", [helper.make_node("Where", ["c", "f", "x"], ["s"]),
                                         helper.make_node("Softmax", ["s"], ["p"], axis=-1)], [1, 6, 6],
                  [_t("c", mask, bool), _t("f", -np.inf)])
    with pytest.raises(ZkmlError, match=r"masks every entry of softmax .* row \(0, 2\) with -inf"):
        compile_model(path, np.random.default_rng(0).uniform(-1, 1, (12, 1, 6, 6)))


def attention(tmp_path, n: int, d: int = 16) -> Path:
    rng = np.random.default_rng(0)
    inits = [_t(k, rng.standard_normal((d, d)) * 0.3) for k in ("wq", "wk", "wv")]
    nodes = [helper.make_node("MatMul", ["x", "wq"], ["q"]), helper.make_node("MatMul", ["x", "wk"], ["k"]),
             helper.make_node("MatMul", ["x", "wv"], ["v"]), helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 2, 1]),
             helper.make_node("MatMul", ["q", "kt"], ["s"]), helper.make_node("Softmax", ["s"], ["a"], axis=-1),
             helper.make_node("MatMul", ["a", "v"], ["p"])]
    return _model(tmp_path, f"attention{n}", nodes, [1, n, d], inits)


def test_attention_over_too_long_a_sequence_is_refused_before_any_work(tmp_path, monkeypatch):
    """Refused from shapes alone, with the estimate: calibration is never read (none given)."""
    import zkml.compiler.compile as compile_mod

    def no_calibration(*a, **k):
        raise AssertionError("calibration ran")

    monkeypatch.setattr(compile_mod, "calibrated_fracs", no_calibration)
    with pytest.raises(ZkmlError) as e:
        compile_model(attention(tmp_path, 2048), np.zeros((1, 1, 2048, 16)))
    msg = str(e.value)
    assert "constraints" in msg and "GiB to compile" in msg and "Softmax" in msg
    assert "attention over a sequence of 2048 positions" in msg and "1 x 2048 x 2048 scores" in msg


def test_cli_refuses_long_attention_with_its_estimate(tmp_path):
    path = attention(tmp_path, 1024)
    np.savez(tmp_path / "cal.npz", x=np.zeros((2, 1, 1024, 16), np.float32))
    r = subprocess.run([sys.executable, "-m", "zkml.cli", "compile", str(path), "-c", str(tmp_path / "cal.npz"),
                        "-o", str(tmp_path / "b")], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "sequence of 1024 positions" in r.stderr and "constraints" in r.stderr and "GiB" in r.stderr
    assert not (tmp_path / "b").exists()


# --- slow: the fidelity targets and the CLI ------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_fidelity_on_200_held_out_inputs(name):
    """Encoder: argmax agreement with float >= 99%; decoder: top-1 next token identical to
    onnxruntime's on >= 95% of prompts."""
    agree, _ = agreement(name, 200)
    assert agree >= (0.99 if name.startswith("encoder") else 0.95)


def _cli(*args, cwd=ROOT, check=True):
    r = subprocess.run([sys.executable, "-m", "zkml.cli", *map(str, args)], capture_output=True, text=True,
                       timeout=1800, cwd=cwd)
    if check:
        assert r.returncode == 0, r.stderr[-2000:]
    return r


@pytest.mark.slow
@pytest.mark.parametrize("name,visibility", [("encoder_ts", "public"), ("gpt_dynamo", "committed")])
def test_prove_and_verify_from_the_cli(name, visibility, tmp_path):
    """compile, setup, prove, verify; an edited output value and a tampered proof fail."""
    b = tmp_path / "bundle"
    cal = MODELS / f"{name.split('_')[0]}_calibration.npz"
    _cli("compile", MODELS / f"{name}.onnx", "-c", cal, "-o", b, "--input-visibility", visibility)
    _cli("setup", b, "--no-dev-ptau")
    x = data(name, "test")["x"][:1]
    np.savez(tmp_path / "in.npz", x=x)
    _cli("prove", b, "-i", tmp_path / "in.npz", "-o", tmp_path / "proof.json")
    _cli("verify", tmp_path / "proof.json", "--bundle", b)
    doc = json.loads((tmp_path / "proof.json").read_text())
    assert doc["claim"]["input"]["visibility"] == visibility
    assert doc["claim"]["outputs"][0]["argmax"] == int(onnxruntime_outputs(name, x).argmax())
    edited = json.loads(json.dumps(doc))
    edited["claim"]["outputs"][0]["values"][0] += 1.0
    (tmp_path / "edited.json").write_text(json.dumps(edited))
    assert _cli("verify", tmp_path / "edited.json", "--bundle", b, check=False).returncode == 1
    tampered = json.loads(json.dumps(doc))
    tampered["public_signals"][0] = str(int(tampered["public_signals"][0]) + 1)
    (tmp_path / "tampered.json").write_text(json.dumps(tampered))
    assert _cli("verify", tmp_path / "tampered.json", "--bundle", b, check=False).returncode == 1
