"""The vectorised linear layers and R1CS files against the construction they replaced.

The reference below is the compiler's previous code, kept here verbatim in substance: Gemm and
Conv as coordinate lists with Python-int bounds, the gather of linear combinations one index at
a time, and the .r1cs writer with its loop per constraint. The compiled circuits must be the
same bytes, accept the same witness, and reject a mutated one.
"""

import struct

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from zkml.circuit import fixedpoint
from zkml.circuit.builder import LC, field_limbs
from zkml.compiler import linear, ops
from zkml.compiler.compile import compile_model, witness
from zkml.compiler.qtensor import QTensor
from zkml.crypto.bn254 import R, ints_to_limbs
from zkml.errors import UnsatisfiedWitness
from zkml.formats.r1cs import _TERM, read_r1cs, write_r1cs
from zkml.r1cs import R1CS, SparseMatrix

# --- the previous construction ------------------------------------------------------------------


def old_take(self, index):
    index = np.asarray(index, np.int64).ravel()
    order = np.argsort(self.rows, kind="stable")
    rows_sorted = self.rows[order]
    starts = np.searchsorted(rows_sorted, index, "left")
    ends = np.searchsorted(rows_sorted, index, "right")
    counts = ends - starts
    new_rows = np.repeat(np.arange(len(index), dtype=np.int64), counts)
    pick = order[np.concatenate([np.arange(s, e) for s, e in zip(starts, ends)])] if len(index) and counts.sum() else np.zeros(0, np.int64)
    return LC(new_rows, self.wires[pick], self.coeffs[pick], len(index))


def old_affine(ctx, x, rows, cols, w, bias, out_shape):
    rows, cols, w = (np.asarray(a, np.int64).ravel() for a in (rows, cols, w))
    keep = w != 0
    rows, cols, w = rows[keep], cols[keep], w[keep]
    n_out = int(np.prod(out_shape))
    xv = x.values.ravel()
    vals = np.zeros(n_out, np.int64)
    np.add.at(vals, rows, w * xv[cols])
    vals += bias.ravel()
    lo = np.zeros(n_out, object)
    hi = np.zeros(n_out, object)
    wo = w.astype(object)
    xlo, xhi = x.lo.ravel().astype(object)[cols], x.hi.ravel().astype(object)[cols]
    np.add.at(lo, rows, np.where(w > 0, wo * xlo, wo * xhi))
    np.add.at(hi, rows, np.where(w > 0, wo * xhi, wo * xlo))
    lo += bias.ravel().astype(object)
    hi += bias.ravel().astype(object)
    sig = ctx.b.linear(x.signal.reshape(-1), rows, cols, w, vals, const=bias.ravel())
    return QTensor(sig.reshape(out_shape), None, lo.reshape(out_shape), hi.reshape(out_shape))


def old_gemm(ctx, node, x):
    a = node.attrs
    w = ctx.const(node.inputs[1])
    w = w.T if not a.get("transB", 0) else w
    w = w * a.get("alpha", 1.0)
    n_out, k = w.shape
    bias = np.zeros(n_out)
    if len(node.inputs) > 2 and node.inputs[2]:
        bias = np.broadcast_to(ctx.const(node.inputs[2]) * a.get("beta", 1.0), (n_out,))
    wf = ops.weight_frac(ctx, w)
    wq = fixedpoint.quantize(w, wf)
    bq = fixedpoint.quantize(bias, x.frac + wf)
    rows = np.repeat(np.arange(n_out), k)
    cols = np.tile(np.arange(k), n_out)
    t = old_affine(ctx, x, rows, cols, wq, bq, (1, n_out))
    return ops.normalize(ctx, QTensor(t.signal, x.frac + wf, t.lo, t.hi))


