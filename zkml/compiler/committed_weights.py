"""Committed weights (``--weights committed``): the weights of Gemm, MatMul and Conv nodes and
their biases are private witness values, and a salted Poseidon commitment of them is a public
signal, so the verifying key is a function of the architecture alone.

Each weight tensor is allocated once as wires and range-checked to its signed width
(``weight_bits`` for weights, the recorded ``bias_bits`` for biases); every product
weight x activation is one R1CS constraint, and the products are summed linearly (plus the bias
wire). The output bounds come from the widths, not from the values: |w| < 2^(weight_bits-1),
|b| < 2^(bias_bits-1), so two weight sets quantized at the same scales give the same bounds,
the same rescale widths and the same R1CS. The commitment packs the range-checked values
(value + 2^(bits-1) in ``bits`` bits, 15 weights of 16 bits per field element,
zkml/circuit/packing.py), then hashes the packed elements and the owner's salt with
``chain_hash``: Poseidon(chain, 15 elements) per 225 weights.

What the architecture fixes (public, recorded in the manifest's ``weights.scales``): per node
the weights' fraction bits and the biases' signed width. What the owner keeps: the quantized
integers and the salt (``WeightSet``, written to ``private/weights.npz``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import numpy as np

from zkml.circuit import fixedpoint
from zkml.circuit.builder import LC, PRIVATE, CircuitBuilder, Signal
from zkml.circuit.gadgets.range_check import range_check_signed
from zkml.compiler.qtensor import QTensor
from zkml.crypto.bn254 import R
from zkml.errors import ZkmlError

WEIGHT_VISIBILITIES = ("fixed", "committed")
COMMITTED_OPS = ("Gemm", "MatMul", "Conv")  # their weight and bias inputs become private wires


class WeightsMismatch(ZkmlError):
    """A weights file that does not commit to the expected value, or does not fit the architecture."""


@dataclass
class WeightSet:
    """The owner's part of a committed-weights model: quantized integers per node and the salt.
    ``scales`` is the architecture's part (node -> {"frac", "bias_bits"}): public."""

    tensors: dict = field(default_factory=dict)  # "<node>/w", "<node>/b" -> int64 arrays
    scales: dict = field(default_factory=dict)
    salt: int = field(default_factory=lambda: secrets.randbelow(R))

    def commitment(self, weight_bits: int) -> int:
        """The value the circuit's weights commitment takes for these weights and salt."""
        from zkml.circuit.gadgets.poseidon import chain_value
        from zkml.circuit.packing import pack_values

        vals, lo, ws = self._flat(weight_bits)
        return chain_value(pack_values(vals, lo, ws) + [self.salt])

    def _flat(self, weight_bits: int):
        """Values, lower bounds and widths in the order the circuit allocates them."""
        vals, lo, ws = [], [], []
        for node in self.scales:  # the order nodes were met in the graph
            for part, bits in (("w", weight_bits), ("b", self.scales[node]["bias_bits"])):
                v = self.tensors[f"{node}/{part}"].ravel()
                vals.append(v.astype(object))
                lo.append(np.full(v.size, -(1 << (bits - 1)), dtype=object))
                ws.append(np.full(v.size, bits, np.int64))
        if not vals:
            return np.zeros(0, object), np.zeros(0, object), np.zeros(0, np.int64)
        return np.concatenate(vals), np.concatenate(lo), np.concatenate(ws)

    def n_values(self) -> int:
        return sum(int(v.size) for v in self.tensors.values())


