"""The normalised graph stored in the bundle, so ``prove`` never imports onnx.

Compiling loads the ONNX file once (checker, shape inference, constant folding: about a second
of imports and work); the result, a ``Graph`` of nodes, constants and shapes, is what witness
generation needs. It is written as program.json (nodes with their attributes, inputs, outputs,
shapes, opset) and program.npz (the constants, keyed by position), both hashed in the manifest.
A graph whose attributes have no JSON form (a tensor or subgraph attribute that constant folding
left in place) is not stored and that bundle falls back to its model.onnx.
"""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import numpy as np

from zkml.errors import FormatError
from zkml.onnx_import.graph import Graph, Node

PROGRAM_JSON = "program.json"
PROGRAM_NPZ = "program.npz"
PROGRAM_VERSION = 1


class NotStorable(Exception):
    """The graph holds something program.json cannot say exactly."""


def _attr_json(v):
    if isinstance(v, bool) or v is None:
        raise NotStorable(f"attribute value {v!r}")
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if not math.isfinite(v):
            raise NotStorable("a non-finite float attribute")
        return v
    if isinstance(v, bytes):
        return {"bytes": base64.b64encode(v).decode()}
    if isinstance(v, (list, tuple)):
        return [_attr_json(x) for x in v]
    raise NotStorable(f"an attribute of type {type(v).__name__}")


def _attr_value(v, where: str):
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v
    if isinstance(v, list):
        return [_attr_value(x, where) for x in v]
    if isinstance(v, dict) and set(v) == {"bytes"} and isinstance(v["bytes"], str):
        try:
            return base64.b64decode(v["bytes"], validate=True)
        except ValueError:
            pass
    raise FormatError(f"{where}: an attribute value of an unexpected form; recompile the bundle")


def program_files(graph: Graph, folder: Path) -> list[str]:
    """Write program.json and program.npz for ``graph`` into ``folder``; the names written, or
    none when the graph cannot be stored exactly (prove then reads model.onnx)."""
    try:
        nodes = [{"op": n.op, "name": n.name, "inputs": list(n.inputs), "outputs": list(n.outputs),
                  "domain": n.domain, "attrs": {k: _attr_json(v) for k, v in n.attrs.items()}}
                 for n in graph.nodes]
        names = list(graph.constants)
        arrays = {f"c{i}": np.asarray(graph.constants[k]) for i, k in enumerate(names)}
        if any(a.dtype.hasobject for a in arrays.values()):
            raise NotStorable("a constant of object dtype")
    except NotStorable:
        return []
    doc = {"version": PROGRAM_VERSION, "source": graph.source, "opset": graph.opset,
           "inputs": list(graph.inputs), "outputs": list(graph.outputs), "nodes": nodes,
           "constants": names, "shapes": {k: [int(d) for d in s] for k, s in graph.shapes.items()}}
    (folder / PROGRAM_JSON).write_text(json.dumps(doc, allow_nan=False, separators=(",", ":")) + "\n")
    with open(folder / PROGRAM_NPZ, "wb") as f:
        np.savez(f, **arrays)
    return [PROGRAM_JSON, PROGRAM_NPZ]


def read_program(json_path: Path, npz_path: Path) -> Graph:
    """The Graph a bundle's program files hold (already checked against the manifest's hashes)."""
    from zkml.formats.jsonfile import read_json

    doc = read_json(json_path)
    where = str(json_path)
    try:
        if doc["version"] != PROGRAM_VERSION:
            raise FormatError(f"{where}: program version {doc['version']!r} is not supported; recompile the bundle")
        nodes = [Node(str(n["op"]), str(n["name"]), [str(i) for i in n["inputs"]], [str(o) for o in n["outputs"]],
                      {str(k): _attr_value(v, f"{where}: node '{n['name']}'") for k, v in n["attrs"].items()},
                      str(n["domain"]))
                 for n in doc["nodes"]]
        names = [str(k) for k in doc["constants"]]
        shapes = {str(k): tuple(int(d) for d in s) for k, s in doc["shapes"].items()}
        inputs, outputs = [str(i) for i in doc["inputs"]], [str(o) for o in doc["outputs"]]
        opset, source = int(doc["opset"]), str(doc["source"])
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise FormatError(f"{where}: not a zkml program ({type(e).__name__}: {e}); recompile the bundle") from None
    try:
        with np.load(npz_path, allow_pickle=False) as z:
            constants = {k: z[f"c{i}"] for i, k in enumerate(names)}
    except (OSError, ValueError, KeyError) as e:
        raise FormatError(f"{npz_path}: unreadable program constants ({e}); recompile the bundle") from None
    return Graph(nodes, constants, inputs, outputs, shapes, opset, source, None)
