"""The normalised graph stored in the bundle (zkml/bundle/program.py): prove reads it instead of
the ONNX file, so it must give exactly the witness the ONNX path gives, and an edited program
file must be refused by its manifest hash."""

import subprocess
import sys

import numpy as np
import pytest

from conftest import MODELS, zkml
from zkml.bundle import store
from zkml.bundle.program import PROGRAM_JSON, PROGRAM_NPZ, program_files, read_program
from zkml.compiler.compile import load_for_compile, witness


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    d = tmp_path_factory.mktemp("program") / "cnn"
    res = zkml("compile", MODELS / "digits_cnn.onnx", "-c", MODELS / "digits_cnn_calibration.npz", "-o", d)
    assert res.exit_code == 0, res.output
    return d


def test_program_is_listed_and_hashed(bundle):
    files = store.read_manifest(bundle)["files"]
    assert PROGRAM_JSON in files and PROGRAM_NPZ in files


@pytest.mark.parametrize("model", ["digits_cnn.onnx", "digits_mlp.onnx", "breast_cancer.onnx"])
def test_round_trip_keeps_the_graph(model, tmp_path):
    g = load_for_compile(MODELS / model)
    assert program_files(g, tmp_path) == [PROGRAM_JSON, PROGRAM_NPZ]
    h = read_program(tmp_path / PROGRAM_JSON, tmp_path / PROGRAM_NPZ)
    assert [(n.op, n.name, n.inputs, n.outputs, n.attrs, n.domain) for n in h.nodes] == \
           [(n.op, n.name, n.inputs, n.outputs, n.attrs, n.domain) for n in g.nodes]
    assert (h.inputs, h.outputs, h.shapes, h.opset) == (g.inputs, g.outputs, g.shapes, g.opset)
    assert list(h.constants) == list(g.constants)
    for k, v in g.constants.items():
        assert h.constants[k].dtype == v.dtype and np.array_equal(h.constants[k], v)


def test_witness_from_the_program_equals_the_onnx_one(bundle):
    c = store.load_compiled(bundle)
    assert c.graph.model is None  # read from program.json: onnx was not loaded
    x = np.load(MODELS / "digits_cnn_test.npz")["x"][3]
    w_program, out_program = witness(c, x)
    c.graph = load_for_compile(bundle / store.MODEL_FILE)
    w_onnx, out_onnx = witness(c, x)
    assert w_program == w_onnx
    assert all(np.array_equal(a, b) for a, b in zip(out_program, out_onnx))
    # and a different input gives a different witness (the comparison can fail)
    assert witness(c, np.load(MODELS / "digits_cnn_test.npz")["x"][4])[0] != w_onnx


@pytest.mark.parametrize("name", [PROGRAM_JSON, PROGRAM_NPZ])
def test_an_edited_program_is_refused_by_hash(bundle, tmp_path, name):
    import shutil

    copy = tmp_path / "b"
    shutil.copytree(bundle, copy)
    raw = bytearray((copy / name).read_bytes())
    raw[len(raw) // 2] ^= 1
    (copy / name).write_bytes(bytes(raw))
    with pytest.raises(Exception, match="does not match the hash"):
        store.load_compiled(copy)


def test_loading_the_program_imports_no_onnx(bundle):
    code = ("import sys; from zkml.bundle import store; store.load_compiled(sys.argv[1]); "
            "print(sorted(m for m in ('onnx', 'onnxruntime') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(bundle)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
