"""--weights committed: weights as private wires behind a salted Poseidon commitment.

Every soundness test has its negative twin: a weight (or a convolution's output) changed by one
unit breaks the witness; a proof under other weights does not verify for the registered
commitment; a weights file that does not open its commitment is refused; two weight sets share
one R1CS and key and are told apart by the commitment."""

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from conftest import ROOT
from zkml.compiler.compile import (COMPILE_CHALLENGE, CompileConfig, build, calibrated_scales, compile_model,
                                   quantize_input, witness, witness_rounds)
from zkml.crypto.bn254 import R, ints_to_limbs
from zkml.errors import UnsatisfiedWitness, ZkmlError

MODELS = ROOT / "models"


def _data(name):
    z = np.load(MODELS / name)
    return z[z.files[0]]


def _compile(model, cal, lookups=True, scales=None):
    return compile_model(model, cal, CompileConfig(weights="committed", lookups=lookups), scales=scales)


def _mutated_fails(c, x, wires):
    """Every given builder wire changed by one unit breaks the full witness."""
    w, _ = witness(c, x)
    c.r1cs.check_witness(w)
    b, _ = build(c, quantize_input(c, x), emit=False)
    index = b.final_index()
    for wire in wires:
        bad = list(w)
        i = int(index[wire])
        bad[i] = (bad[i] + 1) % R
        with pytest.raises(UnsatisfiedWitness):
            c.r1cs.check_witness(bad)


@pytest.mark.parametrize("lookups", [True, False])
def test_weight_changed_by_one_unit_breaks_the_witness(lookups):
    cal = _data("breast_cancer_calibration.npz")
    c = _compile(MODELS / "breast_cancer.onnx", cal, lookups)
    b, _ = build(c, quantize_input(c, cal[0]), emit=False)
    parts = b.weight_wires.parts
    picks = [int(s.wires.ravel()[j]) for s, _ in parts for j in (0, s.wires.size - 1)]
    _mutated_fails(c, cal[0], picks)


def test_cnn_weights_and_evaluated_outputs_are_bound():
    """The digits CNN with lookups: Conv outputs are round-1 wires checked at a random point."""
    cal = _data("digits_cnn_calibration.npz")
    c = _compile(MODELS / "digits_cnn.onnx", cal)
    xq = quantize_input(c, cal[0])
    b, _ = build(c, xq, emit=False)
    first_w = int(b.weight_wires.parts[0][0].wires.ravel()[3])
    conv_w = int(b.weight_wires.parts[2][0].wires.ravel()[100])
    # the first Conv's outputs (Y) are the wires allocated right after its bias
    y_wire = int(b.weight_wires.parts[1][0].wires.ravel()[-1]) + 1
    _mutated_fails(c, cal[0], [first_w, conv_w, y_wire, y_wire + 17])
    assert c.weights_commitment == c.weight_set.commitment(c.config.weight_bits)


def _scaled_model(tmp_path, factor):
    m = onnx.load(str(MODELS / "breast_cancer.onnx"))
    for t in m.graph.initializer:
        a = numpy_helper.to_array(t)
        if a.ndim == 2:  # the Gemm weights
            t.CopyFrom(numpy_helper.from_array((a * factor).astype(a.dtype), t.name))
    path = tmp_path / f"scaled{factor}.onnx"
    onnx.save(m, str(path))
    return path


def test_two_weight_sets_one_key_told_apart_by_commitment(tmp_path):
    from zkml.groth16 import setup
    from zkml.groth16.prover import prove
    from zkml.groth16.verifying import verify

    cal = _data("breast_cancer_calibration.npz")
    a = _compile(MODELS / "breast_cancer.onnx", cal)
    other = _scaled_model(tmp_path, 0.97)
    b = _compile(other, cal, scales=calibrated_scales(a))  # the architecture's scales, other weights
    assert a.r1cs.n_constraints == b.r1cs.n_constraints
    for m in ("a", "b", "c"):
        ma, mb = getattr(a.r1cs, m), getattr(b.r1cs, m)
        assert np.array_equal(ma.rows, mb.rows) and np.array_equal(ma.cols, mb.cols) and np.array_equal(ma.values, mb.values)
    assert a.weights_commitment != b.weights_commitment
    pk = setup.setup_from_secrets(a.r1cs, setup.DevTau.random())
    vk = pk.verifying_key()
    proofs = {}
    for name, c in (("a", a), ("b", b)):
        w, complete, _ = witness_rounds(c, cal[1])
        proofs[name] = prove(pk, ints_to_limbs(w), complete=complete)
    (pa, sa), (pb, sb) = proofs["a"], proofs["b"]
    assert b.weights_commitment in sb and a.weights_commitment in sa
    assert verify(vk, sa, pa) and verify(vk, sb, pb)
    # a proof under the other weights does not verify for the registered commitment
    forged = [a.weights_commitment if v == b.weights_commitment else v for v in sb]
    assert not verify(vk, forged, pb)


def test_weights_file_with_wrong_commitment_refused(tmp_path):
    from zkml.bundle.private_weights import commitment_hex, read_weights, write_weights
    from zkml.compiler.committed_weights import WeightsMismatch

    cal = _data("breast_cancer_calibration.npz")
    c = _compile(MODELS / "breast_cancer.onnx", cal)
    good = tmp_path / "weights.npz"
    write_weights(good, c.weight_set, c.weights_commitment)
    expected = commitment_hex(c.weights_commitment)
    assert read_weights(good, 16, expected).commitment(16) == c.weights_commitment
    z = dict(np.load(good))
    z["t0"] = z["t0"].copy()
    z["t0"].flat[0] += 1  # one weight, one unit
    bad = tmp_path / "edited.npz"
    np.savez(bad, **z)
    with pytest.raises(WeightsMismatch, match="edited.npz"):
        read_weights(bad, 16, expected)
    with pytest.raises(WeightsMismatch, match="other weights"):
        read_weights(good, 16, "0" * 64)


