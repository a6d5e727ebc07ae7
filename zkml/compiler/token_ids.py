"""Token-id inputs: a graph input read only as the indices of embedding lookups (Gather of a
constant table). Such an input is checked against its tables before anything is built, naming
the position of the first bad id: an id must be an integer in [0, V) for each table of V rows
(the circuit's one-hot selection has no witness for any other value). Its calibrated range is
not enforced: any id the table holds is a valid input, whichever the calibration prompts held.
"""

from __future__ import annotations

import numpy as np

from zkml.errors import ZkmlError


def embedding_rows(graph, name: str) -> list[tuple[str, int]] | None:
    """[(Gather node, table rows)] when every use of input ``name`` (through Cast/Identity) is
    the indices of a Gather on axis 0 of a constant table; None when it has other uses."""
    names, found, seen = [name], [], set()
    while names:
        n = names.pop()
        if n in seen:
            continue
        seen.add(n)
        if n in graph.outputs:
            return None
        for node in graph.nodes:
            if n not in node.inputs:
                continue
            if node.op in ("Cast", "Identity"):
                names.append(node.outputs[0])
            elif (node.op == "Gather" and node.inputs[1:2] == [n] and node.inputs[0] in graph.constants
                  and node.inputs[0] != n and int(node.attrs.get("axis", 0)) % max(1, np.ndim(graph.constants[node.inputs[0]])) == 0):
                found.append((node.name, int(np.shape(graph.constants[node.inputs[0]])[0])))
            else:
                return None
    return found or None


def check_token_ids(graph, name: str, x: np.ndarray, what: str) -> bool:
    """Refuse ``x`` unless every element is an integer id inside each of its tables; False when
    ``name`` is not a token-id input (nothing checked), True when it is and x passed."""
    tables = embedding_rows(graph, name)
    if not tables:
        return False
    flat = np.asarray(x, np.float64).ravel()
    shape = tuple(graph.shapes.get(name) or np.shape(x))

    def at(i):
        pos = tuple(int(k) for k in np.unravel_index(i, shape)) if int(np.prod(shape)) == flat.size else (i,)
        return f"position {pos[-1] if len(pos) and all(k == 0 for k in pos[:-1]) else pos}"

    bad = np.flatnonzero(flat != np.round(flat))
    if bad.size:
        i = int(bad[0])
        raise ZkmlError(f"{what}: tensor '{name}' holds token ids, but {flat[i]:g} at {at(i)} is not an integer")
    for node, rows in tables:
        bad = np.flatnonzero((flat < 0) | (flat >= rows))
        if bad.size:
            i = int(bad[0])
            more = f" ({bad.size} ids are outside)" if bad.size > 1 else ""
            raise ZkmlError(f"{what}: token id {int(flat[i])} at {at(i)} is outside the embedding table's {rows} rows "
                            f"(ids 0..{rows - 1}; Gather node '{node}' on input '{name}'){more}")
    return True


def token_range(graph, name: str, shape, calibrated: dict | None) -> dict | None:
    """The manifest's input range for a token-id input: every position accepts the ids its
    smallest table holds (margin 0, ``token_ids`` rows), so `zkml prove` refuses a bad id by its
    position before loading anything; other inputs keep their calibrated range."""
    tables = embedding_rows(graph, name)
    if not tables:
        return calibrated
    rows = min(r for _, r in tables)
    n = int(np.prod(shape))
    return {"per": "element", "min": [0] * n, "max": [rows - 1] * n, "margin": 0.0,
            "samples": int((calibrated or {}).get("samples", 0)), "token_ids": rows}