def old_conv(ctx, node, x):
    wt = ctx.const(node.inputs[1])
    g = node.attrs.get("group", 1)
    cout, cin_g, kh, kw = wt.shape
    _, cin, h, w = x.shape
    pb, pe = ops._pads(node, 2)
    pos, oh, ow = ops._windows((cin, h, w), (kh, kw), node.attrs.get("strides", [1, 1]), pb, pe,
                               node.attrs.get("dilations", [1, 1]))
    bias = ctx.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else np.zeros(cout)
    wf = ops.weight_frac(ctx, wt)
    wq = fixedpoint.quantize(wt, wf).reshape(cout, cin_g, kh * kw)
    co, ci, kk, y, xx = np.meshgrid(np.arange(cout), np.arange(cin_g), np.arange(kh * kw), np.arange(oh), np.arange(ow), indexing="ij")
    in_c = (co // (cout // g)) * cin_g + ci
    p = pos[y, xx, kk]
    valid = p >= 0
    rows = ((co * oh + y) * ow + xx)[valid]
    cols = (in_c * h * w + p)[valid]
    vals = wq[co, ci, kk][valid]
    bq = np.repeat(fixedpoint.quantize(bias, x.frac + wf), oh * ow)
    t = old_affine(ctx, x, rows, cols, vals, bq, (1, cout, oh, ow))
    return ops.normalize(ctx, QTensor(t.signal, x.frac + wf, t.lo, t.hi))


def old_constraints_section(r1cs):
    per = []
    for m in (r1cs.a, r1cs.b, r1cs.c):
        order = np.argsort(m.rows, kind="stable")
        t = np.empty(m.nnz, dtype=_TERM)
        t["wire"] = m.cols[order]
        t["coef"] = m.values[order]
        counts = np.bincount(m.rows, minlength=r1cs.n_constraints)
        starts = np.concatenate([[0], np.cumsum(counts)])
        per.append((t, counts, starts))
    out = bytearray()
    for c in range(r1cs.n_constraints):
        for t, counts, starts in per:
            out += struct.pack("<I", int(counts[c]))
            out += t[starts[c] : starts[c + 1]].tobytes()
    return bytes(out)


# --- models --------------------------------------------------------------------------------------


def _save(tmp_path, name, nodes, inits, in_shape, out_shape):
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                          [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, out_shape)], inits)
    path = tmp_path / f"{name}.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def gemm_model(tmp_path, rng):
    w1 = rng.standard_normal((7, 5)).astype(np.float32)
    w1[2, 3] = 0.0  # a zero weight: no term
    w2 = rng.standard_normal((4, 7)).astype(np.float32)
    nodes = [helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], transB=1, name="fc1"),
             helper.make_node("Relu", ["h"], ["r"], name="relu"),
             helper.make_node("Gemm", ["r", "w2t"], ["y"], alpha=0.5, name="fc2")]  # transB=0, no bias
    inits = [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(rng.standard_normal(7).astype(np.float32), "b1"),
             numpy_helper.from_array(np.ascontiguousarray(w2.T), "w2t")]
    return _save(tmp_path, "gemm", nodes, inits, [1, 5], [1, 4]), rng.uniform(-2, 2, (40, 1, 5))


def conv_model(tmp_path, rng):
    w1 = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    w2 = rng.standard_normal((4, 2, 2, 2)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 0, 1, 2],
                              strides=[2, 1], name="conv1"),
             helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
             helper.make_node("Conv", ["r1", "w2"], ["c2"], kernel_shape=[2, 2], group=2, dilations=[1, 2],
                              name="conv2")]
    inits = [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "b1"),
             numpy_helper.from_array(w2, "w2")]
    return _save(tmp_path, "conv", nodes, inits, [1, 2, 6, 5], [1, 4, 3, 2]), rng.uniform(-1, 1, (40, 1, 2, 6, 5))


@pytest.mark.parametrize("make", [gemm_model, conv_model])
def test_vectorised_layers_build_the_previous_circuit(tmp_path, monkeypatch, make):
    rng = np.random.default_rng(7)
    path, xs = make(tmp_path, rng)
    new = compile_model(path, xs)
    with monkeypatch.context() as m:
        m.setitem(ops.OPS, "Gemm", old_gemm)
        m.setitem(ops.OPS, "Conv", old_conv)
        m.setattr(LC, "take", old_take)
        old = compile_model(path, xs)
        old_w, old_out = witness(old, xs[3])
    write_r1cs(tmp_path / "new.r1cs", new.r1cs)
    assert old_constraints_section(old.r1cs) == _section(tmp_path / "new.r1cs")
    assert new.stats == old.stats and new.output_bounds == old.output_bounds
    w, out = witness(new, xs[3])
    assert w == old_w and all(np.array_equal(a, b) for a, b in zip(out, old_out))
    for r1cs in (new.r1cs, old.r1cs, read_r1cs(tmp_path / "new.r1cs")):
        r1cs.check_witness(w)
    first_private = 1 + new.r1cs.n_public
    for i in rng.choice(np.arange(first_private, len(w)), 12, replace=False):  # a mutated witness: rejected
        bad = list(w)
        bad[i] = (bad[i] + 1) % R
        with pytest.raises(UnsatisfiedWitness):
            new.r1cs.check_witness(bad)