def test_architecture_without_weights_file_refused():
    cal = _data("breast_cancer_calibration.npz")
    c = _compile(MODELS / "breast_cancer.onnx", cal)
    c.weight_set, c.architecture_only = None, True
    with pytest.raises(ZkmlError, match="private weights file"):
        witness(c, cal[0])


def test_lean_poseidon_matches_and_rejects_mutations():
    import random

    from zkml.circuit.builder import PUBLIC_OUTPUT, CircuitBuilder, Signal
    from zkml.circuit.builder import LC
    from zkml.circuit.gadgets.poseidon import hash_wires_lean
    from zkml.crypto.poseidon import poseidon

    rng = random.Random(5)
    for n in (1, 16):
        b = CircuitBuilder()
        vals = [rng.randrange(R) for _ in range(n)]
        ws = b.alloc(np.array(vals, dtype=object))
        ow, ov = hash_wires_lean(b, [int(w) for w in ws], vals)
        assert ov == poseidon(vals)
        b.publish(Signal(LC.of_wires(np.array([ow])), np.array([ov], dtype=object)), PUBLIC_OUTPUT)
        r1cs, w = b.r1cs(), b.witness()
        r1cs.check_witness(w)
        for i in rng.sample(range(1, len(w)), 25):
            bad = list(w)
            bad[i] = (bad[i] + 1) % R
            with pytest.raises(UnsatisfiedWitness):
                r1cs.check_witness(bad)


def test_evaluation_shares_one_weight_set_and_binds_it():
    """An evaluation over committed weights: every sample's products read the same weight wires
    (one allocation per tensor, however many samples), the weights commitment is the last public
    signal before the challenge, and a weight wire or that signal changed by one unit breaks the
    witness; an end-to-end proof does not verify under another commitment."""
    from zkml.bundle.proving import prove_built
    from zkml.compiler.evaluate import build_evaluation
    from zkml.compiler.evaluation_signals import public_signals
    from zkml.groth16.setup import DevTau, setup_from_secrets
    from zkml.groth16.verifier import verify

    cal = _data("breast_cancer_calibration.npz")
    c = _compile(MODELS / "breast_cancer.onnx", cal)
    z = np.load(MODELS / "breast_cancer_test.npz")
    xs, ys = z["x"][:3], z["y"][:3].astype(np.int64)
    b, counts, commitment = build_evaluation(c, xs, ys, 0, salt=5, emit=True)
    n_values = sum(s.values.size for s, _ in b.weight_wires.parts)
    assert n_values == c.weight_set.n_values()  # not three copies
    r1cs, w = b.r1cs(), b.witness()
    r1cs.check_witness(w)
    wc = c.weight_set.commitment(c.config.weight_bits)
    public = public_signals(counts.tp, counts.fn, counts.fp, 0, [0, 0], 3, commitment, weights_commitment=wc)
    assert w[1: r1cs.n_public] == public  # the challenge is the last public input
    index = b.final_index()
    parts = b.weight_wires.parts
    for wire in [int(s.wires.ravel()[j]) for s, _ in parts for j in (0, s.wires.size - 1)]:
        bad = list(w)
        bad[int(index[wire])] = (bad[int(index[wire])] + 1) % R
        with pytest.raises(UnsatisfiedWitness):
            r1cs.check_witness(bad)
    bad = list(w)
    bad[r1cs.n_public - 1] = (bad[r1cs.n_public - 1] + 1) % R  # the weights commitment signal
    with pytest.raises(UnsatisfiedWitness):
        r1cs.check_witness(bad)

    def values():
        return build_evaluation(c, xs, ys, 0, salt=5, emit=False)[0]

    pk = setup_from_secrets(r1cs, DevTau.random())
    proof, got = prove_built(pk, values(), rebuild=values)
    assert got == public and verify(pk.verifying_key(), public, proof)
    assert not verify(pk.verifying_key(), public[:-1] + [(wc + 1) % R], proof)


def test_repeated_node_names_keep_their_own_weights(tmp_path):
    """Two Gemm nodes with one name (ONNX's checker lets it pass): each keeps its own committed
    weights, and the circuit agrees with the model under its own names."""
    m = onnx.load(str(MODELS / "breast_cancer.onnx"))
    gemms = [n for n in m.graph.node if n.op_type in ("Gemm", "MatMul")]
    assert len(gemms) >= 2
    for n in gemms:
        n.name = "dense"
    path = tmp_path / "same_names.onnx"
    onnx.save(m, str(path))
    cal = _data("breast_cancer_calibration.npz")
    c = compile_model(path, cal, CompileConfig(weights="committed"))
    assert len(c.weight_set.scales) == len(gemms)
    ref = compile_model(MODELS / "breast_cancer.onnx", cal, CompileConfig(weights="committed"))
    x = cal[0]
    from zkml.compiler.compile import forward

    got, want = forward(c, x)[0], forward(ref, x)[0]  # the scales may differ by a bit: names order the calibration
    assert np.argmax(got) == np.argmax(want) and np.allclose(got, want, atol=0.02)
    assert c.weight_set.tensors["dense/w"].shape != c.weight_set.tensors["dense#2/w"].shape
