"""Fidelity of the fixed-point circuit against the float model it was compiled from.

The float side runs the normalised, batch-pinned model that the compiler read (not the file on
disk, whose batch or opset a runtime may refuse), through ``zkml.onnx_import.oracle``; the report
names the oracle that ran, or says why none could.
"""

from __future__ import annotations

import numpy as np

from zkml.compiler.compile import Compiled, forward
from zkml.errors import ZkmlError


def samples(c: Compiled, xs: np.ndarray) -> np.ndarray:
    """Data rows as samples of the compiled input shape: a stored batch (N, ...) becomes N
    samples, a lone unbatched sample one."""
    xs = np.asarray(xs, np.float64)
    n = int(np.prod(c.input_shape))
    return xs.reshape((-1,) + tuple(c.input_shape)) if n and xs.size % n == 0 else xs


def fidelity_report(c: Compiled, xs: np.ndarray, limit: int = 500) -> dict:
    """Max/mean absolute error and argmax agreement of the circuit's outputs vs the float
    oracle; with no oracle, the report holds ``"oracle": None`` and the reason."""
    from zkml.onnx_import.oracle import float_oracle  # onnx only when a report is made

    xs = samples(c, xs)[:limit]
    base = {"input_bits": c.input_bits, "frac_bits": c.config.frac_bits, "weight_bits": c.config.weight_bits,
            "max_value_bits": max((max(abs(s["lo"]), abs(s["hi"])).bit_length() + 1 for s in c.stats), default=0)}
    oracle, reason = (None, "no samples") if not len(xs) else float_oracle(c.graph.model, xs[0], source=c.graph.source)
    if oracle is None:
        return {"oracle": None, "reason": reason, "samples": 0, "max_abs_error": None,
                "mean_abs_error": None, "argmax_agreement": None, **base}
    errs, agree = [], 0
    for x in xs:
        ref = oracle(x)[0].ravel()
        got = forward(c, x)[0].ravel()
        if ref.size != got.size:
            raise ZkmlError(f"{c.graph.source}: output '{c.graph.outputs[0]}' has {got.size} values in the circuit but "
                            f"{ref.size} in the float model ({oracle.name}); zkml compiled it wrongly, please report it")
        if any(k != "_approximations" for k in c.output_transforms):  # ArgMax applied after the circuit: argmax only
            errs.append(0.0)
        else:
            errs.append(float(np.max(np.abs(ref - got))) if ref.size else 0.0)
        agree += int(ref.size == 0 or np.argmax(ref) == np.argmax(got))
    n = len(xs)
    report = {"oracle": oracle.name, "samples": n, "max_abs_error": max(errs),
              "mean_abs_error": float(np.mean(errs)), "argmax_agreement": agree / n, **base}
    if oracle.note:
        report["oracle_note"] = oracle.note
    return report


def summary(report: dict) -> str:
    """The report in a few words, for the compile line and ``zkml inspect``."""
    if report.get("argmax_agreement") is None:
        return f"fidelity not measured ({report.get('reason') or 'no float oracle'})"
    by = f" ({report['oracle']})" if report.get("oracle", "onnxruntime") != "onnxruntime" else ""
    return (f"argmax agreement {report['argmax_agreement']:.1%}, max |error| {report['max_abs_error']:.4g} "
            f"over {report['samples']} samples{by}")


def notice(report: dict) -> str | None:
    """A warning line when the float side was not onnxruntime on the model as compiled."""
    if report.get("oracle") is None:
        return f"warning: {summary(report)}; the bundle was written without a fidelity measurement"
    if report.get("oracle_note"):
        return f"note: fidelity measured with {report['oracle']}: {report['oracle_note']}"
    return None
