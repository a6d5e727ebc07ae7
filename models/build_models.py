"""Build the example models and their data splits from scikit-learn's bundled data sets.

    pip install torch==2.13.0   # only for the CNN; everything else uses the dev extra
    python models/build_models.py

Writes, next to this script: digits_mlp.onnx (64-256-256-10, Gemm/Relu), digits_cnn.onnx
(Conv/Relu/MaxPool/Gemm, exported by torch's TorchScript exporter), breast_cancer.onnx
(standardisation as Sub/Div, then a 30-16-2 MLP), and for each data set a calibration split
and a test split (.npz with x and, for tests, y). Deterministic: fixed seeds and splits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.neural_network import MLPClassifier

HERE = Path(__file__).resolve().parent


def mlp_to_onnx(clf: MLPClassifier, n_in: int, name: str, prefix_nodes=(), prefix_inits=(), first="x") -> onnx.ModelProto:
    inits, nodes, prev = list(prefix_inits), list(prefix_nodes), first
    for i, (w, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        inits += [numpy_helper.from_array(w.T.astype(np.float32), f"fc{i}.weight"),
                  numpy_helper.from_array(b.astype(np.float32), f"fc{i}.bias")]
        nodes.append(helper.make_node("Gemm", [prev, f"fc{i}.weight", f"fc{i}.bias"], [f"fc{i}"], transB=1, name=f"fc{i}"))
        prev = f"fc{i}"
        if i < len(clf.coefs_) - 1:
            nodes.append(helper.make_node("Relu", [prev], [f"relu{i}"], name=f"relu{i}"))
            prev = f"relu{i}"
    n_out = clf.coefs_[-1].shape[1]
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", n_in])],
                              [helper.make_tensor_value_info(prev, TensorProto.FLOAT, ["batch", n_out])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="zkml/models/build_models.py")
    onnx.checker.check_model(model)
    return model


def split(n: int, seed: int):
    idx = np.random.default_rng(seed).permutation(n)
    return idx[: n * 6 // 10], idx[n * 6 // 10: n * 7 // 10], idx[n * 7 // 10:]  # train, calibration, test


def digits():
    d = load_digits()
    x, y = (d.data / 16.0).astype(np.float32), d.target
    tr, cal, te = split(len(x), 0)
    np.savez(HERE / "digits_calibration.npz", x=x[cal])
    np.savez(HERE / "digits_test.npz", x=x[te], y=y[te])
    clf = MLPClassifier(hidden_layer_sizes=(256, 256), max_iter=400, random_state=0).fit(x[tr], y[tr])
    print(f"digits MLP: float test accuracy {clf.score(x[te], y[te]):.3f}")
    onnx.save(mlp_to_onnx(clf, 64, "digits_mlp"), HERE / "digits_mlp.onnx")
    return x, y, tr, te


def digits_cnn(x, y, tr, te):
    try:
        import torch
        from torch import nn
    except ImportError:
        print("digits CNN: skipped (pip install torch==2.13.0 to rebuild it)")
        return
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 2 * 2, 10),
    )
    xt = torch.tensor(x.reshape(-1, 1, 8, 8))
    yt = torch.tensor(y)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    for epoch in range(60):
        for i in range(0, len(tr), 64):
            b = tr[i:i + 64]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(net(xt[b]), yt[b])
            loss.backward()
            opt.step()
    with torch.no_grad():
        acc = (net(xt[te]).argmax(1) == yt[te]).float().mean().item()
    print(f"digits CNN: float test accuracy {acc:.3f}")
    torch.onnx.export(net, xt[:1], HERE / "digits_cnn.onnx", input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17, dynamo=False)
    np.savez(HERE / "digits_cnn_calibration.npz", x=np.load(HERE / "digits_calibration.npz")["x"].reshape(-1, 1, 8, 8))
    np.savez(HERE / "digits_cnn_test.npz", x=x[te].reshape(-1, 1, 8, 8), y=y[te])


def breast_cancer():
    d = load_breast_cancer()
    x, y = d.data.astype(np.float32), d.target
    tr, cal, te = split(len(x), 1)
    mean, std = x[tr].mean(0), x[tr].std(0) + 1e-6
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=1000, random_state=0).fit((x[tr] - mean) / std, y[tr])
    print(f"breast cancer MLP: float test accuracy {clf.score((x[te] - mean) / std, y[te]):.3f}")
    pre_inits = [numpy_helper.from_array(mean.astype(np.float32), "mean"), numpy_helper.from_array(std.astype(np.float32), "std")]
    pre = [helper.make_node("Sub", ["x", "mean"], ["centered"], name="center"),
           helper.make_node("Div", ["centered", "std"], ["scaled"], name="scale")]
    # sklearn's binary MLP has one logistic output; two logits [0, z] keep argmax = the class
    w_last, b_last = clf.coefs_[-1], clf.intercepts_[-1]
    clf.coefs_[-1] = np.concatenate([np.zeros_like(w_last), w_last], axis=1)
    clf.intercepts_[-1] = np.concatenate([np.zeros_like(b_last), b_last])
    onnx.save(mlp_to_onnx(clf, 30, "breast_cancer", pre, pre_inits, first="scaled"), HERE / "breast_cancer.onnx")
    np.savez(HERE / "breast_cancer_calibration.npz", x=x[cal])
    np.savez(HERE / "breast_cancer_test.npz", x=x[te], y=y[te])


def cifar_cnn():
    """DeepProve's CIFAR CNN shape (widths 12, 33, 251, 175; 264k parameters) with seeded random
    weights and a calibration split, from bench/shapes.py: it measures cost, not accuracy."""
    import sys

    sys.path.insert(0, str(HERE.parent / "bench"))
    import shapes

    shapes.write(HERE, ["cifar_cnn"])


if __name__ == "__main__":
    x, y, tr, te = digits()
    digits_cnn(x, y, tr, te)
    breast_cancer()
    cifar_cnn()
