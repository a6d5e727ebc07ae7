"""DeepProve's two benchmark shapes as ONNX models with seeded random weights.

    python bench/shapes.py OUT_DIR

writes cifar_cnn.onnx (264k parameters: Conv 3->12 5x5, ReLU, MaxPool, Conv 12->33 5x5, ReLU,
MaxPool, Gemm 825->251->175->10) and mlp_4m.onnx (4.2M parameters: 4 -> 1024 x5 -> 3, Gemm and
ReLU), each with a calibration split (``<name>_calibration.npz``, key ``x``). The weights are
random (He-scaled, fixed seed): these models measure compile, setup and prove cost, not
accuracy, so no data set is needed and nothing is downloaded.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SEED = 20261202


def _weight(rng, shape, fan_in):
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def _model(name, nodes, inits, in_shape, out_shape):
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, out_shape)],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="zkml/bench/shapes.py")
    onnx.checker.check_model(model)
    return model


def _gemm_chain(rng, sizes, first, nodes, inits, prefix="fc"):
    prev = first
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        inits += [numpy_helper.from_array(_weight(rng, (n_out, n_in), n_in), f"{prefix}{i}.weight"),
                  numpy_helper.from_array(np.zeros(n_out, np.float32) + 0.01, f"{prefix}{i}.bias")]
        nodes.append(helper.make_node("Gemm", [prev, f"{prefix}{i}.weight", f"{prefix}{i}.bias"],
                                      [f"{prefix}{i}"], transB=1, name=f"{prefix}{i}"))
        prev = f"{prefix}{i}"
        if i < len(sizes) - 2:
            nodes.append(helper.make_node("Relu", [prev], [f"{prefix}relu{i}"], name=f"{prefix}relu{i}"))
            prev = f"{prefix}relu{i}"
    return prev


def cifar_cnn() -> onnx.ModelProto:
    """3x32x32 -> conv5 (12) -> relu -> pool2 -> conv5 (33) -> relu -> pool2 -> 825-251-175-10."""
    rng = np.random.default_rng(SEED)
    nodes, inits, prev, channels = [], [], "x", 3
    for i, c_out in enumerate((12, 33)):
        inits += [numpy_helper.from_array(_weight(rng, (c_out, channels, 5, 5), channels * 25), f"conv{i}.weight"),
                  numpy_helper.from_array(np.zeros(c_out, np.float32) + 0.01, f"conv{i}.bias")]
        nodes += [helper.make_node("Conv", [prev, f"conv{i}.weight", f"conv{i}.bias"], [f"conv{i}"],
                                   kernel_shape=[5, 5], name=f"conv{i}"),
                  helper.make_node("Relu", [f"conv{i}"], [f"relu{i}"], name=f"relu{i}"),
                  helper.make_node("MaxPool", [f"relu{i}"], [f"pool{i}"], kernel_shape=[2, 2],
                                   strides=[2, 2], name=f"pool{i}")]
        prev, channels = f"pool{i}", c_out
    inits.append(numpy_helper.from_array(np.array([1, 825], np.int64), "flat_shape"))
    nodes.append(helper.make_node("Reshape", [prev, "flat_shape"], ["flat"], name="flatten"))
    _gemm_chain(rng, [825, 251, 175, 10], "flat", nodes, inits)
    return _model("cifar_cnn", nodes, inits, [1, 3, 32, 32], [1, 10])


def mlp_4m() -> onnx.ModelProto:
    """4 -> 1024 -> 1024 -> 1024 -> 1024 -> 1024 -> 3."""
    rng = np.random.default_rng(SEED + 1)
    nodes, inits = [], []
    _gemm_chain(rng, [4, 1024, 1024, 1024, 1024, 1024, 3], "x", nodes, inits)
    return _model("mlp_4m", nodes, inits, [1, 4], [1, 3])


def n_parameters(model: onnx.ModelProto) -> int:
    return sum(int(np.prod(t.dims)) for t in model.graph.initializer if t.data_type == TensorProto.FLOAT)


SHAPES = {"cifar_cnn": (cifar_cnn, (3, 32, 32)), "mlp_4m": (mlp_4m, (4,))}


def write(out: Path, names=tuple(SHAPES)) -> dict[str, tuple[Path, Path]]:
    """Write each named shape and its calibration split (64 samples in [-1, 1]) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in names:
        build, in_shape = SHAPES[name]
        model_path, calib_path = out / f"{name}.onnx", out / f"{name}_calibration.npz"
        onnx.save(build(), model_path)
        rng = np.random.default_rng(SEED + 2)
        np.savez(calib_path, x=rng.uniform(-1, 1, (64, *in_shape)).astype(np.float32))
        written[name] = (model_path, calib_path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/shapes-out")
    for name, (m, c) in write(target).items():
        print(f"{name}: {m} ({n_parameters(onnx.load(m)):,} parameters), {c}")
