"""Evaluation (safety) claims: "this model gets at least K of these N committed samples right,
and at least K_c of the samples of class c", with the confusion counts of every class.

One circuit runs the model on each of N private inputs and reads the private label of each as a
one-hot vector (bits, exactly one set). The prediction is a second one-hot vector, constrained
to be the first argmax of the logits (numpy's and onnxruntime's ArgMax rule): for the predicted
class p, logit_p - logit_j - [j < p] >= 0 for every j, so ties go to the lowest index and the
prediction is unique. Per sample and class, tp = label_c * pred_c (one product); then over the
samples TP_c = sum tp, FN_c = sum label_c - TP_c, FP_c = sum pred_c - TP_c (linear, free), and
the overall count is sum_c TP_c. The circuit enforces count >= K and TP_c >= K_c and publishes
the packed counts, N, the packed thresholds and a Poseidon commitment to (inputs, labels, salt)
(zkml/compiler/evaluation_signals.py); with --weights committed every sample runs on one set of
private weight wires and their commitment is the last public signal. Soundness rests on the inference gadgets (range checks,
exact rescaling), booleanity and one-hotness of both vectors, and the range-checked argmax
differences, margins and thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zkml.circuit.builder import LC, PUBLIC_INPUT, PUBLIC_OUTPUT, CircuitBuilder, Signal
from zkml.circuit.gadgets.poseidon import chain_hash, chain_value
from zkml.circuit.gadgets.range_check import range_check_unsigned
from zkml.circuit.packing import publish_packed
from zkml.compiler.compile import Compiled, finish_round1, quantize_input, run_graph
from zkml.compiler.evaluation_signals import count_width
from zkml.errors import ZkmlError


@dataclass
class Counts:
    """What an evaluation proves: per-class true positives, false negatives, false positives."""

    tp: list[int]
    fn: list[int]
    fp: list[int]

    @property
    def correct(self) -> int:
        return sum(self.tp)

    @property
    def n(self) -> int:
        return sum(self.tp) + sum(self.fn)


def counts_of(labels, predictions, n_classes: int) -> Counts:
    """The confusion counts of predicted against true labels (outside the circuit)."""
    tp, fn, fp = [0] * n_classes, [0] * n_classes, [0] * n_classes
    for y, p in zip(labels, predictions):
        y, p = int(y), int(p)
        if y == p:
            tp[y] += 1
        else:
            fn[y] += 1
            fp[p] += 1
    return Counts(tp, fn, fp)


def _bits(b: CircuitBuilder, values: np.ndarray) -> tuple[np.ndarray, LC | None]:
    """Private wires holding a one-hot vector, constrained to bits with exactly one set."""
    n = values.size
    w = b.alloc(values)
    if not b.emit:
        b.n_constraints += n + 1
        return w, None
    lc = LC.of_wires(w)
    b.enforce(lc, lc, lc)
    b.enforce_linear(LC(np.zeros(n, np.int64), w, np.ones(n, np.int64), 1) - LC.constant([1]))
    return w, lc


def _classify(b: CircuitBuilder, logits, label: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(label wires, prediction wires, tp wires, predicted class) of one sample."""
    t = logits.values.ravel().astype(np.int64)
    n = t.size
    pred = int(np.argmax(t))  # the first maximum
    label_v, pred_v = np.zeros(n, np.int64), np.zeros(n, np.int64)
    label_v[label], pred_v[pred] = 1, 1
    label_w, label_lc = _bits(b, label_v)
    pred_w, pred_lc = _bits(b, pred_v)
    prods_v = pred_v * t  # chosen logit = sum_j pred_j * logit_j: one product per class
    prods = b.alloc(prods_v)
    logit_lc = logits.signal.lc.take(np.arange(n)) if b.emit else None
    if b.emit:
        b.enforce(pred_lc, logit_lc, LC.of_wires(prods))
    else:
        b.n_constraints += n
    # diff_j = chosen - logit_j - [j < pred], with [j < pred] = sum_{p > j} pred_p: all >= 0
    before = (np.arange(n) < pred).astype(np.int64)
    diff_v = int(t[pred]) - t - before
    diff_lc = None
    if b.emit:
        rows = np.repeat(np.arange(n, dtype=np.int64), n)
        chosen = LC(rows, np.tile(prods, n), np.ones(n * n, np.int64), n)
        later_r, later_w = zip(*[(j, int(pred_w[p])) for j in range(n) for p in range(j + 1, n)]) if n > 1 else ((), ())
        later = LC(np.array(later_r, np.int64), np.array(later_w, np.int64), np.ones(len(later_r), np.int64), n)
        diff_lc = chosen - logit_lc - later
    span = int(logits.hi.max()) - int(logits.lo.min())
    range_check_unsigned(b, Signal(diff_lc, diff_v), max(1, span.bit_length()))
    tp_v = label_v * pred_v  # true positive of class c: label_c * pred_c
    tp = b.alloc(tp_v)
    if b.emit:
        b.enforce(label_lc, pred_lc, LC.of_wires(tp))
    else:
        b.n_constraints += n
    return label_w, pred_w, tp, pred


