"""The ONNX compiler: operator semantics against onnx's own stored test tensors and
onnxruntime, soundness of compiled circuits (mutation), the example models end to end, and the
errors users get for bad models, inputs and bundles."""

import json
import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper

from conftest import ROOT
from zkml.cli import main
from zkml.compiler.compile import compile_model, forward, witness
from zkml.crypto.bn254 import R
from zkml.errors import UnsatisfiedWitness, ZkmlError

MODELS = ROOT / "models"
ONNX_DATA = Path(onnx.__file__).parent / "backend" / "test" / "data"

# onnx's own cases (stored inputs and outputs) for the ops we compile, in 2-D.
BACKEND_CASES = [
    "pytorch-converted/test_AvgPool2d", "pytorch-converted/test_AvgPool2d_stride",
    "pytorch-converted/test_BatchNorm2d_eval", "pytorch-converted/test_BatchNorm2d_momentum_eval",
    "pytorch-converted/test_Conv2d", "pytorch-converted/test_Conv2d_depthwise",
    "pytorch-converted/test_Conv2d_depthwise_padded", "pytorch-converted/test_Conv2d_depthwise_strided",
    "pytorch-converted/test_Conv2d_depthwise_with_multiplier", "pytorch-converted/test_Conv2d_dilated",
    "pytorch-converted/test_Conv2d_groups", "pytorch-converted/test_Conv2d_no_bias",
    "pytorch-converted/test_Conv2d_padding", "pytorch-converted/test_Conv2d_strided",
    "pytorch-converted/test_LeakyReLU", "pytorch-converted/test_LeakyReLU_with_negval",
    "pytorch-converted/test_Linear", "pytorch-converted/test_Linear_no_bias",
    "pytorch-converted/test_MaxPool2d",
    "pytorch-converted/test_ReLU", "pytorch-converted/test_Sigmoid", "pytorch-converted/test_Tanh",
    "pytorch-operator/test_operator_clip",
    "pytorch-operator/test_operator_flatten",
    "pytorch-operator/test_operator_permute2", "pytorch-operator/test_operator_view",
    "pytorch-operator/test_operator_conv",
]


def _tensor(path):
    t = onnx.TensorProto()
    t.ParseFromString(Path(path).read_bytes())
    return numpy_helper.to_array(t)


@pytest.mark.parametrize("case", BACKEND_CASES)
def test_op_against_onnx_stored_outputs(case):
    d = ONNX_DATA / case
    if not d.exists():
        pytest.skip(f"{case} not in this onnx wheel")
    xs = _tensor(d / "test_data_set_0" / "input_0.pb")
    expected = _tensor(d / "test_data_set_0" / "output_0.pb")
    x, want = xs[:1], expected[:1]  # zkml pins the batch to one sample
    c = compile_model(d / "model.onnx", xs[:, None] if xs.ndim > 1 else xs[None])
    got = forward(c, x)[0]
    assert got.size == want.size
    tol = 0.02 * max(1.0, float(np.abs(want).max()))
    assert np.max(np.abs(got.ravel() - want.ravel())) <= tol
    w, _ = witness(c, x)
    c.r1cs.check_witness(w)


def test_sigmoid_tanh_error_bound_is_stated_and_holds():
    from zkml.compiler.ops import PWL, pwl_error

    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    half, step = PWL["Sigmoid"]
    bound = pwl_error(sig, -half, half, step)
    assert bound < 0.005 and pwl_error(np.tanh, -PWL["Tanh"][0], PWL["Tanh"][0], PWL["Tanh"][1]) < 0.01
    d = ONNX_DATA / "pytorch-converted" / "test_Sigmoid"
    xs = _tensor(d / "test_data_set_0" / "input_0.pb")
    c = compile_model(d / "model.onnx", xs[:, None] * 3)
    grid = np.linspace(-3, 3, 101)
    for v in grid[::10]:
        x = np.full(xs[:1].shape, v)
        got = forward(c, x)[0]
        assert np.max(np.abs(got - sig(v))) <= bound + 2 ** -7  # interpolation + fixed-point rounding
    assert c.output_transforms["_approximations"]