class WeightWires:
    """The weight wires of one circuit build, in allocation order, for the commitment."""

    def __init__(self, b: CircuitBuilder, weights: WeightSet, weight_bits: int, source: str, quantize: bool = True):
        self.b, self.weights, self.weight_bits, self.source = b, weights, weight_bits, source
        self.quantize = quantize  # False: the graph's weights are zero-filled (a bundle's architecture)
        self.parts: list[tuple[Signal, int]] = []  # (wires, signed bits)
        self.by_name: dict[str, Signal] = {}  # "<node>/w" -> its wires: one allocation per circuit

    def quantized(self, ctx, node, x: QTensor, make_float):
        """(wq, bq, wf) for a node: from the weight set when it holds them (a prover's weights
        file), else quantized from the graph's constants (compiling) and added to it."""
        ws, name = self.weights, node.name
        scale = ws.scales.get(name)
        if f"{name}/w" in ws.tensors and scale is not None:
            return ws.tensors[f"{name}/w"], ws.tensors[f"{name}/b"], int(scale["frac"])
        if not self.quantize or not all(ctx.is_const(i) for i in node.inputs[1:] if i):
            raise WeightsMismatch(f"{self.source}: node '{name}' ({node.op}): its weights are not in the weights "
                                  "file; prove with the private weights file the bundle was compiled with")
        from zkml.compiler.ops.common import weight_frac

        w, bias = make_float()
        wf = int(scale["frac"]) if scale is not None else weight_frac(ctx, w)
        top = (1 << (self.weight_bits - 1)) - 1
        wq = fixedpoint.quantize(w, wf)
        if scale is not None and np.abs(wq).max(initial=0) > top + 1:
            raise WeightsMismatch(f"{self.source}: node '{name}' ({node.op}): its weights reach "
                                  f"{float(np.abs(w).max()):g}, beyond what the architecture's scale 2^-{wf} holds "
                                  f"in {self.weight_bits} bits; compile this model as its own architecture")
        wq = np.clip(wq, -top, top)  # a weight at exactly 2^(bits-1) (a power-of-two maximum) loses one unit
        bq = fixedpoint.quantize(np.asarray(bias, np.float64), x.frac + wf).ravel()
        bits = int(scale["bias_bits"]) if scale is not None else max(_signed_bits(bq) + 1, 2)
        if _signed_bits(bq) > bits:
            raise WeightsMismatch(f"{self.source}: node '{name}' ({node.op}): its biases need {_signed_bits(bq)} "
                                  f"signed bits, the architecture records {bits}; compile this model as its own architecture")
        ws.tensors[f"{name}/w"], ws.tensors[f"{name}/b"] = wq.astype(np.int64), bq.astype(np.int64)
        ws.scales[name] = {"frac": wf, "bias_bits": bits}
        return ws.tensors[f"{name}/w"], ws.tensors[f"{name}/b"], wf

    def wires(self, name: str, values: np.ndarray, bits: int) -> Signal:
        """Private wires holding a weight tensor, range-checked to ``bits`` signed bits; the same
        wires again when the graph runs once more in this circuit (an evaluation's next sample),
        so one commitment covers every sample's weights."""
        if name in self.by_name:
            return self.by_name[name]
        s = self.b.signal(np.asarray(values, np.int64).ravel(), PRIVATE)
        range_check_signed(self.b, s, bits)
        self.parts.append((s, bits))
        self.by_name[name] = s
        return s

    def commit(self) -> tuple[int, int]:
        """(wire, value) of Poseidon(packed weights, salt): the public weights commitment."""
        from zkml.circuit.gadgets.poseidon import chain_hash
        from zkml.circuit.packing import publish_packed

        b = self.b
        values = np.concatenate([s.values.ravel() for s, _ in self.parts])
        lo = np.concatenate([np.full(s.values.size, -(1 << (bits - 1)), np.int64) for s, bits in self.parts])
        hi = np.concatenate([np.full(s.values.size, (1 << (bits - 1)) - 1, np.int64) for s, bits in self.parts])
        lc = None
        if b.emit:  # one layout over every weight, as WeightSet.commitment packs them
            wires = np.concatenate([s.wires.ravel() for s, _ in self.parts])
            lc = LC.of_wires(wires)
        packed = publish_packed(b, Signal(lc, values), lo, hi, PRIVATE)
        salt = int(self.weights.salt) % R
        salt_wire = int(b.alloc(np.array([salt], dtype=object))[0])
        return chain_hash(b, [w for w, _ in packed] + [salt_wire], [v for _, v in packed] + [salt], lean=True)


def _signed_bits(q: np.ndarray) -> int:
    """The least b with -2^(b-1) <= q < 2^(b-1) for every element."""
    if not q.size:
        return 1
    lo, hi = int(q.min()), int(q.max())
    return max(hi.bit_length() + 1 if hi >= 0 else 1, (-lo - 1).bit_length() + 1 if lo < 0 else 1)


