"""Evaluation claims: at least K of N committed samples right and at least K_c of class c, with
every class's TP, FN and FP, proved in one circuit; the counts agree with onnxruntime's."""

import numpy as np
import pytest

from conftest import ROOT
from zkml.compiler.compile import COMPILE_CHALLENGE, compile_model, forward
from zkml.compiler.evaluate import build_evaluation, commitment_of, counts_of
from zkml.compiler.evaluation_signals import (n_count_elements, pack_counts, public_signals, unpack_counts)
from zkml.crypto.bn254 import R
from zkml.errors import UnsatisfiedWitness, ZkmlError

MODELS = ROOT / "models"


@pytest.fixture(scope="module")
def bc():
    c = compile_model(MODELS / "breast_cancer.onnx", np.load(MODELS / "breast_cancer_calibration.npz")["x"])
    data = np.load(MODELS / "breast_cancer_test.npz")
    ys = data["y"][:6].copy()
    ys[1] = 1 - ys[1]  # one wrong label: a false negative of one class, a false positive of the other
    return c, data["x"][:6], ys


def _onnxruntime_predictions(model, xs):
    import onnxruntime as ort

    s = ort.InferenceSession(str(model))
    return s.run(None, {s.get_inputs()[0].name: xs.astype(np.float32)})[0].argmax(1)


def test_per_class_counts_match_onnxruntime_on_the_test_split():
    """The whole breast-cancer test split (171 samples): the circuit's TP/FN/FP per class are
    onnxruntime's (its float predictions and the circuit's fixed-point ones agree here)."""
    c = compile_model(MODELS / "breast_cancer.onnx", np.load(MODELS / "breast_cancer_calibration.npz")["x"])
    data = np.load(MODELS / "breast_cancer_test.npz")
    xs, ys = data["x"], data["y"]
    _, counts, _ = build_evaluation(c, xs, ys, 0, salt=5, emit=False)
    ref = counts_of(ys, _onnxruntime_predictions(MODELS / "breast_cancer.onnx", xs), 2)
    assert counts == ref and counts.n == len(xs)
    assert 0 < sum(ref.fn) < len(xs) and ref.correct == sum(ref.tp)


@pytest.mark.slow
def test_per_class_counts_match_onnxruntime_digits_cnn():
    """The whole digits test split (540 samples, ten classes)."""
    c = compile_model(MODELS / "digits_cnn.onnx", np.load(MODELS / "digits_cnn_calibration.npz")["x"])
    data = np.load(MODELS / "digits_cnn_test.npz")
    xs, ys = data["x"], data["y"]
    _, counts, _ = build_evaluation(c, xs, ys, 0, salt=5, emit=False)
    assert counts == counts_of(ys, _onnxruntime_predictions(MODELS / "digits_cnn.onnx", xs), 10)


def test_counts_commitment_and_proof(bc):
    c, xs, ys = bc
    preds = [int(np.argmax(forward(c, x)[0])) for x in xs]
    want = counts_of(ys, preds, 2)
    assert sum(want.fn) == 1 and sum(want.fp) == 1
    b, counts, commitment = build_evaluation(c, xs, ys, want.correct, salt=99, emit=True, class_k=want.tp)
    assert counts == want
    assert commitment == commitment_of(c, xs, ys, 2, 99)
    r1cs, w = b.r1cs(), b.witness()
    r1cs.check_witness(w)
    public = public_signals(want.tp, want.fn, want.fp, want.correct, want.tp, len(xs), commitment)
    # counts, N, thresholds, commitment (then a lookup circuit's challenge, which verifiers recompute)
    assert w[1 : r1cs.n_public + 1 - (1 if r1cs.has_lookups else 0)] == public and len(public) == 4
    assert unpack_counts(public[:1], 2, len(xs)) == (want.tp, want.fn, want.fp)
    # the values-only build (witness program) gives the same witness
    def values():
        return build_evaluation(c, xs, ys, want.correct, salt=99, emit=False, class_k=want.tp)[0]

    values_only = values()
    values_only.round2(COMPILE_CHALLENGE)  # the compile-time stand-in the emitting build used
    assert values_only.witness() == w
    # Groth16 end to end (two rounds: the real challenge); a tampered per-class count or threshold
    # is another statement
    from zkml.bundle.proving import prove_built
    from zkml.groth16.setup import DevTau, setup_from_secrets
    from zkml.groth16.verifier import verify

    pk = setup_from_secrets(r1cs, DevTau.random())
    proof, got = prove_built(pk, values(), rebuild=values)
    assert got == public
    vk = pk.verifying_key()
    assert verify(vk, public, proof)
    tp = list(want.tp)
    tp[0] += 1
    assert not verify(vk, pack_counts(tp, want.fn, want.fp, len(xs)) + public[1:], proof)
    higher = public_signals(want.tp, want.fn, want.fp, want.correct, [want.tp[0], want.tp[1] + 1], len(xs), commitment)
    assert not verify(vk, higher, proof)


