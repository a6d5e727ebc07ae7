"""The size of a model's circuit, estimated from shapes alone before anything is built, so a
model too large for this machine is refused in seconds (naming its largest nodes) instead of
being killed for memory half-way through compiling.

Per node, from its output shape and weights: linear terms (multiply-adds of layers with
constant weights; they cost no constraints) and constraints: a rescale costs about
``RESCALE`` per element (its remainder's range check), a ReLU/max/comparison about ``RANGE``
(a range check as wide as the values' bounds, which interval analysis makes wide), a product of
two activations one more. The figures are upper-end typical values, not bounds: the compiler
still checks the real sizes as it builds. Memory counts those and the R1CS terms of products of
two activations (attention: they grow as the square of the sequence); past ``MAX_MEMORY`` a
compile is refused too, with the attention's sequence named when that is what grows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from zkml.errors import ZkmlError

RESCALE = 18  # constraints per rescaled element (16 remainder bits + recomposition + the relation)
RANGE = 42  # constraints per ReLU / max / comparison (a ~40-bit range check + the product)
MAX_CONSTRAINTS = 1 << 24  # the largest powers of tau `zkml groth16 ptau-new` makes (and setup takes)
MAX_TERMS = 60_000_000  # linear terms in all: past this, compiling needs more memory than 23 GB machines have
# Compile-time memory (wires, bits, LC terms, R1CS). Checked against bench/shapes.py's models: cifar_cnn
# estimated ~1.19M constraints and 0.8 GiB (real: 755k constraints, 0.63 GB peak RSS), mlp_4m ~307k
# and 0.6 GiB (real: 231k, 0.78 GB): constraints are over-estimated 1.3-1.6x, memory within 30%.
BYTES_PER_CONSTRAINT = 600
DIVIDE = 2 * RANGE  # a division between two tensors: quotient and remainder range checks
BYTES_PER_TERM = 80
# Products of two activations (attention's scores and weighted values) and softmax divisions put whole
# linear combinations into each constraint's A and B: R1CS terms the counts above miss. Checked on
# one attention layer (width 16): at 128 positions ~14.7M such terms estimated (13.6M R1CS terms in
# all, 1.6 GB peak), at 256 ~59M (3.0 GB of R1CS file, 12.4 GB peak): over-estimated, as meant.
PRODUCT_FANIN = 24  # A's and B's terms per product (projections of a width-16..32 input)
BYTES_PER_WIDE_TERM = 150


def _memory_cap() -> int:
    """Estimated compile memory refused past this: 70% of this machine's RAM (16 GiB if unknown)."""
    import os

    try:
        return int(0.7 * os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 16 << 30


MAX_MEMORY = _memory_cap()


@dataclass
class Estimate:
    constraints: int = 0
    terms: int = 0
    nodes: list = field(default_factory=list)  # (constraints, terms, name, op)
    wide: int = 0  # R1CS terms of products of linear combinations (see PRODUCT_FANIN)
    wide_nodes: dict = field(default_factory=dict)  # node name -> its wide terms

    @property
    def memory(self) -> int:
        return self.constraints * BYTES_PER_CONSTRAINT + self.terms * BYTES_PER_TERM + self.wide * BYTES_PER_WIDE_TERM

    def summary(self) -> str:
        return (f"~{self.constraints:,} constraints, ~{self.terms:,} linear terms, "
                f"~{self.memory / 2**30:.1f} GiB to compile")

    def largest(self, k: int = 3) -> str:
        top = sorted(self.nodes, key=lambda n: -(n[0] * BYTES_PER_CONSTRAINT + n[1] * BYTES_PER_TERM
                                                  + self.wide_nodes.get(n[2], 0) * BYTES_PER_WIDE_TERM))[:k]
        return ", ".join(f"'{name}' ({op}) ~{c:,} constraints, ~{t:,} terms" for c, t, name, op in top)


def _size(shape) -> int:
    return int(np.prod(shape)) if shape is not None else 0


def node_cost(graph, node, shape_of) -> tuple[int, int]:
    """(constraints, linear terms) of one node, from shapes."""
    op, a = node.op, node.attrs
    out = _size(shape_of(node.outputs[0]))
    ins = [shape_of(i) for i in node.inputs if i]
    first = _size(ins[0]) if ins else 0
    runtime = [i for i in node.inputs if i and i not in graph.constants]
    if op in ("Conv", "ConvTranspose"):
        w = shape_of(node.inputs[1]) or ()
        per = _size(w[1:]) if op == "Conv" else _size(w[1:])
        terms = (out if op == "Conv" else first) * per
        return out * RESCALE, terms
    if op in ("Gemm", "MatMul", "Einsum"):
        w = [s for i, s in zip([i for i in node.inputs if i], ins) if i in graph.constants]
        k = max((s[-2] if len(s) >= 2 else s[0]) for s in ins) if ins and all(len(s) for s in ins) else 1
        if op in ("MatMul", "Gemm") and ins and len(ins[0]):  # the contraction: A's last dim (Gemm: or transA's)
            k = ins[0][-2] if op == "Gemm" and a.get("transA") and len(ins[0]) >= 2 else ins[0][-1]
        if len(runtime) >= 2:  # products of two activations
            return out * k + out * RESCALE, out * k
        return out * RESCALE, out * (k if w else 1)
    if op in ("Relu", "Clip", "LeakyRelu", "PRelu", "Abs", "Max", "Min", "Sign", "Greater", "Less", "GreaterOrEqual",
              "LessOrEqual"):
        return out * RANGE * (2 if op in ("Clip", "Sign") else 1) + out * RESCALE * (op in ("LeakyRelu", "PRelu")), out
    if op == "MaxPool":
        k = _size(a.get("kernel_shape", [1]))
        return out * max(k - 1, 0) * RANGE, out * k
    if op in ("GlobalMaxPool", "ReduceMax", "ReduceMin"):
        return first * RANGE, first
    if op in ("AveragePool", "GlobalAveragePool", "ReduceMean", "Mean", "BatchNormalization", "ReduceSum", "Sum"):
        return out * RESCALE, max(first, out) * (_size(a.get("kernel_shape", [1])) if op == "AveragePool" else 1)
    if op == "Div" and len(runtime) >= 2:
        return out * DIVIDE, out
    if op in ("Mul", "Div", "Add", "Sub", "And", "Or", "Where"):
        return out * (1 + RESCALE) if len(runtime) >= 2 or op in ("Mul", "Div") else 0, out
    if op in ("Sigmoid", "Tanh"):
        return out * 33 * RANGE, out * 33
    if op == "Gather" and node.inputs[0] in graph.constants:
        v = shape_of(node.inputs[0]) or (1,)
        return _size(ins[1]) * (v[0] + 2), out * v[0]
    if op == "Equal":
        return out * 2, out
    if op in ("Exp", "Log", "Erf", "Gelu", "Softplus", "Elu", "Celu", "Selu", "Mish", "HardSigmoid", "HardSwish"):
        return out * (2 * RANGE + RESCALE), out  # clamps, the grid's rescale, the lookup, a ReLU part
    if op in ("Reciprocal", "Softsign", "Sqrt", "Pow"):
        return out * 3 * RANGE, out  # a product and three range checks (division / square root)
    if op in ("Softmax", "LogSoftmax"):
        return out * (4 * RANGE + RESCALE), out  # the row max, exp, the division
    if op in ("LayerNormalization", "InstanceNormalization"):
        return out * (4 * RANGE + 2 * RESCALE), out  # the square, the division, the affine rescale
    return 0, out  # shape ops: gathers of linear combinations


def _wide_terms(graph, node, shape_of) -> int:
    """R1CS terms of a node whose constraints hold whole linear combinations: a product of two
    activations (PRODUCT_FANIN per product), a softmax (each division holds its row's sum)."""
    runtime = [i for i in node.inputs if i and i not in graph.constants]
    try:
        if node.op in ("MatMul", "Einsum") and len(runtime) >= 2:
            a = shape_of(runtime[0]) or (1,)
            return _size(shape_of(node.outputs[0])) * int(a[-1]) * PRODUCT_FANIN
        if node.op in ("Softmax", "LogSoftmax"):
            x = shape_of(node.inputs[0]) or (1,)
            return _size(x) * int(x[-1])
    except (TypeError, IndexError):
        return 0
    return 0


def estimate_graph(graph) -> Estimate:
    """The circuit's estimated size; nodes whose inputs are all constants are not counted."""
    def shape_of(name):
        if name in graph.constants:
            return tuple(np.shape(graph.constants[name]))
        return graph.shapes.get(name)

    est = Estimate()
    for node in graph.nodes:
        if not any(i and i not in graph.constants for i in node.inputs):
            continue
        try:
            c, t = node_cost(graph, node, shape_of)
        except Exception:  # a node this table cannot read: count its outputs as gathers
            c, t = 0, _size(shape_of(node.outputs[0]))
        est.constraints += int(c)
        est.terms += int(t)
        est.nodes.append((int(c), int(t), node.name, node.op))
        w = _wide_terms(graph, node, shape_of)
        if w:
            est.wide += w
            est.wide_nodes[node.name] = w
    return est


def check_size(graph, input_elements: int = 0, input_bits: int = 32) -> Estimate:
    """Refuse (ZkmlError naming the estimate and the largest nodes) a graph past the limits."""
    est = estimate_graph(graph)
    est.constraints += input_elements * input_bits
    if est.constraints > MAX_CONSTRAINTS or est.terms > MAX_TERMS or est.memory > MAX_MEMORY:
        what = (f"more than the 2^24 = {MAX_CONSTRAINTS:,} constraints setup supports" if est.constraints > MAX_CONSTRAINTS
                else f"more than the {MAX_TERMS:,} linear terms a compile on this machine can hold" if est.terms > MAX_TERMS
                else f"more than the {MAX_MEMORY / 2**30:.1f} GiB (70% of this machine's memory) a compile may use")
        raise ZkmlError(f"{graph.source}: the circuit would need {est.summary()}, {what}; largest nodes: "
                        f"{est.largest()}{_attention_note(graph)}; use a smaller input or model")
    return est


def _attention_note(graph) -> str:
    """' (attention over N positions: ...)' when the graph has a softmax over products of two
    activations, whose cost grows as the square of the sequence."""
    runtime = lambda n: [i for i in n.inputs if i and i not in graph.constants]  # noqa: E731
    scores = [n for n in graph.nodes if n.op in ("MatMul", "Einsum") and len(runtime(n)) >= 2]
    soft = [n for n in graph.nodes if n.op in ("Softmax", "LogSoftmax")]
    if not scores or not soft:
        return ""
    shape = graph.shapes.get(soft[0].inputs[0]) or ()
    if len(shape) < 2:
        return ""
    n, heads = int(shape[-1]), int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    per = sum(_size(graph.shapes.get(m.outputs[0])) * int((graph.shapes.get(runtime(m)[0]) or (1,))[-1]) for m in scores)
    return (f" (attention over a sequence of {n} positions: {len(soft)} softmax(es) of {heads} x {n} x {n} scores, "
            f"{per:,} products of two activations, growing as the square of the sequence: shorten it)")
