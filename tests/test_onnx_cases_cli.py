"""onnx's stored pytorch exports through the door users use, `zkml compile`: each one-input case
compiles or is refused in one line naming what is wrong, never a traceback; where it compiles,
the float oracle the fidelity report used reproduces the case's stored output, so the report
measures the circuit against the model that was compiled (batch pinned, old opsets upgraded).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import ROOT
from zkml.cli import main

sys.path.insert(0, str(ROOT / "bench"))
from onnx_cases_cli import one_input_cases, stored  # noqa: E402  (the benchmark's case list, one source)


# One of each kind the default suite must keep: fixed batch 2 in the file (Conv2d, Linear_no_bias),
# AveragePool(1) that onnxruntime no longer implements, Gemm(6), refused ops (Softmax until lookup
# tables land: never proved as its logits; Add broadcasting the input up to a constant), and ops
# added since (PRelu, a 3-D MaxPool, Pad, Slice).
DEFAULT = ["test_Conv2d", "test_Linear_no_bias", "test_AvgPool2d", "test_Linear", "test_Softmax",
           "test_PReLU_1d", "test_MaxPool3d", "test_operator_non_float_params", "test_ReflectionPad2d",
           "test_operator_index"]
ALL = one_input_cases()
BY_NAME = {c.name: c for c in ALL}


def compile_case(case: Path, tmp_path: Path):
    cal = tmp_path / "cal.npz"
    np.savez(cal, x=stored(case, "input_0.pb").astype(np.float64))
    out = tmp_path / "bundle"
    result = CliRunner().invoke(main, ["compile", str(case / "model.onnx"), "-c", str(cal), "-o", str(out)])
    return result, out


def check_case(case: Path, tmp_path: Path) -> str:
    result, out = compile_case(case, tmp_path)
    text = result.output  # stdout and stderr, as a terminal shows them
    # an exception other than click's exit is a crash CliRunner caught for us: show it, fail
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{case.name}: {type(result.exception).__name__}: {result.exception}")
    assert "Traceback" not in text, f"{case.name}: {text}"
    if result.exit_code != 0:
        assert result.exit_code in (1, 2), f"{case.name}: exit {result.exit_code}: {text}"
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("error: ")]
        assert len(errors) == 1 and lines[-1] == errors[0], f"{case.name}: {lines}"
        assert all(line.startswith(("error: ", "note: ", "warning: ")) for line in lines), f"{case.name}: {lines}"
        assert "model.onnx" in errors[0] or "calibration" in errors[0], f"{case.name}: names no file: {errors[0]}"
        assert not out.exists(), f"{case.name}: a refused compile left {out}"
        return "refused"
    report = json.loads((out / "fidelity.json").read_text())
    assert report["oracle"] in ("onnxruntime", "onnx.reference"), report
    check_oracle_reproduces_stored_output(case, report)
    return "compiled"


def check_oracle_reproduces_stored_output(case: Path, report: dict) -> None:
    """The oracle the report names, run sample by sample on the batch-pinned model, gives the
    stored output of the whole batch."""
    from zkml.compiler.compile import load_for_compile
    from zkml.onnx_import.oracle import float_oracle

    graph = load_for_compile(case / "model.onnx")
    shape = tuple(graph.shapes[graph.inputs[0]])
    xs = stored(case, "input_0.pb").astype(np.float64).reshape((-1,) + shape)
    oracle, reason = float_oracle(graph.model, xs[0], source=graph.source)
    assert oracle is not None, reason
    assert (oracle.name, oracle.note) == (report["oracle"], report.get("oracle_note", "")), report
    got = np.concatenate([oracle(x)[0].reshape((1, -1)) for x in xs])
    want = stored(case, "output_0.pb").astype(np.float64)
    assert got.size == want.size, f"{case.name}: oracle gives {got.size} values, stored output {want.shape}"
    np.testing.assert_allclose(got.ravel(), want.ravel(), rtol=1e-4, atol=1e-5, err_msg=case.name)


def test_default_cases_are_present():
    missing = [n for n in DEFAULT if n not in BY_NAME]
    assert not missing and len(ALL) > 100


@pytest.mark.parametrize("name", DEFAULT)
def test_stored_case_compiles_or_is_refused(name, tmp_path):
    # Softmax (a table op with lookups) and a fixed leading dimension kept as data both compile now
    assert check_case(BY_NAME[name], tmp_path) == "compiled"


@pytest.mark.slow
def test_every_one_input_stored_case(tmp_path):
    kinds = {}
    for i, case in enumerate(ALL):
        (tmp_path / str(i)).mkdir()
        kinds[case.name] = check_case(case, tmp_path / str(i))
    assert "compiled" in kinds.values() and "refused" in kinds.values()


def test_batch_pinned_model_is_what_the_oracle_runs(tmp_path):
    """test_Conv2d's file fixes the batch at 2; the report covers both stored samples, one by one."""
    result, out = compile_case(BY_NAME["test_Conv2d"], tmp_path)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "fidelity.json").read_text())
    assert report["oracle"] == "onnxruntime" and report["samples"] == 2 and "oracle_note" not in report


