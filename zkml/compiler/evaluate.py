"""Evaluation (safety) claims: "this model gets at least K of these N committed samples right".

One circuit runs the model on each of N private inputs, reads the private label of each as a
one-hot vector (bits, exactly one set), and counts a sample as correct when the labelled logit
is >= every other logit (ties count as correct: the claim is about the model's top score).
It enforces count >= K and publishes [Poseidon commitment to (inputs, labels, salt), N, K,
count]. Soundness rests on the same gadgets as inference (range checks, exact rescaling), plus
booleanity of the one-hot bits and sign bits of the logit differences.
"""

from __future__ import annotations

import numpy as np

from zkml.circuit import fixedpoint
from zkml.circuit.builder import LC, PUBLIC_INPUT, PUBLIC_OUTPUT, CircuitBuilder, Signal
from zkml.circuit.gadgets.poseidon import chain_hash, chain_value
from zkml.circuit.gadgets.range_check import range_check_unsigned
from zkml.circuit.gadgets.relu import nonnegative
from zkml.compiler.compile import Compiled, finish_round1, quantize_input, run_graph
from zkml.errors import ZkmlError


def _one(w: int) -> LC:
    return LC.of_wires(np.array([w]))


def _correct_bit(b: CircuitBuilder, logits, label: int) -> int:
    """Wire of 1 iff logits[label] >= logits[j] for every j (label chosen by one-hot bits)."""
    t = logits.values.ravel()
    n = t.size
    onehot_v = np.zeros(n, np.int64)
    onehot_v[label] = 1
    onehot = b.alloc(onehot_v)
    oh = LC.of_wires(onehot)
    if b.emit:
        b.enforce(oh, oh, oh)  # bits
        b.enforce_linear(LC(np.zeros(n, np.int64), onehot, np.ones(n, np.int64), 1) - LC.constant([1]))  # exactly one
    else:
        b.n_constraints += n + 1
    # chosen = sum_j onehot_j * logit_j: one product per class
    prods_v = onehot_v * t
    prods = b.alloc(prods_v)
    if b.emit:
        b.enforce(oh, logits.signal.lc.take(np.arange(n)), LC.of_wires(prods))
    else:
        b.n_constraints += n
    chosen_v = int(prods_v.sum())
    lo, hi = int(logits.lo.min()), int(logits.hi.max())
    bits = fixedpoint.bits_for(lo - hi, hi - lo)
    diff_lc = None
    if b.emit:
        chosen_lc = LC(np.zeros(n, np.int64), prods, np.ones(n, np.int64), 1).take(np.zeros(n, np.int64))
        diff_lc = chosen_lc - logits.signal.lc.take(np.arange(n))
    signs = nonnegative(b, Signal(diff_lc, chosen_v - t), bits)  # 1 iff diff >= 0
    acc_w, acc_v = int(signs[0]), int(chosen_v - t[0] >= 0)
    for j in range(1, n):  # AND of the sign bits
        v = acc_v * int(chosen_v - t[j] >= 0)
        w = int(b.alloc(np.array([v]))[0])
        if b.emit:
            b.enforce(_one(acc_w), _one(int(signs[j])), _one(w))
        else:
            b.n_constraints += 1
        acc_w, acc_v = w, v
    return acc_w, acc_v, onehot


def build_evaluation(c: Compiled, xs: np.ndarray, labels: np.ndarray, k: int, salt: int, emit: bool,
                     chunk_index: int | None = None):
    """(builder, count, commitment) for the claim "at least k of these samples are right".

    With ``chunk_index`` the circuit proves one chunk of a larger test set: the index is a public
    input and the first value under the commitment, so a chunk proof cannot stand at another
    position of the set's Merkle tree. Public signals: [count, index, N, K, commitment]."""
    n = len(xs)
    if n == 0 or len(labels) != n:
        raise ZkmlError(f"an evaluation needs as many labels as samples (got {n} samples, {len(labels)} labels)")
    if not 0 <= k <= n:
        raise ZkmlError(f"K = {k} must lie between 0 and N = {n}")
    b = CircuitBuilder(emit=emit, lookups=bool(c.config.lookups))
    correct, committed_w, committed_v = [], [], []
    for i, (x, label) in enumerate(zip(xs, labels)):
        xq = quantize_input(c, x, f"sample {i}")
        x_wires, _, outputs = run_graph(b, c, xq)
        b.where = f"sample {i}"
        logits = outputs[0]
        if not 0 <= int(label) < logits.values.size:
            raise ZkmlError(f"sample {i}: label {label} is not a class of the model's {logits.values.size} outputs")
        w, v, onehot = _correct_bit(b, logits, int(label))
        correct.append((w, v))
        committed_w += [int(q) for q in np.asarray(x_wires).ravel()] + [int(q) for q in onehot]
        committed_v += [int(q) for q in xq.ravel()] + [int(j == int(label)) for j in range(logits.values.size)]
    salt_w = int(b.alloc(np.array([salt], dtype=object))[0])
    if chunk_index is not None:
        idx_w = int(b.alloc(np.array([chunk_index], np.int64), PUBLIC_INPUT)[0])
        committed_w = [idx_w] + committed_w
        committed_v = [chunk_index] + committed_v
    cw, cv = chain_hash(b, committed_w + [salt_w], committed_v + [salt])
    count_v = sum(v for _, v in correct)
    count = Signal(LC(np.zeros(n, np.int64), np.array([w for w, _ in correct]), np.ones(n, np.int64), 1) if emit else None,
                   np.array([count_v]))
    n_pub = b.publish(b.constant([n]), PUBLIC_INPUT)
    k_pub = b.signal([k], PUBLIC_INPUT)
    b.publish(Signal(LC.of_wires(np.array([cw])) if emit else None, np.array([cv], dtype=object)), PUBLIC_INPUT)
    count_pub = b.publish(count, PUBLIC_OUTPUT)
    # count - K in [0, 2^bits): at least K right
    margin = Signal(count_pub.lc - k_pub.lc if emit else None, np.array([count_v - k]))
    if count_v < k:
        raise ZkmlError(f"the model gets {count_v} of {n} right, fewer than K = {k}: the claim is false")
    b.where = "the count"
    range_check_unsigned(b, margin, max(1, int(n).bit_length()))
    del n_pub
    finish_round1(b)  # after every public wire: the challenge is the last public input
    return b, count_v, cv


def commitment_of(c: Compiled, xs: np.ndarray, labels: np.ndarray, n_classes: int, salt: int,
                  chunk_index: int | None = None) -> int:
    """The dataset commitment ``build_evaluation`` publishes, computed outside the circuit."""
    vals = [] if chunk_index is None else [chunk_index]
    for i, (x, label) in enumerate(zip(xs, labels)):
        vals += [int(q) for q in quantize_input(c, x, f"sample {i}").ravel()] + [int(j == int(label)) for j in range(n_classes)]
    return chain_value(vals + [salt])
