"""The table-based and exact non-linear ops (zkml/compiler/ops/tables.py, arith.py, softmax.py,
normalization.py): each on a tiny model against onnxruntime within the error bound the manifest
records (inputs on the circuit's own grid, so the bound is the whole error), and each gadget
under a cheating prover: any round-1 value changed (the output, a clamped value, the table's
input, a quotient, a remainder limb, a sign bit) with round 2 rederived honestly for the
challenge must be rejected by the R1CS."""

from __future__ import annotations

import secrets
from decimal import Decimal, localcontext

import numpy as np
import pytest
from test_lookups import rederive_round2
from test_ops_coverage import init, model, node, run_ort, tolerance

from zkml.circuit import fixed_functions as ff
from zkml.circuit.builder import PUBLIC_INPUT, PUBLIC_OUTPUT, CircuitBuilder
from zkml.compiler.compile import CompileConfig, compile_model, forward, witness
from zkml.compiler.ops.common import Context
from zkml.compiler.qtensor import QTensor
from zkml.crypto.bn254 import R
from zkml.errors import UnsatisfiedWitness, ZkmlError
from zkml.onnx_import.graph import Graph, Node

GRID = 4096  # inputs k / 4096: the input's 12 fraction bits hold them exactly

# name -> (nodes, input shape, initializers, input range, opset)
CASES = {
    "exp": ([node("Exp", ["x"], ["y"])], (1, 6), [], (-6, 2), 18),
    "log": ([node("Log", ["x"], ["y"])], (1, 6), [], (0.05, 5), 18),
    "sigmoid": ([node("Sigmoid", ["x"], ["y"])], (1, 6), [], (-6, 6), 18),
    "tanh": ([node("Tanh", ["x"], ["y"])], (1, 6), [], (-4, 4), 18),
    "erf": ([node("Erf", ["x"], ["y"])], (1, 6), [], (-3, 3), 18),
    "gelu": ([node("Gelu", ["x"], ["y"])], (1, 6), [], (-5, 5), 20),
    "gelu_tanh": ([node("Gelu", ["x"], ["y"], approximate="tanh")], (1, 6), [], (-5, 5), 20),
    "softplus": ([node("Softplus", ["x"], ["y"])], (1, 6), [], (-6, 6), 18),
    "elu": ([node("Elu", ["x"], ["y"], alpha=0.7)], (1, 6), [], (-6, 3), 18),
    "selu": ([node("Selu", ["x"], ["y"])], (1, 6), [], (-6, 3), 18),
    "celu": ([node("Celu", ["x"], ["y"], alpha=1.5)], (1, 6), [], (-6, 3), 18),
    "mish": ([node("Mish", ["x"], ["y"])], (1, 6), [], (-6, 4), 18),
    "softsign": ([node("Softsign", ["x"], ["y"])], (1, 6), [], (-6, 6), 18),
    "sqrt": ([node("Sqrt", ["x"], ["y"])], (1, 6), [], (0, 9), 18),
    "reciprocal": ([node("Reciprocal", ["x"], ["y"])], (1, 6), [], (0.25, 4), 18),
    "div": ([node("Mul", ["x", "x"], ["s"]), node("Add", ["s", "one"], ["d"]), node("Div", ["x", "d"], ["y"])],
            (1, 6), [init("one", 1.0)], (-3, 3), 18),
    "pow_1_5": ([node("Pow", ["x", "e"], ["y"])], (1, 6), [init("e", 1.5)], (0, 4), 18),
    "softmax": ([node("Softmax", ["x"], ["y"], axis=1)], (1, 3, 5), [], (-4, 4), 18),
    "softmax_opset11": ([node("Softmax", ["x"], ["y"], axis=1)], (1, 3, 5), [], (-4, 4), 11),
    "logsoftmax": ([node("LogSoftmax", ["x"], ["y"], axis=-1)], (1, 3, 5), [], (-4, 4), 18),
    "layernorm": ([node("LayerNormalization", ["x", "g", "b"], ["y"])], (1, 3, 8),
                  [init("g", np.linspace(0.5, 1.5, 8)), init("b", np.linspace(-0.2, 0.3, 8))], (-3, 3), 18),
    "instancenorm": ([node("InstanceNormalization", ["x", "g", "b"], ["y"])], (1, 2, 3, 4),
                     [init("g", [1.0, 2.0]), init("b", [0.0, 0.5])], (-3, 3), 18),
    "hardsigmoid": ([node("HardSigmoid", ["x"], ["y"])], (1, 6), [], (-5, 5), 18),
    "hardswish": ([node("HardSwish", ["x"], ["y"])], (1, 6), [], (-5, 5), 18),
}


# exp and x^1.5 grow without limit, log's slope near 0 has none: over the whole interval the circuit accepts (twice the calibrated
# range) a uniform table grid is coarse where the values are large, and the recorded bound says so
GROWING = {"exp", "pow_1_5", "log"}  # log: its slope near 0, where its domain is clamped