def _sum_lc(columns: list[np.ndarray], signs: list[int], n_samples: int) -> LC:
    """Per class c: sum over samples of sign * column[i][c] for each (column, sign)."""
    rows, wires, coeffs = [], [], []
    for cols, sign in zip(columns, signs):
        arr = np.asarray(cols, np.int64)  # (samples, classes)
        rows.append(np.tile(np.arange(arr.shape[1], dtype=np.int64), n_samples))
        wires.append(arr.ravel())
        coeffs.append(np.full(arr.size, sign, np.int64))
    k = np.asarray(columns[0]).shape[1]
    return LC(np.concatenate(rows), np.concatenate(wires), np.concatenate(coeffs), k)


def build_evaluation(c: Compiled, xs: np.ndarray, labels: np.ndarray, k: int, salt: int, emit: bool,
                     chunk_index: int | None = None, class_k=None):
    """(builder, counts, commitment) for the claim "at least k of these samples are right and
    at least class_k[c] true positives of class c" (class_k defaults to zeros).

    With ``chunk_index`` the circuit proves one chunk of a larger test set: the index is a public
    input and the first value under the commitment, so a chunk proof cannot stand at another
    position of the set's Merkle tree. Public signals: zkml/compiler/evaluation_signals.py."""
    n = len(xs)
    if n == 0 or len(labels) != n:
        raise ZkmlError(f"an evaluation needs as many labels as samples (got {n} samples, {len(labels)} labels)")
    if not 0 <= k <= n:
        raise ZkmlError(f"K = {k} must lie between 0 and N = {n}")
    b = CircuitBuilder(emit=emit, lookups=bool(c.config.lookups))
    committed_w, committed_v = [], []
    label_ws, pred_ws, tp_ws, preds = [], [], [], []
    n_classes = None
    for i, (x, label) in enumerate(zip(xs, labels)):
        xq = quantize_input(c, x, f"sample {i}")
        x_wires, _, outputs = run_graph(b, c, xq)
        b.where = f"sample {i}"
        logits = outputs[0]
        n_classes = logits.values.size
        if not 0 <= int(label) < n_classes:
            raise ZkmlError(f"sample {i}: label {label} is not a class of the model's {n_classes} outputs")
        if i == 0:
            class_k = [0] * n_classes if class_k is None else [int(v) for v in class_k]
            if len(class_k) != n_classes:
                raise ZkmlError(f"{len(class_k)} per-class thresholds for a model of {n_classes} classes")
        label_w, pred_w, tp_w, pred = _classify(b, logits, int(label))
        label_ws.append(label_w), pred_ws.append(pred_w), tp_ws.append(tp_w), preds.append(pred)
        for w, v in _packed_sample(b, np.asarray(x_wires).ravel(), xq.ravel(), np.asarray(label_w).ravel(),
                                   int(label), n_classes, c.input_bits):
            committed_w.append(w)
            committed_v.append(v)
    counts = counts_of(labels, preds, n_classes)
    if counts.correct < k:
        raise ZkmlError(f"the model gets {counts.correct} of {n} right, fewer than K = {k}: the claim is false")
    for cls, (got, want) in enumerate(zip(counts.tp, class_k)):
        if not 0 <= want <= n:
            raise ZkmlError(f"class {cls}: K_{cls} = {want} must lie between 0 and N = {n}")
        if got < want:
            raise ZkmlError(f"class {cls}: the model gets {got} of its samples right, fewer than K_{cls} = {want}: "
                            "the claim is false")
    salt_w = int(b.alloc(np.array([salt], dtype=object))[0])
    if chunk_index is not None:
        idx_w = int(b.alloc(np.array([chunk_index], np.int64), PUBLIC_INPUT)[0])
        committed_w = [idx_w] + committed_w
        committed_v = [chunk_index] + committed_v
    cw, cv = chain_hash(b, committed_w + [salt_w], committed_v + [salt])
    width = count_width(n)
    # the counts, interleaved (TP_c, FN_c, FP_c) per class, as linear combinations of the bits
    vals = np.array([v for cls in range(n_classes) for v in (counts.tp[cls], counts.fn[cls], counts.fp[cls])], np.int64)
    count_lc = None
    tp_lc = None
    if emit:
        tp_lc = _sum_lc([tp_ws], [1], n)
        fn_lc = _sum_lc([label_ws, tp_ws], [1, -1], n)
        fp_lc = _sum_lc([pred_ws, tp_ws], [1, -1], n)
        inter = np.arange(3 * n_classes).reshape(n_classes, 3)
        count_lc = LC(np.concatenate([inter[tp_lc.rows, 0], inter[fn_lc.rows, 1], inter[fp_lc.rows, 2]]),
                      np.concatenate([tp_lc.wires, fn_lc.wires, fp_lc.wires]),
                      np.concatenate([tp_lc.coeffs, fn_lc.coeffs, fp_lc.coeffs]), 3 * n_classes)
    publish_packed(b, Signal(count_lc, vals), np.zeros(vals.size, np.int64), np.full(vals.size, n, np.int64), PUBLIC_OUTPUT)
    b.publish(b.constant([n]), PUBLIC_INPUT)
    # thresholds: private values range-checked to the width, published packed
    th_v = np.array([k] + class_k, np.int64)
    th = b.signal(th_v)
    range_check_unsigned(b, th, width)
    publish_packed(b, th, np.zeros(th_v.size, np.int64), np.full(th_v.size, (1 << width) - 1, np.int64), PUBLIC_INPUT)
    b.publish(Signal(LC.of_wires(np.array([cw])) if emit else None, np.array([cv], dtype=object)), PUBLIC_INPUT)
    if c.config.weights == "committed":  # every sample ran on the same weight wires: one commitment, last
        ww, wv = b.weight_wires.commit()
        c.weights_commitment = int(wv)
        b.publish(Signal(LC.of_wires(np.array([ww])) if emit else None, np.array([wv], dtype=object)), PUBLIC_INPUT)
    # margins count - K and TP_c - K_c in [0, 2^width): at least K right, at least K_c of class c
    margin_v = np.array([counts.correct - k] + [t - kk for t, kk in zip(counts.tp, class_k)], np.int64)
    margin_lc = None
    if emit:
        total = LC(np.zeros(len(tp_lc.rows), np.int64), tp_lc.wires, tp_lc.coeffs, 1)
        per_class = LC(tp_lc.rows + 1, tp_lc.wires, tp_lc.coeffs, n_classes + 1)
        margin_lc = LC(np.concatenate([total.rows, per_class.rows]), np.concatenate([total.wires, per_class.wires]),
                       np.concatenate([total.coeffs, per_class.coeffs]), n_classes + 1) - th.lc
    b.where = "the counts"
    range_check_unsigned(b, Signal(margin_lc, margin_v), width)
    finish_round1(b)  # after every public wire: the challenge is the last public input
    return b, counts, cv


