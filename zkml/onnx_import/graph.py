"""The compiler's view of a model: nodes in topological order, constant tensors, and the
shapes of every value (batch pinned to 1)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Node:
    op: str
    name: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict = field(default_factory=dict)
    domain: str = ""


@dataclass
class Graph:
    nodes: list[Node]
    constants: dict[str, np.ndarray]
    inputs: list[str]  # runtime inputs (not constants)
    outputs: list[str]
    shapes: dict[str, tuple[int, ...]]
    opset: int = 0
    source: str = ""
    model: object = None  # the normalised onnx.ModelProto (batch pinned, shapes inferred): what the float oracle runs

    def producers(self) -> dict[str, Node]:
        return {o: n for n in self.nodes for o in n.outputs}
