"""The float oracle: the normalised model (batch pinned, shapes inferred) that zkml compiles,
run in floating point, to measure the fixed-point circuit against.

onnxruntime runs it when it can. Old opsets it no longer implements (AveragePool(1), Gemm(6))
are first upgraded with onnx's version converter; a model neither runs is given to onnx's
reference evaluator. Whichever ran is named, so a report never passes one off as another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import onnx
from onnx import version_converter

ORT_TARGET_OPSETS = (11, 13, 17, 21)  # tried in order when onnxruntime refuses the model's opset


@dataclass
class FloatOracle:
    name: str  # "onnxruntime" | "onnx.reference"
    note: str  # how the model was run, when not as compiled by onnxruntime ("" otherwise)
    input_name: str
    input_dtype: np.dtype
    input_shape: tuple
    output_names: list
    _run: Callable

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        """Every graph output, as float64, for one sample of the input."""
        feed = np.asarray(x).reshape(self.input_shape).astype(self.input_dtype)
        return [np.asarray(v, np.float64) for v in self._run(feed)]


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    line = next((t.strip() for t in text if t.strip()), type(e).__name__)
    return line[:240]


def _opset(model: onnx.ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def _runtime_input(model: onnx.ModelProto):
    initializers = {t.name for t in model.graph.initializer}
    vi = next(i for i in model.graph.input if i.name not in initializers)
    dtype = onnx.helper.tensor_dtype_to_np_dtype(vi.type.tensor_type.elem_type)
    shape = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in vi.type.tensor_type.shape.dim)
    return vi.name, np.dtype(dtype), shape


def _ort_runner(model: onnx.ModelProto, input_name: str) -> Callable:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # opset and shape-merge warnings would flood the CLI's stderr
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return lambda feed: sess.run(None, {input_name: feed})


def _reference_runner(model: onnx.ModelProto, input_name: str) -> Callable:
    from onnx.reference import ReferenceEvaluator

    ev = ReferenceEvaluator(model)
    return lambda feed: ev.run(None, {input_name: feed})


def float_oracle(model: onnx.ModelProto, probe: np.ndarray, *, allow_reference: bool = True,
                 source: str = "the model") -> tuple[FloatOracle | None, str]:
    """The first of onnxruntime, onnxruntime after opset conversion, and (if allowed) onnx's
    reference evaluator that runs ``model`` on ``probe``; (None, why not) when none does."""
    import onnxruntime as ort

    ort.set_default_logger_severity(3)
    name, dtype, shape = _runtime_input(model)
    outputs = [o.name for o in model.graph.output]
    failures: dict[str, str] = {}  # what was tried -> its first error line (the last one per kind)

    def attempt(kind: str, label: str, note: str, make: Callable, m: onnx.ModelProto) -> FloatOracle | None:
        try:
            oracle = FloatOracle(kind, note, name, dtype, shape, outputs, make(m, name))
            oracle(probe)
            return oracle
        except Exception as e:  # a third-party runtime refusing the model is a finding, not a crash
            failures[label] = _first_line(e)
            return None

    found = attempt("onnxruntime", "onnxruntime", "", _ort_runner, model)
    if found:
        return found, ""
    opset = _opset(model)
    upgraded: list[tuple[int, onnx.ModelProto]] = []
    for target in (t for t in ORT_TARGET_OPSETS if t > opset):
        try:
            upgraded.append((target, version_converter.convert_version(model, target)))
        except Exception as e:
            failures["onnx.version_converter"] = f"to opset {target}: {_first_line(e)}"
            continue
        note = f"opset {opset} upgraded to {target} by onnx.version_converter"
        found = attempt("onnxruntime", "onnxruntime after onnx.version_converter", note, _ort_runner, upgraded[-1][1])
        if found:
            return found, ""
    if allow_reference:
        why = f"onnxruntime cannot run {source} ({failures['onnxruntime']}"
        why += f", nor after upgrading it to opset {upgraded[-1][0]})" if upgraded else ")"
        for target, m in [(opset, model)] + upgraded[-1:]:
            note = why if target == opset else f"{why}; run at opset {target} after onnx.version_converter"
            found = attempt("onnx.reference", "onnx.reference", note, _reference_runner, m)
            if found:
                return found, ""
    return None, f"no float oracle runs {source}: " + "; ".join(f"{k}: {v}" for k, v in failures.items())