PACK_BITS = 248  # bits of values packed into one field element before the commitment hashes it


def _sample_fields(xq: np.ndarray, label: int, n_classes: int, input_bits: int) -> list[tuple[list[int], int]]:
    """A sample as the commitment hashes it: (values, width) groups, each value in [0, 2^width):
    the input shifted by 2^(bits-1), then the one-hot label bits."""
    half = 1 << (input_bits - 1)
    return [([int(q) + half for q in xq], input_bits), ([int(j == label) for j in range(n_classes)], 1)]


def _pack(values: list[int], width: int) -> list[int]:
    per = PACK_BITS // width
    return [sum(v << (width * k) for k, v in enumerate(values[i:i + per])) for i in range(0, len(values), per)]


def _packed_sample(b: CircuitBuilder, x_wires, xq, label_wires, label: int, n_classes: int, input_bits: int):
    """(wire, value) of each packed field element of one sample: a wire equal to the linear
    combination sum_k 2^(width k) (v_k + offset). Sound because every packed value is
    range-checked to its width already (the input by run_graph, the one-hot bits as bits), so
    distinct samples never pack alike; the commitment then hashes a few elements per sample
    instead of one per pixel."""
    from zkml.circuit.gadgets.poseidon import _lc_obj

    out = []
    half = 1 << (input_bits - 1)
    for (values, width), wires, offset in zip(_sample_fields(xq, label, n_classes, input_bits),
                                              (np.asarray(x_wires).ravel(), np.asarray(label_wires).ravel()),
                                              (half, 0)):
        per = PACK_BITS // width
        for i, packed in enumerate(_pack(values, width)):
            ws = [int(w) for w in wires[i * per:(i + 1) * per]]
            pw = int(b.alloc(np.array([packed], dtype=object))[0])
            if b.emit:
                shifts = [1 << (width * k) for k in range(len(ws))]
                lc = _lc_obj([0] * (len(ws) + 2), ws + [0, pw], shifts + [offset * sum(shifts), -1], 1)
                b.enforce_linear(lc)
            else:
                b.n_constraints += 1
            out.append((pw, packed))
    return out


def commitment_of(c: Compiled, xs: np.ndarray, labels: np.ndarray, n_classes: int, salt: int,
                  chunk_index: int | None = None) -> int:
    """The dataset commitment ``build_evaluation`` publishes, computed outside the circuit:
    Poseidon, chained, over [chunk index], each sample's packed fields (``_sample_fields``), salt."""
    vals = [] if chunk_index is None else [chunk_index]
    for i, (x, label) in enumerate(zip(xs, labels)):
        xq = quantize_input(c, x, f"sample {i}").ravel()
        for values, width in _sample_fields(xq, int(label), n_classes, c.input_bits):
            vals += _pack(values, width)
    return chain_value(vals + [salt])