def grid_inputs(shape, lo, hi, n=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(int(lo * GRID), int(hi * GRID), (n,) + tuple(shape)) / GRID


@pytest.mark.parametrize("name", list(CASES))
def test_op_within_its_recorded_bound_of_onnxruntime(name, tmp_path):
    nodes, shape, inits, (lo, hi), opset = CASES[name]
    path = model(tmp_path, name, nodes, list(shape), ["y"], inits, opset=opset)
    xs = grid_inputs(shape, lo, hi, seed=len(name))
    c = compile_model(path, xs)
    assert c.input_frac == 12
    approx = c.output_transforms.get("_approximations", {})
    frac = c.outputs[0][2]
    for x in xs[:3]:
        want = run_ort(path, x)[0].astype(np.float64)
        got = forward(c, x)[0]
        err = float(np.max(np.abs(got - want)))
        if approx and len(nodes) == 1:
            (rec,) = approx.values()
            bound = rec["error_bound"] + 2e-6 * max(1.0, float(np.max(np.abs(want))))  # + onnxruntime's float32
            assert err <= bound, f"{name}: error {err} above its recorded bound {rec['error_bound']}"
            if name not in GROWING:
                assert rec["error_bound"] < 16 * 2.0 ** -frac + 2.0 ** -8, f"{name}: a useless bound {rec['error_bound']}"
        else:
            assert err <= tolerance(frac, want), f"{name}: error {err}"
    w, _ = witness(c, xs[1])
    c.r1cs.check_witness(w)


def test_softmax_claims_probabilities_that_sum_to_one(tmp_path):
    nodes, shape, inits, (lo, hi), opset = CASES["softmax"]
    path = model(tmp_path, "sm", nodes, list(shape), ["y"], inits, opset=opset)
    xs = grid_inputs(shape, lo, hi, seed=3)
    c = compile_model(path, xs)
    (rec,) = c.output_transforms["_approximations"].values()
    for x in xs:
        p = forward(c, x)[0]
        assert (p >= 0).all()
        assert np.all(np.abs(p.sum(axis=1) - 1.0) <= rec["sum_to_one_bound"])


@pytest.mark.parametrize("op", ["Softmax", "Gelu", "Exp", "Erf"])
def test_table_ops_without_lookups_are_refused_naming_the_node(tmp_path, op):
    path = model(tmp_path, op, [node(op, ["x"], ["y"])], [1, 4], ["y"], opset=20)
    with pytest.raises(ZkmlError, match=rf"'{op.lower()}_y' needs lookups"):
        compile_model(path, grid_inputs((1, 4), -1, 1), CompileConfig(lookups=False))


def test_sigmoid_without_lookups_keeps_its_interpolation(tmp_path):
    path = model(tmp_path, "sig", [node("Sigmoid", ["x"], ["y"])], [1, 4], ["y"])
    c = compile_model(path, grid_inputs((1, 4), -3, 3), CompileConfig(lookups=False))
    (rec,) = c.output_transforms["_approximations"].values()
    assert "interpolation_error" in rec and c.lookups is None


def test_sqrt_of_a_negative_value_has_no_witness(tmp_path):
    path = model(tmp_path, "sq", [node("Sqrt", ["x"], ["y"])], [1, 4], ["y"])
    c = compile_model(path, grid_inputs((1, 4), -1, 4))
    with pytest.raises(ZkmlError, match="negative"):
        witness(c, np.array([[1.0, -0.5, 2.0, 0.0]]))


def test_table_values_are_correctly_rounded():
    """float64 values away from rounding ties, decimal at ties: equal to a 60-digit computation."""
    for op, kw in [("Gelu", {}), ("Exp", {}), ("Erf", {}), ("Selu", {}), ("Gelu", {"approximate": "tanh"})]:
        fn = ff.function(op, **kw)
        vals = ff.table_values(fn, 8, -1024, 512, 14)
        with localcontext() as cx:
            cx.prec = 60
            for j in range(-1024, 513, 97):
                d = fn.exact(Decimal(j) / 256) * 2 ** 14
                want = int((abs(d) + Decimal("0.5")).to_integral_value(rounding="ROUND_FLOOR")) * (1 if d >= 0 else -1)
                assert vals[j + 1024] == want, (op, j)


# --- a cheating prover at the gadget level ------------------------------------------------------


def _ctx(frac: int = 10) -> Context:
    b = CircuitBuilder(emit=True, lookups=True)
    return Context(b, Graph([], {}, ["x"], [], {}, opset=18, source="test"), frac, 16)


def _input(ctx, values, frac, lo, hi) -> QTensor:
    v = np.asarray(values, np.int64)
    x = ctx.b.signal(v, PUBLIC_INPUT)
    return QTensor(x, frac, np.full(v.shape, lo, np.int64), np.full(v.shape, hi, np.int64))


def _gadget(which: str):
    from zkml.compiler.ops import arith, normalization, softmax, tables

    ctx = _ctx()
    b = ctx.b
    if which == "sigmoid_rescaled_clamped":  # input 2^-8 steps, table on a coarser grid, clamped both sides
        x = _input(ctx, [-40 * 256, -850, 0, 180, 39 * 256], 8, -64 * 256, 64 * 256)
        out = tables.op_sigmoid(ctx, Node("Sigmoid", "sig", ["x"], ["y"]), x)
    elif which == "gelu":  # relu part + residual table
        x = _input(ctx, [-3000, -200, 0, 700, 4000], 10, -8000, 8000)
        out = tables.op_gelu(ctx, Node("Gelu", "gelu", ["x"], ["y"]), x)
    elif which == "exp_clamped_below":
        x = _input(ctx, [-20 * 1024, -1500, 0, 900], 10, -64 * 1024, 1024)
        out = tables.op_exp(ctx, Node("Exp", "exp", ["x"], ["y"]), x)
    elif which == "divide_signed":
        n = _input(ctx, [700, -300, 5, 0], 8, -1000, 1000)
        d = _input(ctx, [30, -7, 256, -1], 8, -512, 512)
        out = arith.divide_tensors(ctx, Node("Div", "div", ["x", "d"], ["y"]), n, d, 8)
    elif which == "sqrt":
        x = _input(ctx, [0, 1, 17, 4000], 8, 0, 5000)
        out = arith.square_root(ctx, Node("Sqrt", "sqrt", ["x"], ["y"]), x, 8)
    elif which == "softmax":
        x = _input(ctx, np.array([[300, -200, 40], [0, 0, -900]]), 8, -1024, 1024)
        out = softmax.op_softmax(ctx, Node("Softmax", "sm", ["x"], ["y"], {"axis": -1}), x)
    elif which == "layernorm":
        x = _input(ctx, np.array([[300, -200, 40, 7]]), 8, -1024, 1024)
        out = normalization.op_layernorm(ctx, Node("LayerNormalization", "ln", ["x"], ["y"], {}), x)
    else:
        raise ValueError(which)
    b.publish(out.signal.reshape(-1), PUBLIC_OUTPUT)
    b.commit_round1()
    return b


GADGETS = ["sigmoid_rescaled_clamped", "gelu", "exp_clamped_below", "divide_signed", "sqrt", "softmax", "layernorm"]


@pytest.mark.parametrize("which", GADGETS)
def test_cheating_prover_is_rejected(which, monkeypatch):
    """Every round-1 wire but the multiplicities (which the cheat recounts) moved by +-1, round 2
    rederived for the challenge: the output, each clamped value and table input, every quotient,
    remainder limb and sign bit is pinned by the constraints."""
    monkeypatch.setattr(ff, "TABLE_ROWS", 64)  # small tables: the rederivation walks every row
    b = _gadget(which)
    c = secrets.randbelow(R)
    b.round2(c)
    r1cs, w = b.r1cs(), b.witness()
    r1cs.check_witness(w)
    final = b.final_index()
    mults = {int(final[m]) for t in b.argument.tables.values() if t.groups for m in t.m_wires}
    first = 1 + r1cs.n_public
    # private round-1 wires (a changed public input is another statement, often with the same output)
    targets = [i for i in range(first, first + r1cs.n_round1) if i not in mults]
    assert len(targets) > 10
    for i in targets:
        for delta in (1, R - 1):
            bad = list(w)
            bad[i] = (bad[i] + delta) % R
            with pytest.raises(UnsatisfiedWitness):
                r1cs.check_witness(rederive_round2(b, bad, c))


# --- per-node fidelity ----------------------------------------------------------------------------


def test_fidelity_reports_each_nodes_worst_error_against_onnxruntime(tmp_path):
    from zkml.compiler.fidelity import fidelity_report

    w = np.random.default_rng(2).standard_normal((8, 8)) * 0.5
    nodes = [node("MatMul", ["x", "w"], ["h"]), node("LayerNormalization", ["h", "g", "b"], ["n"]),
             node("Gelu", ["n"], ["a"]), node("MatMul", ["a", "w"], ["l"]), node("Softmax", ["l"], ["y"], axis=-1)]
    path = model(tmp_path, "block", nodes, [1, 4, 8], ["y"], [init("w", w), init("g", np.ones(8)),
                                                              init("b", np.zeros(8))], opset=20)
    xs = grid_inputs((1, 4, 8), -3, 3, n=5)
    c = compile_model(path, xs)
    report = fidelity_report(c, xs)
    per = report["nodes"]
    assert list(per) == [n.name for n in nodes]
    assert all(v["samples"] == 5 and v["float_peak"] > 0 for v in per.values())
    assert per["softmax_y"]["max_abs_error"] == pytest.approx(report["max_abs_error"])  # the output node
    assert 0 < per["layernormalization_n"]["max_abs_error"] < 0.05