def test_oversized_op_is_refused_with_its_size():
    """onnx's MaxPool case on a 1000x1000 image would need ~10^8 comparisons: refused before any
    work, with the estimate and the node that makes it."""
    d = ONNX_DATA / "pytorch-converted" / "test_MaxPool2d_stride_padding_dilation"
    if not d.exists():
        pytest.skip("case not in this onnx wheel")
    with pytest.raises(ZkmlError, match=r"would need ~[\d,]+ constraints.*2\^24.*'MaxPool_0' \(MaxPool\)"):
        compile_model(d / "model.onnx", _tensor(d / "test_data_set_0" / "input_0.pb")[None])


def test_one_dimensional_pooling_gives_the_stored_output():
    d = ONNX_DATA / "pytorch-operator" / "test_operator_maxpool"
    if not d.exists():
        pytest.skip("case not in this onnx wheel")
    # the stored input is a batch of 20 rows; with the batch pinned to 1 they are 20 samples
    xs = _tensor(d / "test_data_set_0" / "input_0.pb")
    c = compile_model(d / "model.onnx", xs)
    got = np.concatenate([forward(c, x)[0].ravel() for x in xs.reshape((-1,) + c.input_shape)])
    np.testing.assert_allclose(got, _tensor(d / "test_data_set_0" / "output_0.pb").ravel(), atol=2 ** -7)


