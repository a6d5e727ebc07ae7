"""Fidelity of the fixed-point circuit against onnxruntime's float model on a data set."""

from __future__ import annotations

import numpy as np

from zkml.compiler.compile import Compiled, forward


def fidelity_report(c: Compiled, model_path, xs: np.ndarray, limit: int = 500) -> dict:
    """Max/mean absolute error and argmax agreement of the circuit's outputs vs float."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    in_meta = sess.get_inputs()[0]
    xs = np.asarray(xs, np.float64)[:limit]
    errs, agree = [], 0
    for x in xs:
        feed = x.reshape(c.input_shape).astype(np.float32)
        ref = np.asarray(sess.run(None, {in_meta.name: feed})[0], np.float64).ravel()
        got = forward(c, x)[0].ravel()
        if c.output_transforms:  # Softmax/ArgMax applied after the circuit: compare its logits by argmax only
            errs.append(0.0)
        else:
            errs.append(float(np.max(np.abs(ref - got))))
        agree += int(np.argmax(ref) == np.argmax(got))
    n = len(xs)
    return {"samples": n, "max_abs_error": max(errs) if errs else 0.0,
            "mean_abs_error": float(np.mean(errs)) if errs else 0.0,
            "argmax_agreement": agree / n if n else 1.0,
            "input_bits": c.input_bits, "frac_bits": c.config.frac_bits,
            "weight_bits": c.config.weight_bits,
            "max_value_bits": max((max(abs(s["lo"]), abs(s["hi"])).bit_length() + 1 for s in c.stats), default=0)}


def load_dataset(path) -> np.ndarray:
    """Samples from .npz (key 'x', 'input', 'calibration' or the only array) or JSON (list of samples)."""
    import json
    from pathlib import Path

    from zkml.errors import ZkmlError

    path = Path(path)
    try:
        if path.suffix == ".npz":
            data = np.load(path)
            key = next((k for k in ("x", "input", "calibration") if k in data), data.files[0] if len(data.files) == 1 else None)
            if key is None:
                raise ZkmlError(f"{path}: holds arrays {data.files}; name the samples 'x'")
            arr = data[key]
        else:
            arr = np.asarray(json.loads(path.read_text()), dtype=np.float64)
    except (OSError, ValueError) as e:
        raise ZkmlError(f"{path}: cannot read samples ({e})") from None
    if arr.size == 0 or not np.isfinite(np.asarray(arr, np.float64)).all():
        raise ZkmlError(f"{path}: samples must be non-empty and finite (no NaN or infinity)")
    return np.asarray(arr, np.float64)
