"""Loading and normalising ONNX models for the compiler."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference

from zkml.errors import ZkmlError
from zkml.onnx_import.graph import Graph, Node

# Ops that only compute shapes or constants: folded away when their inputs are constant. Any
# deterministic ai.onnx op whose inputs are all constants is folded (weights transformed by
# Transpose, Pow, Sqrt...; masks built by Range, Trilu, Where); the random generators are not.
FOLDABLE = {"Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Reshape", "Constant", "Cast",
            "Slice", "Mul", "Add", "Sub", "Div", "Identity", "ConstantOfShape", "Range",
            "Transpose", "Flatten", "ReduceProd", "Equal", "Where", "Expand"}
NOT_FOLDABLE = {"RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial",
                "Bernoulli", "Dropout"}
# Ops reading only the static shape of their input: folded when that shape is fully known.
SHAPE_ONLY = {"Shape", "Size"}


class UnsupportedModel(ZkmlError):
    pass


def _node_names(nodes) -> list[str]:
    """A distinct name per node: its own, or op_index when it has none; a repeated name gets
    #2, #3... Messages, per-node statistics and committed weights (by node name) rely on it."""
    names, seen = [], set()
    for i, n in enumerate(nodes):
        base = n.name or f"{n.op_type}_{i}"
        name, k = base, 1
        while name in seen:
            k += 1
            name = f"{base}#{k}"
        seen.add(name)
        names.append(name)
    return names


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def load_model(path, supported: set[str] | None, reasons: dict[str, str] | None = None) -> Graph:
    """Read, check and normalise ``path``; raise one error listing every unsupported node (with
    ``reasons[op]`` where one is known; ``supported=None`` lists none: the graph as it is)."""
    path = Path(path)
    try:
        model = onnx.load(str(path), load_external_data=True)
    except FileNotFoundError as e:
        raise ZkmlError(f"{path}: file not found ({e.filename})") from None
    except Exception as e:  # onnx raises DecodeError and others for corrupt files
        raise ZkmlError(f"{path}: not a readable ONNX model ({type(e).__name__}: {e})") from None
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as e:
        first = str(e).strip().splitlines()[0]
        raise ZkmlError(f"{path}: the ONNX checker rejects the model: {first}") from None
    _pin_batch(model)
    try:
        model = shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    except Exception as e:
        raise ZkmlError(f"{path}: shape inference failed: {str(e).splitlines()[0]}") from None
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)

    g = model.graph
    constants = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    inputs = [i.name for i in g.input if i.name not in constants]
    shapes: dict[str, tuple] = {}
    dynamic: dict[str, list] = {}  # tensor -> the dimensions shape inference could not pin
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        dims = vi.type.tensor_type.shape.dim
        shapes[vi.name] = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in dims)
        unknown = [i for i, d in enumerate(dims) if not d.HasField("dim_value")]
        if unknown or not vi.type.tensor_type.HasField("shape"):
            dynamic[vi.name] = unknown or ["rank"]
    nodes = [Node(n.op_type, name, list(n.input), list(n.output), _attrs(n), n.domain)
             for n, name in zip(g.node, _node_names(g.node))]
    graph = Graph(nodes, constants, inputs, [o.name for o in g.output], shapes, opset, str(path), model)
    _fold_constants(graph, dynamic)
    if supported is not None:
        _report_unsupported(graph, supported, reasons or {})
    return graph