def tiny_model(tmp_path, ops=("Gemm", "Relu")):
    w = np.array([[0.5, -1.25, 2.0], [1.5, 0.25, -0.75]], np.float32)
    b = np.array([0.1, -0.2], np.float32)
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["h"], transB=1, name="fc")]
    out = "h"
    if "Relu" in ops:
        nodes.append(helper.make_node("Relu", ["h"], ["r"], name="relu"))
        out = "r"
    for extra in ops[2:]:
        nodes.append(helper.make_node(extra, [out], [f"{extra}_out"], name=f"{extra.lower()}_node"))
        out = f"{extra}_out"
    g = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
                          [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N", 2])],
                          [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "tiny.onnx"
    onnx.save(m, path)
    return path


def test_compiled_circuit_rejects_every_single_mutation(tmp_path):
    c = compile_model(tiny_model(tmp_path), np.array([[1.0, -2.0, 0.5], [-1, 1, 1]]))
    w, _ = witness(c, np.array([0.75, -1.5, 0.25]))
    c.r1cs.check_witness(w)
    for i in range(1, len(w)):
        bad = list(w)
        bad[i] = (bad[i] + 1) % R
        with pytest.raises(UnsatisfiedWitness):
            c.r1cs.check_witness(bad)


def test_unsupported_ops_are_reported_all_at_once(tmp_path):
    path = tiny_model(tmp_path, ("Gemm", "Relu", "Cos", "Sin"))
    with pytest.raises(ZkmlError) as e:
        compile_model(path, np.ones((2, 3)))
    msg = str(e.value)
    assert "2 unsupported node(s)" in msg and "Cos" in msg and "cos_node" in msg and "Sin" in msg
    assert "Supported ops:" in msg and "Gemm" in msg


def test_bad_inputs(tmp_path):
    c = compile_model(tiny_model(tmp_path), np.array([[1.0, -2.0, 0.5]]))
    with pytest.raises(ZkmlError, match=r"needs shape \(1, 3\)"):
        witness(c, np.ones(4))
    with pytest.raises(ZkmlError, match="NaN or infinity"):
        witness(c, np.array([1.0, np.nan, 0]))
    with pytest.raises(ZkmlError, match="outside the calibrated range"):
        witness(c, np.array([1e6, 0, 0]))


def test_model_with_external_data(tmp_path):
    """Weights in a side file, as exporters write large models: loaded, compiled, hashed."""
    m = onnx.load(tiny_model(tmp_path))
    onnx.save_model(m, tmp_path / "ext.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
                    location="ext.weights", size_threshold=0)
    assert (tmp_path / "ext.weights").exists()
    c = compile_model(tmp_path / "ext.onnx", np.array([[1.0, -2.0, 0.5]]))
    assert np.allclose(forward(c, np.array([0.5, 0.5, 0.5]))[0], forward(compile_model(tiny_model(tmp_path), np.array([[1.0, -2.0, 0.5]])), np.array([0.5, 0.5, 0.5]))[0])


def test_corrupt_onnx_file(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ZkmlError, match="bad.onnx"):
        compile_model(bad, np.ones((1, 3)))


@pytest.mark.parametrize("name,cal,test,min_agreement", [
    ("digits_mlp", "digits_calibration.npz", "digits_test.npz", 0.995),
    ("digits_cnn", "digits_cnn_calibration.npz", "digits_cnn_test.npz", 0.99),
    ("breast_cancer", "breast_cancer_calibration.npz", "breast_cancer_test.npz", 0.99),
])
def test_example_models_agree_with_float_on_test_split(name, cal, test, min_agreement):
    import onnxruntime as ort

    c = compile_model(MODELS / f"{name}.onnx", np.load(MODELS / cal)["x"])
    sess = ort.InferenceSession(str(MODELS / f"{name}.onnx"))
    xs = np.load(MODELS / test)["x"]
    agree = sum(int(np.argmax(sess.run(None, {"x": x[None].astype(np.float32)})[0]) == np.argmax(forward(c, x)[0]))
                for x in xs)
    assert agree / len(xs) >= min_agreement


@pytest.fixture(scope="module")
def cli_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("bundles")
    cwd = os.getcwd()
    os.chdir(d)
    yield d
    os.chdir(cwd)


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("name,cal,test", [
    ("digits_mlp", "digits_calibration.npz", "digits_test.npz"),
    ("digits_cnn", "digits_cnn_calibration.npz", "digits_cnn_test.npz"),
    ("breast_cancer", "breast_cancer_calibration.npz", "breast_cancer_test.npz"),
])
def test_examples_end_to_end_and_tampering(cli_dir, name, cal, test):
    bundle = cli_dir / "circuits" / name
    res = run("compile", MODELS / f"{name}.onnx", "-c", MODELS / cal, "-o", bundle)
    assert res.exit_code == 0, res.output
    assert run("setup", bundle).exit_code == 0
    data = np.load(MODELS / test)
    (cli_dir / f"{name}.json").write_text(json.dumps(data["x"][0].tolist()))
    res = run("prove", bundle, "-i", cli_dir / f"{name}.json", "-o", cli_dir / f"{name}.proof.json")
    assert res.exit_code == 0, res.output
    ok = run("verify", cli_dir / f"{name}.proof.json")
    assert ok.exit_code == 0 and "OK" in ok.output
    assert run("inspect", bundle).exit_code == 0

    doc = json.loads((cli_dir / f"{name}.proof.json").read_text())
    # a different claimed output (still on the grid, argmax consistent) must not verify
    forged = json.loads(json.dumps(doc))
    vals = forged["claim"]["outputs"][0]["values"]
    vals[-1] += 2 ** -forged_frac(bundle)  # the last logit: not a constant in any example
    forged["claim"]["outputs"][0]["argmax"] = int(np.argmax(vals))
    (cli_dir / "forged.json").write_text(json.dumps(forged))
    bad = run("verify", cli_dir / "forged.json")
    assert bad.exit_code == 1 and "INVALID" in bad.output
    # a claim whose argmax does not follow from its values is malformed
    lying = json.loads(json.dumps(doc))
    lying["claim"]["outputs"][0]["argmax"] = (doc["claim"]["outputs"][0]["argmax"] + 1) % 2
    (cli_dir / "lying.json").write_text(json.dumps(lying))
    res = run("verify", cli_dir / "lying.json")
    assert res.exit_code == 1 and "argmax" in res.output


def forged_frac(bundle):
    return json.loads((bundle / "manifest.json").read_text())["outputs"][0]["frac"]


def test_bundle_errors(cli_dir, tmp_path):
    bundle = cli_dir / "circuits" / "tiny"
    model = tiny_model(tmp_path)
    (tmp_path / "cal.json").write_text(json.dumps([[1.0, -2.0, 0.5]]))
    assert run("compile", model, "-c", tmp_path / "cal.json", "-o", bundle).exit_code == 0
    again = run("compile", model, "-c", tmp_path / "cal.json", "-o", bundle)
    assert again.exit_code == 1 and "already exists" in again.output
    # prove before setup
    (tmp_path / "x.json").write_text("[0.5, 0.5, 0.5]")
    res = run("prove", bundle, "-i", tmp_path / "x.json", "-o", tmp_path / "p.json")
    assert res.exit_code == 1 and "zkml setup" in res.output
    assert run("setup", bundle).exit_code == 0
    # wrong shape, NaN, out of range: one line, no proof file
    for text, fragment in (("[1, 2]", "needs shape"), ("[1, NaN, 0]", "NaN"), ("[1000, 0, 0]", "calibrated range")):
        (tmp_path / "bad.json").write_text(text)
        res = run("prove", bundle, "-i", tmp_path / "bad.json", "-o", tmp_path / "p.json")
        assert res.exit_code == 1 and fragment in res.output and "Traceback" not in res.output
        assert not (tmp_path / "p.json").exists()
    # a corrupted bundle file is caught by its hash
    assert run("prove", bundle, "-i", tmp_path / "x.json", "-o", tmp_path / "p.json").exit_code == 0
    r1cs = bundle / "circuit.zkey"
    data = bytearray(r1cs.read_bytes())
    data[-1] ^= 1
    r1cs.write_bytes(bytes(data))
    res = run("prove", bundle, "-i", tmp_path / "x.json", "-o", tmp_path / "p2.json")
    assert res.exit_code == 1 and "does not match the hash" in res.output
    # a proof checked against another bundle is refused
    other = cli_dir / "circuits" / "digits_mlp"
    if other.exists():
        res = run("verify", tmp_path / "p.json", "--bundle", other)
        assert res.exit_code == 1 and "another model" in res.output
    # a failed compile leaves no bundle behind
    (tmp_path / "nan.json").write_text("[[1, 2]]")
    res = run("compile", model, "-c", tmp_path / "nan.json", "-o", cli_dir / "circuits" / "never")
    assert res.exit_code != 0 and not (cli_dir / "circuits" / "never").exists()


def test_committed_input_end_to_end(cli_dir, tmp_path):
    from zkml.circuit.gadgets.poseidon import commitment_value
    from zkml.compiler.compile import quantize_input
    from zkml.bundle.store import load_compiled

    bundle = cli_dir / "circuits" / "bc_committed"
    res = run("compile", MODELS / "breast_cancer.onnx", "-c", MODELS / "breast_cancer_calibration.npz",
              "-o", bundle, "--input-visibility", "committed")
    assert res.exit_code == 0, res.output
    assert run("setup", bundle).exit_code == 0
    x = np.load(MODELS / "breast_cancer_test.npz")["x"][3]
    (tmp_path / "x.json").write_text(json.dumps(x.tolist()))
    proof = tmp_path / "p.json"
    assert run("prove", bundle, "-i", tmp_path / "x.json", "-o", proof).exit_code == 0
    doc = json.loads(proof.read_text())
    assert "values" not in doc["claim"]["input"]  # the input itself is not revealed
    opening = json.loads((tmp_path / "p.json.opening.json").read_text())
    xq = quantize_input(load_compiled(bundle), np.array(opening["input"]))
    assert str(commitment_value(xq.ravel().tolist(), int(opening["salt"]))) == doc["claim"]["input"]["commitment"]
    assert run("verify", proof).exit_code == 0
    doc["claim"]["input"]["commitment"] = str(int(doc["claim"]["input"]["commitment"]) + 1)
    (tmp_path / "forged.json").write_text(json.dumps(doc))
    res = run("verify", tmp_path / "forged.json")
    assert res.exit_code == 1 and "INVALID" in res.output


@pytest.mark.parametrize("model,data", [
    ("skl2onnx_mlp_regressor.onnx", "skl2onnx_data.npz"),
    ("torch_dynamo_cnn.onnx", "torch_dynamo_data.npz"),
])
def test_models_from_other_exporters(model, data):
    """Files written by skl2onnx and torch's dynamo exporter (fixtures) compile and agree."""
    import onnxruntime as ort

    d = ROOT / "tests" / "fixtures" / "exporters"
    xs = np.load(d / data)["x"]
    c = compile_model(d / model, xs)
    sess = ort.InferenceSession(str(d / model))
    name = sess.get_inputs()[0].name
    for x in xs[:5]:
        ref = sess.run(None, {name: x[None].astype(np.float32)})[0].ravel()
        assert np.max(np.abs(forward(c, x)[0].ravel() - ref)) <= 0.02 * max(1.0, np.abs(ref).max())
    w, _ = witness(c, xs[0])
    c.r1cs.check_witness(w)