def _section(path) -> bytes:
    from zkml.formats.binfile import read_binfile

    return bytes(read_binfile(path, b"r1cs", (1,)).section(2, "constraints"))


# --- the linear maths and the builder's pieces alone ----------------------------------------------


def _reference_bounds(w, lo, hi, bias):
    wo, lo, hi = w.astype(object), lo.astype(object), hi.astype(object)
    pos, neg = np.maximum(wo, 0), np.minimum(wo, 0)
    return pos.dot(lo) + neg.dot(hi) + bias.astype(object), pos.dot(hi) + neg.dot(lo) + bias.astype(object)


@pytest.mark.parametrize("magnitude", [20, 36, 58])  # int64 products; near 2^62: Python ints
def test_linear_bounds_are_the_exact_integers(magnitude):
    rng = np.random.default_rng(magnitude)
    w = rng.integers(-2**16, 2**16, (9, 30))
    w[0] = 0
    lo = rng.integers(-2**magnitude, 2**magnitude, 30)
    hi = lo + rng.integers(0, 2**magnitude, 30)
    bias = rng.integers(-1000, 1000, 9)
    want = _reference_bounds(w, lo, hi, bias)
    got = linear.dense_bounds(w, lo, hi, bias)
    assert [list(map(int, a)) for a in got] == [list(map(int, a)) for a in want]
    rows, cols = np.nonzero(w)
    x = rng.integers(lo, hi + 1)
    vals, s_lo, s_hi = linear.sparse(rows, cols, w[rows, cols], 9, x, lo, hi, bias)
    assert [list(map(int, a)) for a in (s_lo, s_hi)] == [list(map(int, a)) for a in want]
    assert np.array_equal(vals, linear.dense_values(w, x, bias))  # int64 arithmetic, as before
    if magnitude == 58:  # past what int64 holds: the fallback kept the true values
        assert max(abs(int(v)) for v in got[1]) >= 2**63


def test_take_matches_the_gather_it_replaced():
    rng = np.random.default_rng(3)
    lc = LC(rng.integers(0, 6, 40), rng.integers(0, 100, 40), rng.integers(-9, 9, 40), 8)  # rows 6, 7 empty
    for index in (rng.integers(0, 8, 25), np.array([], np.int64), np.array([7, 7, 2])):
        a, b = lc.take(index), old_take(lc, index)
        assert a.k == b.k and all(np.array_equal(u, v) for u, v in zip((a.rows, a.wires, a.coeffs), (b.rows, b.wires, b.coeffs)))
    wires = LC.of_wires(np.arange(10, 20))
    a, b = wires.take(np.array([3, 3, 9, 0])), old_take(wires, np.array([3, 3, 9, 0]))
    assert np.array_equal(a.wires, b.wires) and np.array_equal(a.rows, b.rows)


def test_field_limbs_are_the_ints_mod_r():
    c = np.array([0, 1, -1, 7, -2**63, 2**63 - 1, -123456789012345, 2**40], np.int64)
    assert np.array_equal(field_limbs(c), ints_to_limbs([int(v) % R for v in c.tolist()]))
    big = np.array([R - 1, -5, 2**200], dtype=object)
    assert np.array_equal(field_limbs(big), ints_to_limbs([int(v) % R for v in big.tolist()]))


def test_r1cs_writer_matches_the_loop_it_replaced(tmp_path):
    rng = np.random.default_rng(5)
    n = 50

    def matrix(nnz):
        return SparseMatrix(rng.integers(0, n - 3, nnz).astype(np.uint32), rng.integers(0, 20, nnz).astype(np.uint32),
                            ints_to_limbs([int(v) for v in rng.integers(0, 2**62, nnz)]))  # rows unsorted, last 3 empty

    r = R1CS(n_wires=20, n_pub_out=1, n_pub_in=2, n_prv_in=0, n_constraints=n, a=matrix(120), b=SparseMatrix.empty(),
             c=matrix(7))
    write_r1cs(tmp_path / "r.r1cs", r)
    assert _section(tmp_path / "r.r1cs") == old_constraints_section(r)
    back = read_r1cs(tmp_path / "r.r1cs")
    for m, mb in zip((r.a, r.b, r.c), (back.a, back.b, back.c)):
        order = np.argsort(m.rows, kind="stable")
        assert np.array_equal(m.rows[order], mb.rows) and np.array_equal(m.cols[order], mb.cols)
        assert np.array_equal(m.values[order], mb.values)
