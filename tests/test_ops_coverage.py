"""The ops added for ONNX coverage (linear, shape, comparisons, contractions between activations,
embedding lookups), each on a tiny model built with onnx.helper: the circuit's output against
onnxruntime within the fixed-point tolerance, and for every op that adds constraints a mutated
witness that the R1CS must reject. With lookups off, table ops are refused, naming the node."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from zkml.circuit.builder import CircuitBuilder, Signal
from zkml.circuit.gadgets.compare import is_zero, sign_bit
from zkml.compiler.compile import compile_model, forward, witness
from zkml.crypto.bn254 import R
from zkml.errors import UnsatisfiedWitness, ZkmlError

F = TensorProto.FLOAT


def init(name, a, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(a, dtype), name)


def model(tmp_path, name, nodes, in_shape, outputs, inits=(), in_type=F, opset=17):
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", in_type, in_shape)],
                          [helper.make_tensor_value_info(o, F, None) for o in outputs], list(inits))
    m = onnx.shape_inference.infer_shapes(helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)]))
    onnx.checker.check_model(m)  # inference gave the outputs their shapes, which the checker wants
    path = tmp_path / f"{name}.onnx"
    onnx.save(m, path)
    return path


def rng_inputs(shape, n=12, seed=0, lo=-2.0, hi=2.0):
    return np.random.default_rng(seed).uniform(lo, hi, (n,) + tuple(shape))


def node(op, ins, outs, **kw):
    return helper.make_node(op, ins, outs, name=f"{op.lower()}_{outs[0]}", **kw)


def ints(name, v):
    return init(name, v, np.int64)


W = np.random.default_rng(1).standard_normal((64,)).astype(np.float32)

# name -> (nodes, input shape, outputs, initializers, adds constraints)
CASES = {
    "conv1d": ([node("Conv", ["x", "w", "b"], ["y"], pads=[1, 2], strides=[2], dilations=[2], group=2)],
               (1, 4, 9), ["y"], [init("w", W[:24].reshape(6, 2, 2)), init("b", W[24:30])], True),
    "conv3d_same": ([node("Conv", ["x", "w"], ["y"], auto_pad="SAME_UPPER", strides=[1, 2, 1])],
                    (1, 2, 3, 4, 3), ["y"], [init("w", W[:48].reshape(3, 2, 2, 2, 2))], True),
    "convtranspose1d": ([node("ConvTranspose", ["x", "w", "b"], ["y"], strides=[2], pads=[1, 0],
                              output_padding=[1])],
                        (1, 3, 5), ["y"], [init("w", W[:18].reshape(3, 2, 3)), init("b", W[20:22])], True),
    "convtranspose2d_groups": ([node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 1], group=2, dilations=[1, 2])],
                               (1, 2, 3, 3), ["y"], [init("w", W[:16].reshape(2, 2, 2, 2))], True),
    "maxpool1d_ceil": ([node("MaxPool", ["x"], ["y"], kernel_shape=[3], strides=[2], ceil_mode=1, pads=[1, 0])],
                       (1, 2, 8), ["y"], [], True),
    "maxpool3d": ([node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2, 2], strides=[1, 2, 2])],
                  (1, 1, 3, 4, 4), ["y"], [], True),
    "avgpool3d_pad": ([node("AveragePool", ["x"], ["y"], kernel_shape=[2, 3, 2], pads=[0, 1, 1, 1, 1, 0],
                            count_include_pad=1)], (1, 2, 3, 4, 3), ["y"], [], True),
    "globalmaxpool": ([node("GlobalMaxPool", ["x"], ["y"])], (1, 3, 5, 3), ["y"], [], True),
    "lppool_p1": ([node("LpPool", ["x"], ["y"], kernel_shape=[2, 2], p=1)], (1, 2, 4, 4), ["y"], [], True),
    "pad_constant": ([node("Pad", ["x", "p", "v"], ["y"], mode="constant")], (1, 2, 3, 3), ["y"],
                     [ints("p", [0, 0, 1, 2, 0, 1, 2, 0]), init("v", 0.75)], False),
    "pad_reflect_crop": ([node("Pad", ["x", "p"], ["y"], mode="reflect")], (1, 2, 4, 4), ["y"],
                         [ints("p", [0, 0, 2, -1, 0, 0, 1, 2])], False),
    "pad_edge": ([node("Pad", ["x", "p"], ["y"], mode="edge")], (1, 1, 3, 4), ["y"],
                 [ints("p", [0, 0, 2, 1, 0, 0, 1, 2])], False),
    "slice_split_tile": ([node("Slice", ["x", "st", "en", "ax", "sp"], ["s"]),
                          node("Split", ["s", "sz"], ["a", "b"], axis=2),
                          node("Tile", ["a", "rep"], ["t"])],
                         (1, 3, 6, 4), ["t", "b"],
                         [ints("st", [5, 0]), ints("en", [-100, 3]), ints("ax", [2, 3]), ints("sp", [-1, 1]),
                          ints("sz", [2, 4]), ints("rep", [1, 2, 1, 2])], False),
    "expand_gather_where": ([node("Expand", ["x", "shp"], ["e"]),
                             node("Gather", ["e", "gi"], ["g"], axis=1),
                             node("Where", ["cond", "g", "fill"], ["y"])],
                            (1, 1, 4), ["y"],
                            [ints("shp", [2, 3, 4]), ints("gi", [2, -1, 0]),
                             init("cond", np.array([[[1, 0, 1, 1]]] * 3).reshape(1, 3, 4), np.bool_),
                             init("fill", -1.5)], False),
    "compare_where": ([node("Relu", ["x"], ["r"]), node("Greater", ["x", "c"], ["gt"]),
                       node("Less", ["x", "r"], ["lt"]), node("Or", ["gt", "lt"], ["o"]),
                       node("Where", ["o", "x", "r"], ["w"]), node("Cast", ["gt"], ["y1"], to=F),
                       node("Not", ["lt"], ["nl"]), node("Cast", ["nl"], ["y2"], to=F)],
                      (1, 8), ["w", "y1", "y2"], [init("c", 0.3)], True),
    "equal_lessorequal": ([node("Equal", ["x", "c"], ["eq"]), node("LessOrEqual", ["c2", "x"], ["le"]),
                           node("Cast", ["eq"], ["y1"], to=F), node("Cast", ["le"], ["y2"], to=F)],
                          (1, 6), ["y1", "y2"], [init("c", [0.5, -0.25, 1.0, 0.1, 0.0, 2.0]), init("c2", -0.5)], True),
    "sum_mean_neg_abs_sign": ([node("Relu", ["x"], ["r"]), node("Sum", ["x", "r", "k"], ["s"]),
                               node("Mean", ["x", "r", "s"], ["m"]), node("Neg", ["m"], ["n"]),
                               node("Abs", ["n"], ["a"]), node("Sign", ["x"], ["sg"]),
                               node("Max", ["a", "sg"], ["y"]), node("Min", ["n", "x"], ["y2"])],
                              (1, 10), ["y", "y2"], [init("k", 0.5)], True),
    "prelu": ([node("PRelu", ["x", "slope"], ["y"])], (1, 3, 2, 2), ["y"],
              [init("slope", np.array([0.25, -0.5, 1.5]).reshape(3, 1, 1))], True),
    "reduce": ([node("ReduceSum", ["x", "ax"], ["s"], keepdims=1), node("ReduceMean", ["x"], ["m"], axes=[1, 2],
                                                                        keepdims=0),
                node("ReduceMax", ["x"], ["mx"], axes=[2], keepdims=0), node("ReduceMin", ["x"], ["mn"], axes=[-1]),
                node("ReduceSumSquare", ["x"], ["q"], axes=[1])],
               (1, 3, 5), ["s", "m", "mx", "mn", "q"], [ints("ax", [2])], True),
    "einsum_const": ([node("Einsum", ["x", "w"], ["y"], equation="bij,jk->bik")], (1, 3, 4), ["y"],
                     [init("w", W[:20].reshape(4, 5))], False),
    "attention_scores": ([node("Relu", ["x"], ["r"]), node("Einsum", ["x", "r"], ["s"], equation="bqd,bkd->bqk"),
                          node("Transpose", ["x"], ["xt"], perm=[0, 2, 1]), node("MatMul", ["s", "x"], ["av"]),
                          node("MatMul", ["x", "xt"], ["g"]), node("Mul", ["x", "r"], ["p"])],
                         (1, 4, 3), ["s", "av", "g", "p"], [], True),
    "matmul_const_left_batched": ([node("MatMul", ["w", "x"], ["y"])], (1, 2, 4, 3), ["y"],
                                  [init("w", W[:8].reshape(2, 4))], False),
    "shape_idioms": ([node("Shape", ["x"], ["sh"]), node("Gather", ["sh", "zero"], ["n0"], axis=0),
                      node("Unsqueeze", ["n0", "zero1"], ["n0u"]), node("Concat", ["n0u", "minus1"], ["ns"], axis=0),
                      node("Reshape", ["x", "ns"], ["flat"]),
                      node("ConstantOfShape", ["sh"], ["ones"], value=helper.make_tensor("v", F, [1], [1.0])),
                      node("Range", ["r0", "r1", "r2"], ["rg"]), node("Cast", ["rg"], ["rgf"], to=F),
                      node("Mul", ["x", "ones"], ["xo"]), node("Add", ["xo", "rgf"], ["y"])],
                     (1, 2, 3), ["flat", "y"],
                     [ints("zero", 0), ints("zero1", [0]), ints("minus1", [-1]), ints("r0", 0), ints("r1", 3),
                      ints("r2", 1)], False),
}


def run_ort(path, x):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x.astype(np.float32)})


def tolerance(frac: int, want: np.ndarray) -> float:
    """As bench/onnx_conformance.py: 16 steps of the output grid plus 2^-8 of its magnitude."""
    return 16.0 * 2.0 ** -frac + 2.0 ** -8 * max(1.0, float(np.max(np.abs(want))) if want.size else 1.0)


def mutation_rejected(c, x, tries: int = 12, seed: int = 0):
    w, _ = witness(c, x)
    c.r1cs.check_witness(w)
    rng = np.random.default_rng(seed)
    first_private = 1 + c.r1cs.n_public
    for i in rng.choice(np.arange(first_private, len(w)), min(tries, len(w) - first_private), replace=False):
        bad = list(w)
        bad[i] = (bad[i] + 1) % R
        with pytest.raises(UnsatisfiedWitness):
            c.r1cs.check_witness(bad)
    out = list(w)  # a public output changed: rejected as well
    out[1] = (out[1] + 1) % R
    with pytest.raises(UnsatisfiedWitness):
        c.r1cs.check_witness(out)


@pytest.mark.parametrize("name", list(CASES))
def test_op_matches_onnxruntime(name, tmp_path):
    nodes, shape, outs, inits, constrained = CASES[name]
    path = model(tmp_path, name, nodes, list(shape), outs, inits)
    xs = rng_inputs(shape, seed=len(name))
    xs[0].flat[0] = 0.5  # on the grid: Equal with 0.5 is true somewhere
    c = compile_model(path, xs)
    for x in xs[:4]:
        want = run_ort(path, x)
        got = forward(c, x)
        assert len(got) == len(want)
        for (oname, _, frac), g, e in zip(c.outputs, got, want):
            assert g.size == e.size, f"{name}/{oname}: {g.shape} vs {e.shape}"
            err = float(np.max(np.abs(g.ravel() - e.ravel()))) if g.size else 0.0
            assert err <= tolerance(frac, e), f"{name}/{oname}: max error {err} > {tolerance(frac, e)}"
    if constrained:
        mutation_rejected(c, xs[1])


def test_embedding_lookup_of_token_ids(tmp_path):
    """Gather(table, ids) with the token ids as the graph input: a one-hot row selection."""
    table = np.random.default_rng(3).standard_normal((7, 4)).astype(np.float32)
    g = helper.make_graph([node("Gather", ["emb", "x"], ["e"]), node("Relu", ["e"], ["y"])], "emb",
                          [helper.make_tensor_value_info("x", TensorProto.INT64, [1, 5])],
                          [helper.make_tensor_value_info("y", F, None)], [init("emb", table)])
    path = tmp_path / "emb.onnx"
    onnx.save(onnx.shape_inference.infer_shapes(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])), path)
    ids = np.random.default_rng(4).integers(0, 7, (12, 1, 5))
    c = compile_model(path, ids.astype(np.float64))
    assert c.input_frac == 0
    for x in ids[:3]:
        np.testing.assert_allclose(forward(c, x)[0].ravel(), np.maximum(table[x.ravel()], 0).ravel(), atol=2 ** -10)
    mutation_rejected(c, ids[1], tries=20)
    with pytest.raises(ZkmlError, match="token id 7 at position 2 is outside the embedding table's 7 rows"):
        witness(c, np.array([[1, 2, 7, 0, 3]]))


@pytest.mark.parametrize("op,attrs,reason", [
    ("Softmax", {"axis": -1}, "needs lookups"),
    ("LRN", {"size": 3}, "fractional power"),
    ("Exp", {}, "needs lookups"),
    ("InstanceNormalization", None, None),  # exact (a square root and a division): compiles without lookups
])
def test_table_ops_are_refused_naming_the_node(tmp_path, op, attrs, reason):
    """With --lookups off the table ops are refused naming the node; LRN is refused either way."""
    from zkml.compiler.compile import CompileConfig

    inits = []
    ins = ["x"]
    if attrs is None:  # InstanceNormalization: scale and bias inputs
        attrs, ins = {}, ["x", "sc", "bi"]
        inits = [init("sc", [1.0, 2.0]), init("bi", [0.0, 0.5])]
    path = model(tmp_path, op, [node(op, ins, ["y"], **attrs)], [1, 2, 3, 3], ["y"], inits)
    if reason is None:
        compile_model(path, rng_inputs((1, 2, 3, 3)), CompileConfig(lookups=False))
        return
    with pytest.raises(ZkmlError, match=rf"{op}.*'{op.lower()}_y'.*{reason}|'{op.lower()}_y'.*{reason}"):
        compile_model(path, rng_inputs((1, 2, 3, 3)), CompileConfig(lookups=False))


def test_lppool_p2_is_refused_with_the_reason(tmp_path):
    path = model(tmp_path, "lp2", [node("LpPool", ["x"], ["y"], kernel_shape=[2, 2], p=2)], [1, 1, 4, 4], ["y"])
    with pytest.raises(ZkmlError, match="'lppool_y' has p=2.*p-th root"):
        compile_model(path, rng_inputs((1, 1, 4, 4)))


def test_dynamic_shape_that_cannot_be_pinned_is_named(tmp_path):
    """Shape of a tensor with a symbolic dimension shape inference cannot pin: refused, naming it."""
    g = helper.make_graph([node("Shape", ["x"], ["s"]), node("Reshape", ["x", "s"], ["y"])], "dyn",
                          [helper.make_tensor_value_info("x", F, [1, 4])],
                          [helper.make_tensor_value_info("y", F, ["a", "b"])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    # a NonZero in front makes the length data-dependent, so no pinning of the input can fix it
    m.graph.node.insert(0, node("NonZero", ["x"], ["nz"]))
    m.graph.node[1].input[0] = "nz"
    path = tmp_path / "dyn.onnx"
    onnx.save(m, path)
    with pytest.raises(ZkmlError, match=r"'shape_s' \(Shape\) reads the shape of 'nz'.*dimension\(s\) 1"):
        compile_model(path, rng_inputs((1, 4)))


# --- the comparison gadgets alone: a lying prover's witness is rejected -------------------------


def _circuit(values, gadget):
    b = CircuitBuilder()
    x = b.signal(np.asarray(values, np.int64))
    out = gadget(b, x)
    return b, out


def test_sign_bit_rejects_a_flipped_bit():
    b, s = _circuit([-5, 0, 3, -1, 7], lambda b, x: sign_bit(b, x, 5))
    assert s.values.tolist() == [0, 1, 1, 0, 1]
    r1cs, w = b.r1cs(), b.witness()
    r1cs.check_witness(w)
    for i in range(1, len(w)):
        bad = list(w)
        bad[i] = (bad[i] + 1) % R
        with pytest.raises(UnsatisfiedWitness):
            r1cs.check_witness(bad)


def test_is_zero_rejects_a_false_one():
    b, e = _circuit([0, 4, -3], is_zero)
    assert e.values.tolist() == [1, 0, 0]
    r1cs, w = b.r1cs(), b.witness()
    r1cs.check_witness(w)
    # the wires: 1, x (3), inv (3), e (3); claim e = 1 for x = 4 with inv = 0: d * e = 0 fails
    bad = list(w)
    bad[1 + 3 + 3 + 1], bad[1 + 3 + 1] = 1, 0
    with pytest.raises(UnsatisfiedWitness):
        r1cs.check_witness(bad)
    bad = list(w)  # and e = 0 for x = 0: d * inv = 1 - e fails whatever inv is
    bad[1 + 3 + 3] = 0
    with pytest.raises(UnsatisfiedWitness):
        r1cs.check_witness(bad)
