"""The prover's part of a committed-weights bundle: ``private/weights.npz``.

With ``--weights committed`` a bundle splits in two. What a verifier needs (manifest, R1CS,
keys, and the architecture: model.onnx and program.npz with the committed weights zeroed) is
published; the quantized weights and the commitment's salt stay with the owner in
``private/weights.npz`` (not listed in the manifest's file hashes: publish the bundle without
its ``private/`` folder). The file says which commitment it opens; reading it recomputes that
commitment from its integers and salt, and a file that does not open the bundle's commitment
is refused, named.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from zkml.compiler.committed_weights import WeightSet, WeightsMismatch
from zkml.errors import FormatError

PRIVATE_DIR = "private"
WEIGHTS_FILE = "private/weights.npz"
VERSION = 1


def commitment_hex(value: int) -> str:
    """The commitment as 64 hex digits: how the manifest, claims and model ids carry it."""
    return f"{int(value):064x}"


def write_weights(path: Path, ws: WeightSet, commitment: int) -> None:
    from zkml.formats.atomic import OutputSet

    keys = list(ws.tensors)
    arrays = {f"t{i}": np.asarray(ws.tensors[k], np.int64) for i, k in enumerate(keys)}
    meta = {"version": VERSION, "keys": keys, "scales": ws.scales, "salt": str(ws.salt),
            "commitment": commitment_hex(commitment)}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with OutputSet() as outs:  # written whole or not at all
        with open(outs.stage(path), "wb") as f:
            np.savez(f, meta=np.array(json.dumps(meta)), **arrays)


def read_weights(path: Path, weight_bits: int, expected: str | None = None, where: str | None = None) -> WeightSet:
    """The weight set in ``path``, after checking that its integers and salt give the
    commitment it names and (``expected``, hex) the bundle's."""
    path = Path(path)
    where = where or str(path)
    if not path.is_file():
        raise FormatError(f"{where}: no weights file; the prover of a --weights committed bundle needs the "
                          "private weights file written by `zkml compile` (pass --weights FILE)")
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            tensors = {str(k): np.asarray(z[f"t{i}"], np.int64) for i, k in enumerate(meta["keys"])}
        scales = {str(k): {"frac": int(v["frac"]), "bias_bits": int(v["bias_bits"])} for k, v in meta["scales"].items()}
        salt, claimed = int(meta["salt"]), str(meta["commitment"])
        if int(meta["version"]) != VERSION:
            raise ValueError(f"version {meta['version']}")
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise FormatError(f"{where}: not a zkml weights file ({type(e).__name__}: {e})") from None
    ws = WeightSet(tensors, scales, salt)
    for node in scales:
        if f"{node}/w" not in tensors or f"{node}/b" not in tensors:
            raise FormatError(f"{where}: node '{node}' has scales but no weights")
    got = commitment_hex(ws.commitment(weight_bits))
    if got != claimed:
        raise WeightsMismatch(f"{where}: its weights and salt commit to {got[:16]}…, the file says {claimed[:16]}…: "
                              "the file was edited; use the weights file `zkml compile` wrote")
    if expected is not None and got != expected:
        raise WeightsMismatch(f"{where}: its weights commit to {got[:16]}…, the bundle's weights commitment is "
                              f"{expected[:16]}…: these are other weights than the bundle was compiled with")
    return ws


def strip_weights(model, names: set):
    """A copy of the ONNX model with the initializers ``names`` zero-filled (the architecture)."""
    import onnx
    from onnx import numpy_helper

    out = onnx.ModelProto()
    out.CopyFrom(model)
    for t in out.graph.initializer:
        if t.name in names:
            arr = numpy_helper.to_array(t)
            t.CopyFrom(numpy_helper.from_array(np.zeros_like(arr), t.name))
    return out


def committed_constants(graph) -> set:
    """Names of the constants the committed-weights circuit takes from the weights file."""
    from zkml.compiler.committed_weights import COMMITTED_OPS

    names = set()
    for n in graph.nodes:
        if n.op in COMMITTED_OPS:
            names.update(i for i in n.inputs[1:] if i and i in graph.constants)
    return names