def weighted_sum(ctx, node, x: QTensor, wq: np.ndarray, bq: np.ndarray, wf: int, rows, cols, widx,
                 bidx, out_shape) -> QTensor:
    """out[i] = sum over terms t with rows[t] == i of w.flat[widx[t]] * x.flat[cols[t]], plus
    b[bidx[i]]: the weights and biases as private wires, one constraint per product, bounds
    from the widths alone. At scale x.frac + wf (the caller normalizes)."""
    ww: WeightWires = ctx.committed
    b = ctx.b
    rows, cols, widx = (np.asarray(a, np.int64).ravel() for a in (rows, cols, widx))
    n_out = int(np.prod(out_shape))
    bidx = None if bidx is None else np.asarray(bidx, np.int64).ravel()
    bias_bits = int(ww.weights.scales[node.name]["bias_bits"])
    w_sig = ww.wires(f"{node.name}/w", wq, ww.weight_bits)
    b_sig = ww.wires(f"{node.name}/b", bq, bias_bits) if bidx is not None else None
    xv = x.values.ravel()
    pv = wq.ravel()[widx] * xv[cols]
    vals = np.zeros(n_out, np.int64)
    np.add.at(vals, rows, pv)
    if bidx is not None:
        vals += bq.ravel()[bidx]
    z = b.signal(pv)
    if b.emit:
        b.enforce(w_sig.lc.take(widx), x.signal.reshape(-1).lc.take(cols), z.lc)
        if bidx is None:
            lc = LC(rows, z.wires.ravel(), np.ones(rows.size, np.int64), n_out)
        else:
            lc = LC(np.concatenate([rows, np.arange(n_out, dtype=np.int64)]),
                    np.concatenate([z.wires.ravel(), b_sig.wires.ravel()[bidx]]), np.ones(rows.size + n_out, np.int64),
                    n_out)
    else:
        b.n_constraints += pv.size
        lc = None
    # |w x| <= 2^(weight_bits-1) max(|lo|, |hi|) whatever the weights; the bias adds 2^(bias_bits-1)
    m = np.maximum(np.abs(x.lo.astype(object)), np.abs(x.hi.astype(object))).ravel()
    mi = np.array([int(v) for v in m], dtype=object)
    big = float(max(mi.max(initial=0), 1)) * float(1 << ww.weight_bits) * max(np.bincount(rows).max(initial=1), 1)
    if big < 2.0**61:
        hi = np.zeros(n_out, np.int64)
        np.add.at(hi, rows, mi.astype(np.int64)[cols] << (ww.weight_bits - 1))
    else:
        hi = np.zeros(n_out, object)
        np.add.at(hi, rows, mi[cols] * (1 << (ww.weight_bits - 1)))
    if bidx is not None:
        hi = hi + (1 << (bias_bits - 1))
    sig = Signal(lc, vals.reshape(out_shape))
    return QTensor(sig, x.frac + wf, (-hi).reshape(out_shape), hi.reshape(out_shape))


# --- a convolution as one random evaluation (lookup circuits) ------------------------------------
#
# A convolution is the matrix product Y = W X of the weights (cout x K, K = cin x kernel) and the
# patch matrix (K x positions). One product constraint per multiply-add is cout K P constraints;
# with a challenge c drawn after round 1 (which holds W, X and Y), Freivalds' check
#     sum_(o,p) c^o c^(cout p) Y[o,p] = sum_k (sum_o c^o W[o,k]) (sum_p c^(cout p) X[k,p])
# costs about cout K + K P + cout P constraints. Both sides are the polynomial in c whose
# coefficients are the entries of Y and of W X (a distinct monomial c^(o + cout p) each), so a
# Y other than W X passes for at most cout P - 1 of the r values of c (Schwartz-Zippel).