_ELEMENTWISE = frozenset({"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Where", "Equal", "Less",
                          "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "PRelu"})


def _pin_batch(model: onnx.ModelProto) -> None:
    """The batch becomes 1: zkml proves one sample at a time. Symbolic input dimensions and a
    fixed leading batch dimension of the inputs are set to 1; stale intermediate and output
    shapes are dropped so shape inference recomputes them."""
    initializers = {t.name for t in model.graph.initializer}
    # a constant of the input's rank with the same fixed leading dimension (an elementwise
    # operand the size of the whole input) says that dimension is data, not a batch
    dims_of = {t.name: list(t.dims) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    dims_of[node.output[0]] = list(a.t.dims)
    const_heads = {(len(dims_of[i]), int(dims_of[i][0])) for node in model.graph.node if node.op_type in _ELEMENTWISE
                   for i in node.input if i in dims_of and len(dims_of[i])}
    for vi in model.graph.input:
        if vi.name in initializers:
            continue
        dims = vi.type.tensor_type.shape.dim
        for i, d in enumerate(dims):
            fixed_batch = i == 0 and len(dims) > 1 and d.HasField("dim_value") and d.dim_value > 1
            if fixed_batch and (len(dims), int(d.dim_value)) in const_heads:
                continue
            if not d.HasField("dim_value") or fixed_batch:
                d.dim_value = 1
    del model.graph.value_info[:]
    for vi in model.graph.output:
        vi.type.tensor_type.ClearField("shape")


def _fold_constants(graph: Graph, dynamic: dict | None = None) -> None:
    """Evaluate nodes whose inputs are all constants with onnx's reference evaluator; Shape and
    Size of a tensor whose shape inference pinned every dimension become constants too."""
    from onnx.reference import ReferenceEvaluator

    dynamic = dynamic or {}
    kept = []
    for node in graph.nodes:
        ins = [i for i in node.inputs if i]
        if node.op in SHAPE_ONLY and node.domain in ("", "ai.onnx") and ins and ins[0] not in graph.constants:
            if ins[0] in dynamic or ins[0] not in graph.shapes:
                dims = dynamic.get(ins[0], ["rank"])
                raise ZkmlError(f"{graph.source}: node '{node.name}' ({node.op}) reads the shape of '{ins[0]}', whose "
                                f"dimension(s) {', '.join(map(str, dims))} shape inference cannot pin; export the "
                                "model with static shapes (a fixed sequence length, batch 1)")
            shape = np.array(graph.shapes[ins[0]], np.int64)
            if node.op == "Size":
                value = np.array(int(np.prod(shape)), np.int64)
            else:
                start, end = node.attrs.get("start", 0), node.attrs.get("end", len(shape))
                value = shape[start:end]
            graph.constants[node.outputs[0]] = value
            graph.shapes[node.outputs[0]] = tuple(value.shape)
            continue
        foldable = node.op in FOLDABLE or (node.domain in ("", "ai.onnx") and node.op not in NOT_FOLDABLE)
        if node.op == "Constant" or (foldable and ins and all(i in graph.constants for i in ins)):
            proto = onnx.helper.make_node(node.op, node.inputs, node.outputs, domain=node.domain, **node.attrs)
            feeds = [onnx.helper.make_tensor_value_info(i, onnx.helper.np_dtype_to_tensor_dtype(graph.constants[i].dtype), graph.constants[i].shape) for i in ins]
            outs = [onnx.helper.make_tensor_value_info(o, onnx.TensorProto.UNDEFINED, None) for o in node.outputs]
            m = onnx.helper.make_model(onnx.helper.make_graph([proto], "fold", feeds, outs),
                                       opset_imports=[onnx.helper.make_opsetid("", graph.opset or 17)])
            try:
                results = ReferenceEvaluator(m).run(None, {i: graph.constants[i] for i in ins})
            except Exception as e:  # the evaluator's own refusal of this node, not a zkml bug
                shapes = ", ".join(f"{i} {tuple(graph.constants[i].shape)}" for i in ins)
                raise ZkmlError(f"{graph.source}: cannot fold constant node '{node.name}' ({node.op}, inputs {shapes}): "
                                f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}") from None
            for o, r in zip(node.outputs, results):
                graph.constants[o] = np.asarray(r)
                graph.shapes[o] = tuple(np.asarray(r).shape)
        else:
            kept.append(node)
    graph.nodes = kept


def _report_unsupported(graph: Graph, supported: set[str], reasons: dict[str, str]) -> None:
    bad = [n for n in graph.nodes if n.op not in supported or n.domain not in ("", "ai.onnx")]
    if bad:
        def why(n):
            return f": {reasons[n.op]}" if n.op in reasons and n.domain in ("", "ai.onnx") else ""
        listed = "; ".join(f"{n.op} (domain '{n.domain or 'ai.onnx'}', opset {graph.opset}) at node '{n.name}'{why(n)}"
                           for n in bad)
        raise UnsupportedModel(
            f"{graph.source}: {len(bad)} unsupported node(s): {listed}. Supported ops: {', '.join(sorted(supported))}"
        )