def test_old_opset_is_upgraded_and_said_so(tmp_path):
    result, out = compile_case(BY_NAME["test_AvgPool2d"], tmp_path)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "fidelity.json").read_text())
    assert report["oracle"] == "onnxruntime" and "onnx.version_converter" in report["oracle_note"]
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: fidelity")]
    assert len(notes) == 1 and "onnx.version_converter" in notes[0]


def test_reference_evaluator_when_onnxruntime_cannot_run(tmp_path, monkeypatch):
    from zkml.onnx_import import oracle as oracle_mod

    def refuse(model, name):
        raise RuntimeError("NOT_IMPLEMENTED: pretend onnxruntime lacks an op")

    monkeypatch.setattr(oracle_mod, "_ort_runner", refuse)
    result, out = compile_case(BY_NAME["test_Conv2d"], tmp_path)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "fidelity.json").read_text())
    assert report["oracle"] == "onnx.reference" and "pretend onnxruntime lacks an op" in report["oracle_note"]
    assert report["samples"] == 2 and report["max_abs_error"] < 0.05
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: fidelity")]
    assert len(notes) == 1 and "onnx.reference" in notes[0]
    check_oracle_reproduces_stored_output(BY_NAME["test_Conv2d"], report)


def test_no_oracle_still_compiles_with_a_warning(tmp_path, monkeypatch):
    from zkml.onnx_import import oracle as oracle_mod

    def refuse(model, name):
        raise RuntimeError("cannot run this model")

    monkeypatch.setattr(oracle_mod, "_ort_runner", refuse)
    monkeypatch.setattr(oracle_mod, "_reference_runner", refuse)
    result, out = compile_case(BY_NAME["test_Conv2d"], tmp_path)
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    report = json.loads((out / "fidelity.json").read_text())
    assert report["oracle"] is None and "cannot run this model" in report["reason"]
    assert report["samples"] == 0 and report["argmax_agreement"] is None
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: fidelity")]
    assert len(warnings) == 1 and "not measured" in warnings[0]
    shown = CliRunner().invoke(main, ["inspect", str(out)])
    assert shown.exit_code == 0 and "fidelity: not measured" in shown.output, shown.output


@pytest.mark.parametrize("name", ["test_Conv1d_stride", "test_operator_pad"])
def test_new_op_case_proves_and_verifies(name, tmp_path):
    """A 1-D convolution and a Pad, through compile, setup, prove and verify: the claim's
    dequantized output is the stored output (within the output grid's tolerance)."""
    case = BY_NAME[name]
    result, out = compile_case(case, tmp_path)
    assert result.exit_code == 0, result.output
    x = stored(case, "input_0.pb").astype(np.float64)
    np.savez(tmp_path / "input.npz", x=x[:1])
    runner = CliRunner()
    for args in (["setup", str(out)], ["prove", str(out), "-i", str(tmp_path / "input.npz"), "-o", str(tmp_path / "p.json")],
                 ["verify", str(tmp_path / "p.json"), "--bundle", str(out)]):
        r = runner.invoke(main, args)
        assert r.exit_code == 0, f"{args[0]}: {r.output}"
    claim = json.loads((tmp_path / "p.json").read_text())["claim"]
    got = np.asarray(claim["outputs"][0]["values"], np.float64).ravel()
    want = stored(case, "output_0.pb").astype(np.float64).reshape(x.shape[0], -1)[0]
    frac = json.loads((out / "manifest.json").read_text())["outputs"][0]["frac"]
    assert got.size == want.size and np.max(np.abs(got - want)) <= 16 * 2.0 ** -frac + 2.0 ** -8 * max(1, np.abs(want).max())