def conv_by_evaluation(ctx, node, x: QTensor, wq: np.ndarray, bq: np.ndarray, wf: int, patches: np.ndarray,
                       out_shape) -> QTensor:
    """The committed-weights convolution with Y as round-1 wires, checked in round 2.
    ``patches[k, p]``: flat index into x of the input weight k multiplies at position p, -1 for
    padding. Bounds as ``weighted_sum``'s."""
    ww: WeightWires = ctx.committed
    b = ctx.b
    cout, k = wq.shape
    n_pos = patches.shape[1]
    bias_bits = int(ww.weights.scales[node.name]["bias_bits"])
    w_sig = ww.wires(f"{node.name}/w", wq, ww.weight_bits)
    b_sig = ww.wires(f"{node.name}/b", bq, bias_bits)
    xv = np.append(x.values.ravel(), 0)
    xp = xv[np.where(patches >= 0, patches, xv.size - 1)]  # (K, P)
    yv = wq.dot(xp)  # (cout, P), int64: the bounds below keep it inside
    y = b.signal(yv.ravel())
    vals = yv + bq.reshape(-1, 1)
    lc = None
    if b.emit:
        lc = LC(np.concatenate([np.arange(cout * n_pos), np.arange(cout * n_pos)]),
                np.concatenate([y.wires.ravel(), np.repeat(b_sig.wires.ravel(), n_pos)]),
                np.ones(2 * cout * n_pos, np.int64), cout * n_pos)
    x_lc = x.signal.reshape(-1).lc if b.emit else None
    w_wires, y_wires = w_sig.wires.reshape(cout, k), y.wires.reshape(cout, n_pos)
    w_vals, y_vals = wq.astype(object) % R, yv.astype(object) % R
    xp_vals = xp.astype(object) % R

    def check(b: CircuitBuilder, c: int) -> None:
        u_w, u_v = _powers(b, b.challenge_wire, c, cout)  # c^o, o < cout (u_w[0] is None: the constant 1)
        step_v = pow(c, cout, R)
        step_w = _product(b, u_w[-1], b.challenge_wire, u_v[-1], c) if cout > 1 else b.challenge_wire
        v_w, v_v = _powers(b, step_w, step_v, n_pos)  # c^(cout p)
        # a[k] = sum_o c^o W[o, k]
        a_terms = [_scaled_wires(b, u_w, u_v, o, w_wires[o], w_vals[o]) for o in range(cout)]
        a_v = [sum(t[1][j] for t in a_terms) % R for j in range(k)]
        # bx[k] = sum_p c^(cout p) X[k, p] (padding: no term)
        bx_v = [0] * k
        bx_terms = []  # (k index, wire or LC parts)
        for p in range(n_pos):
            ks = np.flatnonzero(patches[:, p] >= 0)
            if not len(ks):
                continue
            prod_v = [(v_v[p] * int(xp_vals[j, p])) % R for j in ks]
            if p == 0:
                bx_terms.append((ks, None, patches[ks, 0]))
            else:
                zw = b.alloc(np.array(prod_v, dtype=object))
                if b.emit:
                    b.enforce(_rep(v_w[p], len(ks)), x_lc.take(patches[ks, p]), LC.of_wires(zw))
                else:
                    b.n_constraints += len(ks)
                bx_terms.append((ks, zw, None))
            for j, pv in zip(ks.tolist(), prod_v):
                bx_v[j] = (bx_v[j] + pv) % R
        # t[p] = sum_o c^o Y[o, p]; lhs = sum_p c^(cout p) t[p]
        t_terms = [_scaled_wires(b, u_w, u_v, o, y_wires[o], y_vals[o]) for o in range(cout)]
        t_v = [sum(t[1][j] for t in t_terms) % R for j in range(n_pos)]
        t_lc = _sum_terms(b, t_terms, n_pos)
        a_lc = _sum_terms(b, a_terms, k)
        bx_lc = None
        if b.emit:
            parts = []
            for ks, zw, direct in bx_terms:
                parts.append(LC(ks, zw, np.ones(len(ks), np.int64), k) if zw is not None
                             else _rows_to(x_lc.take(direct), ks, k))
            bx_lc = _concat_lcs(parts, k)
        # lhs: products c^(cout p) t[p] for p >= 1, t[0] linear; rhs: a[k] bx[k]
        lhs_v = [(v_v[p] * t_v[p]) % R for p in range(1, n_pos)]
        rhs_v = [(a_v[j] * bx_v[j]) % R for j in range(k)]
        lw = b.alloc(np.array(lhs_v, dtype=object))
        rw = b.alloc(np.array(rhs_v, dtype=object))
        if b.emit:
            if n_pos > 1:
                b.enforce(LC.of_wires(np.array(v_w[1:], np.int64)), t_lc.take(np.arange(1, n_pos)), LC.of_wires(lw))
            b.enforce(a_lc, bx_lc, LC.of_wires(rw))
            lhs = LC(np.zeros(len(lw), np.int64), lw, np.ones(len(lw), np.int64), 1) + t_lc.take(np.array([0]))
            rhs = LC(np.zeros(len(rw), np.int64), rw, np.ones(len(rw), np.int64), 1)
            b.enforce_linear(lhs - rhs)
        else:
            b.n_constraints += len(lhs_v) + len(rhs_v) + 1

    b.after_challenge(check)
    m = np.maximum(np.abs(x.lo.astype(object)), np.abs(x.hi.astype(object))).ravel()
    mp = np.append(m, 0)[np.where(patches >= 0, patches, m.size)]  # (K, P)
    hi = np.array([int(v) for v in mp.sum(axis=0)], dtype=object) * (1 << (ww.weight_bits - 1)) + (1 << (bias_bits - 1))
    hi = np.tile(hi, cout)
    if max(hi, default=0) < 2**62:
        hi = hi.astype(np.int64)
    sig = Signal(lc, vals.reshape(out_shape))
    return QTensor(sig, x.frac + wf, (-hi).reshape(out_shape), hi.reshape(out_shape))


