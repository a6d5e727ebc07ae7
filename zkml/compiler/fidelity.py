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
    nodes = node_errors(c, xs)
    if nodes is not None:
        report["nodes"] = nodes
    return report


NODE_SAMPLES = 20  # samples the per-node comparison runs (each runs the circuit's witness program once)


def node_errors(c: Compiled, xs: np.ndarray, limit: int = NODE_SAMPLES) -> dict | None:
    """Per node: the worst |circuit - onnxruntime| of its first output over the samples, and the
    float tensor's peak (for scale), so a user sees which layer loses accuracy. onnxruntime runs
    the normalised model with every node output exposed, as calibrated_fracs does; None when it
    cannot run it (no per-node report then)."""
    import onnx

    from zkml.compiler.compile import intermediates
    from zkml.onnx_import.oracle import float_oracle

    model = onnx.ModelProto()
    model.CopyFrom(c.graph.model)
    known = {o.name for o in model.graph.output}
    for node in c.graph.nodes:
        o = node.outputs[0] if node.outputs else ""
        if o and o not in known:
            model.graph.output.append(onnx.helper.make_tensor_value_info(o, onnx.TensorProto.FLOAT, None))
            known.add(o)
    xs = xs[:limit]
    if not len(xs):
        return None
    oracle, _ = float_oracle(model, xs[0], allow_reference=False, source=c.graph.source)
    if oracle is None:
        return None
    worst: dict = {}
    try:
        for x in xs:
            ref = dict(zip(oracle.output_names, oracle(x)))
            got = intermediates(c, x)
            for node in c.graph.nodes:
                o = node.outputs[0] if node.outputs else ""
                if o not in ref or o not in got or np.size(ref[o]) != np.size(got[o]):
                    continue
                r = np.asarray(ref[o], np.float64).ravel()
                g = np.asarray(got[o], np.float64).ravel()
                if not np.isfinite(r).all():
                    continue
                e = float(np.max(np.abs(r - g))) if r.size else 0.0
                p = float(np.max(np.abs(r))) if r.size else 0.0
                w = worst.setdefault(node.name, {"op": node.op, "output": o, "max_abs_error": 0.0, "float_peak": 0.0})
                w["max_abs_error"] = max(w["max_abs_error"], e)
                w["float_peak"] = max(w["float_peak"], p)
    except ZkmlError:  # a sample outside the circuit's range: the whole-model report says so
        return None
    except Exception:  # onnxruntime refusing a later sample: no per-node report
        return None
    for w in worst.values():
        w["samples"] = len(xs)
    return worst


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
