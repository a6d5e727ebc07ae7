"""Evaluation claims: at least K of N committed samples right, proved in one circuit."""

import numpy as np
import pytest

from conftest import ROOT
from zkml.compiler.compile import compile_model, forward
from zkml.compiler.evaluate import build_evaluation, commitment_of
from zkml.crypto.bn254 import R, ints_to_limbs
from zkml.errors import UnsatisfiedWitness, ZkmlError

MODELS = ROOT / "models"


@pytest.fixture(scope="module")
def bc():
    c = compile_model(MODELS / "breast_cancer.onnx", np.load(MODELS / "breast_cancer_calibration.npz")["x"])
    data = np.load(MODELS / "breast_cancer_test.npz")
    return c, data["x"][:6], data["y"][:6]


def test_count_commitment_and_proof(bc):
    c, xs, ys = bc
    right = sum(int(np.argmax(forward(c, x)[0]) == y) for x, y in zip(xs, ys))
    b, count, commitment = build_evaluation(c, xs, ys, right, salt=99, emit=True)
    assert count == right
    assert commitment == commitment_of(c, xs, ys, 2, 99)
    r1cs, w = b.r1cs(), b.witness()
    r1cs.check_witness(w)
    assert w[1 : r1cs.n_public + 1] == [count, len(xs), right, commitment]
    # the values-only build (witness program) gives the same witness
    values_only, _, _ = build_evaluation(c, xs, ys, right, salt=99, emit=False)
    assert values_only.witness() == w
    # Groth16 end to end
    from zkml.engines.cpu.prover import prove
    from zkml.groth16.setup import DevTau, setup_from_secrets
    from zkml.groth16.verifier import verify

    pk = setup_from_secrets(r1cs, DevTau.random())
    proof = prove(pk, ints_to_limbs(w))
    assert verify(pk.verifying_key(), w[1:5], proof)
    assert not verify(pk.verifying_key(), [count + 1, len(xs), right, commitment], proof)


def test_false_claims_and_mutations_fail(bc):
    c, xs, ys = bc
    right = sum(int(np.argmax(forward(c, x)[0]) == y) for x, y in zip(xs, ys))
    wrong = ys.copy()
    wrong[0] = 1 - wrong[0]  # one label flipped: the model can no longer get all of them right
    with pytest.raises(ZkmlError, match="fewer than K"):
        build_evaluation(c, xs, wrong, len(xs), salt=1, emit=False)
    b, _, _ = build_evaluation(c, xs, ys, right, salt=1, emit=True)
    r1cs, w = b.r1cs(), b.witness()
    # claiming a larger count, or flipping a correctness or one-hot bit, breaks the circuit
    for i in [1] + list(range(r1cs.n_public + 1, len(w), max(1, len(w) // 60))):
        bad = list(w)
        bad[i] = (bad[i] + 1) % R
        with pytest.raises(UnsatisfiedWitness):
            r1cs.check_witness(bad)


def test_bad_evaluation_input(bc):
    c, xs, ys = bc
    with pytest.raises(ZkmlError, match="as many labels"):
        build_evaluation(c, xs, ys[:2], 1, salt=0, emit=False)
    with pytest.raises(ZkmlError, match="K = 9"):
        build_evaluation(c, xs, ys, 9, salt=0, emit=False)
    with pytest.raises(ZkmlError, match="label 5"):
        build_evaluation(c, xs[:1], np.array([5]), 0, salt=0, emit=False)