def _product(b: CircuitBuilder, aw, bw, av, bv) -> int:
    """A wire holding aw * bw (values av, bv): one constraint."""
    v = av * bv % R
    w = int(b.alloc(np.array([v], dtype=object))[0])
    if b.emit:
        b.enforce(LC.of_wires(np.array([aw], np.int64)), LC.of_wires(np.array([bw], np.int64)),
                  LC.of_wires(np.array([w], np.int64)))
    else:
        b.n_constraints += 1
    return w


def _powers(b: CircuitBuilder, base_w: int, base_v: int, n: int):
    """Wires of base^i for i < n (index 0 is None: the constant 1; index 1 is base_w) and values."""
    ws, vs = [None], [1]
    for i in range(1, n):
        vs.append(vs[-1] * base_v % R)
        ws.append(base_w if i == 1 else _product(b, ws[-1], base_w, vs[-2], base_v))
    return ws, vs


def _scaled_wires(b: CircuitBuilder, u_w, u_v, o: int, wires: np.ndarray, vals: np.ndarray):
    """(wires or None, values) of u^o * each wire: the wires themselves for o = 0 (no constraint)."""
    scaled = [(u_v[o] * int(v)) % R for v in vals.tolist()]
    if o == 0:
        return (wires, scaled, True)
    zw = b.alloc(np.array(scaled, dtype=object))
    if b.emit:
        b.enforce(_rep(u_w[o], len(wires)), LC.of_wires(np.asarray(wires, np.int64)), LC.of_wires(zw))
    else:
        b.n_constraints += len(wires)
    return (zw, scaled, False)


def _sum_terms(b: CircuitBuilder, terms, n: int):
    if not b.emit:
        return None
    return _concat_lcs([LC(np.arange(n, dtype=np.int64), np.asarray(w, np.int64).ravel(), np.ones(n, np.int64), n)
                        for w, _, _ in terms], n)


def _rep(w: int, n: int) -> LC:
    return LC(np.arange(n, dtype=np.int64), np.full(n, w, np.int64), np.ones(n, np.int64), n)


def _rows_to(lc: LC, rows: np.ndarray, k: int) -> LC:
    """The combinations of lc placed at rows ``rows`` of a batch of k."""
    return LC(np.asarray(rows, np.int64)[lc.rows], lc.wires, lc.coeffs, k)


def _concat_lcs(parts: list, k: int) -> LC:
    """The sum of LC batches of the same length k."""
    obj = any(p.coeffs.dtype == object for p in parts)
    return LC(np.concatenate([p.rows for p in parts]), np.concatenate([p.wires for p in parts]),
              np.concatenate([p.coeffs.astype(object) if obj else p.coeffs for p in parts]), k)