def test_thresholds_above_the_truth_cannot_be_proved(bc):
    c, xs, ys = bc
    want = counts_of(ys, [int(np.argmax(forward(c, x)[0])) for x in xs], 2)
    with pytest.raises(ZkmlError, match="fewer than K = 6"):
        build_evaluation(c, xs, ys, 6, salt=1, emit=False)
    with pytest.raises(ZkmlError, match=f"class 1: .* fewer than K_1 = {want.tp[1] + 1}"):
        build_evaluation(c, xs, ys, 0, salt=1, emit=False, class_k=[0, want.tp[1] + 1])
    with pytest.raises(ZkmlError, match="per-class thresholds"):
        build_evaluation(c, xs, ys, 0, salt=1, emit=False, class_k=[0])


def test_mutated_witnesses_fail(bc):
    """Changing any witness value: the counts, a threshold, a label, prediction or product bit,
    an argmax difference bit, the commitment: the circuit rejects it."""
    c, xs, ys = bc
    b, counts, _ = build_evaluation(c, xs, ys, 3, salt=1, emit=True, class_k=[0, 2])
    r1cs, w = b.r1cs(), b.witness()
    # every public signal, then private wires spread over the whole witness
    for i in list(range(1, r1cs.n_public + 1)) + list(range(r1cs.n_public + 1, len(w), max(1, len(w) // 30))):
        bad = list(w)
        bad[i] = (bad[i] + 1) % R
        with pytest.raises(UnsatisfiedWitness):
            r1cs.check_witness(bad)
    # the public thresholds re-packed with a K_1 above the truth and its decomposition to match:
    # the margin TP_1 - K_1 < 0 cannot be range-checked
    n_counts = n_count_elements(2, len(xs))
    bad = list(w)
    bad[1 + n_counts + 1] = public_signals(counts.tp, counts.fn, counts.fp, 3, [0, counts.tp[1] + 1], len(xs), 0)[n_counts + 1]
    with pytest.raises(UnsatisfiedWitness):
        r1cs.check_witness(bad)


def test_packing_roundtrip_and_refusals():
    tp, fn, fp = [3, 0, 5], [1, 2, 0], [0, 4, 1]
    packed = pack_counts(tp, fn, fp, 11)
    assert unpack_counts(packed, 3, 11) == (tp, fn, fp)
    assert unpack_counts(packed + [0], 3, 11) is None  # too many elements
    assert unpack_counts([packed[0] + (1 << 200)], 3, 11) is None  # bits above the last count
    big = pack_counts([540] * 10, [540] * 10, [540] * 10, 540)
    assert len(big) == 2 and unpack_counts(big, 10, 540) == ([540] * 10,) * 3


def test_bad_evaluation_input(bc):
    c, xs, ys = bc
    with pytest.raises(ZkmlError, match="as many labels"):
        build_evaluation(c, xs, ys[:2], 1, salt=0, emit=False)
    with pytest.raises(ZkmlError, match="K = 9"):
        build_evaluation(c, xs, ys, 9, salt=0, emit=False)
    with pytest.raises(ZkmlError, match="label 5"):
        build_evaluation(c, xs[:1], np.array([5]), 0, salt=0, emit=False)
