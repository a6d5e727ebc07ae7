"""Is this proving key made for exactly this R1CS from this powers of tau? The check
``snarkjs zkey verify`` makes (zkey_verify_frominit.js), on the engine's arithmetic:

1. the initial key is what the R1CS and the ``.ptau`` give (as ``setup.setup_from_ptau`` makes it);
2. alpha1, beta1, beta2, gamma2 and the A/B coefficients (as a multiset) must equal the ptau's
   and the R1CS's exactly; the IC, A, B1 and B2 points must be the R1CS's combinations of the
   ptau's Lagrange points, checked as one random linear combination per section (128-bit
   weights w_i: sum w_i A_i = sum_j (sum_i w_i A[j, i]) L_j, so one MSM over the ptau's points
   and one over the key's instead of a scalar multiplication per coefficient; snarkjs recomputes
   the sections and compares bytes, the same statement up to a 2^-128 chance);
3. the points that phase 2 divides by delta (C, H) must be those combinations over the key's
   delta: e(sum w_i P_i, delta2) = e(sum w_i P0_i, G2), one product of two pairings per section;
4. delta1 and delta2 agree: e(delta1, G2) = e(G1, delta2);
5. every recorded contribution is valid: its transcript is the hash of what precedes it, it
   proves knowledge of its x (e(s, x sp) = e(x s, sp), sp hashed from the transcript), and
   delta moves by that x (e(delta_before, x sp) = e(delta_after, sp)); the chain starts at the
   generator and ends at the key's delta. Records made by zkml (``contribute.py``) and by
   snarkjs (``snarkjs_records.py``) are both recognised.

What it does not check: that the ``.ptau`` is itself a valid powers of tau (``snarkjs
powersoftau verify`` does that), and that some contributor threw its secret away — nothing can.
Pairings are the engine's (``zkml.engines.cpu.native``), as in ``fast_verify``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from zkml.crypto.bn254 import G1_GENERATOR, G2_GENERATOR, Q, g1_from_array, g1_to_array, g2_from_pyecc, g2_to_array
from zkml.groth16.data_structures import Contribution, ProvingKey


@dataclass
class KeyReport:
    """What the check found: ``problems`` empty means the key is the circuit's."""

    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    contributions: list[str] = field(default_factory=list)  # one line per valid record

    @property
    def ok(self) -> bool:
        return not self.problems

    def line(self) -> str:
        """``key ok`` or ``key FAIL: <first problem>`` (the audit's key column)."""
        return "key ok" if self.ok else f"key FAIL: {self.problems[0]}"


@dataclass
class DeltaRound:
    """One delta of a key: the points phase 2 divides by it (name, key's, recomputed initial
    ones) and the contribution records that moved it."""

    name: str
    delta1: np.ndarray
    delta2: np.ndarray
    over_delta: list[tuple[str, np.ndarray, int | None]]  # (section, key points, first signal; None: H)
    contributions: list[Contribution]
    csh: bytes = b""  # the circuit hash the records' transcripts start from
    round_delta: bool = False  # a lookup key's delta_round (its records hash a domain tag of their own)


def delta_rounds(pk: ProvingKey, n_public: int) -> list[DeltaRound]:
    """The deltas of ``pk`` with the private signals each divides: a plain Groth16 key has one;
    a lookup key two, delta_round over the first n_round1 private C points (committed in D) and
    delta over the other C points and H, each with its own contribution records. The sections
    are (name, key points, first signal)."""
    first = n_public + 1
    if not pk.has_lookups:
        return [DeltaRound("delta", pk.delta1, pk.delta2, [("C", pk.c, first), ("H", pk.h, None)],
                           list(pk.contributions), pk.csh)]
    n1 = pk.n_round1
    return [DeltaRound("delta_round", pk.delta_round1, pk.delta_round2, [("round-1 C", pk.c[:n1], first)],
                       list(pk.round_contributions), pk.csh, round_delta=True),
            DeltaRound("delta", pk.delta1, pk.delta2, [("round-2 C", pk.c[n1:], first + n1), ("H", pk.h, None)],
                       list(pk.contributions), pk.csh)]


def _kernels():
    from zkml.engines.cpu.native import kernels

    return kernels()


def _neg1(a: np.ndarray) -> np.ndarray:
    p = g1_from_array(a)
    return g1_to_array(None if p is None else (p[0], (Q - p[1]) % Q))


def same_ratio(a1: np.ndarray, b1: np.ndarray, a2: np.ndarray, b2: np.ndarray) -> bool:
    """e(a1, b2) == e(b1, a2), i.e. b1 / a1 = b2 / a2 in the exponent (snarkjs's sameRatio),
    as one product of two pairings in the engine."""
    g1 = np.ascontiguousarray(np.stack([a1, _neg1(b1)]), np.uint64)
    g2 = np.ascontiguousarray(np.stack([b2, a2]), np.uint64)
    return bool(_kernels().pairing_product_is_one(g1, g2))


def _random_weights(n: int) -> np.ndarray:
    w = np.frombuffer(secrets.token_bytes(16 * n), np.uint64).reshape(n, 2)
    out = np.zeros((n, 4), np.uint64)
    out[:, :2] = w
    out[:, 0] |= np.uint64(1)
    return out


def _msm(points: np.ndarray, weights: np.ndarray) -> np.ndarray:
    from zkml.engines.cpu.msm import msm_g1

    return msm_g1(np.ascontiguousarray(points, np.uint64), weights)


def _coefficients(pk: ProvingKey) -> np.ndarray:
    """The A/B coefficients as sorted rows (matrix, constraint, signal, value limbs)."""
    rows = np.column_stack([pk.coef_matrix.astype(np.uint64), pk.coef_constraint.astype(np.uint64),
                            pk.coef_signal.astype(np.uint64), np.asarray(pk.coef_value, np.uint64).reshape(-1, 4)])
    return rows[np.lexsort(rows.T[::-1])] if len(rows) else rows


class _Expected:
    """What the R1CS and the ptau say a key's points are, as random linear combinations: for
    weights w_i over signals, sum_i w_i A_i = sum_j (sum_i w_i A[j, i]) L_j (L_j the ptau's
    Lagrange points), so each section costs one MSM over the ptau's points and one over the
    key's, instead of a scalar multiplication per R1CS coefficient."""

    def __init__(self, r1cs, ptau, n: int):
        from zkml.groth16 import setup

        self.terms = setup.qap_coefficients(r1cs)
        self.n, self.n_vars, self.ptau = n, r1cs.n_wires, ptau
        self.lag = np.ascontiguousarray(ptau.lagrange_g1(n))
        self.lag_alpha = np.ascontiguousarray(ptau.lagrange_alpha_g1(n))
        self.lag_beta = np.ascontiguousarray(ptau.lagrange_beta_g1(n))
        self.weights = _random_weights(self.n_vars)
        self._folds = {}

    def fold(self, matrix: int, lo: int, hi: int) -> np.ndarray:
        """s_j = sum over signals lo <= i < hi of w_i M[j, i], standard-form (n, 4) limbs."""
        key = (matrix, lo, hi)
        if key not in self._folds:
            from zkml.crypto.bn254 import R, ints_to_limbs, limbs_to_ints
            from zkml.engines.cpu import qap_eval

            rows, cols, vals = self.terms[matrix]
            pick = (cols >= lo) & (cols < hi)
            basis = np.zeros((self.n_vars, 4), np.uint64)  # the weights in Montgomery form
            basis[lo:hi] = ints_to_limbs([(x << 256) % R for x in limbs_to_ints(self.weights[lo:hi])])
            out = np.zeros((self.n, 4), np.uint64)
            # out[row] += value * weight[signal]: accumulate_range with the roles of its index arrays swapped
            qap_eval.accumulate_range(np.ascontiguousarray(cols[pick], np.uint32), np.ascontiguousarray(rows[pick], np.uint32),
                                      np.ascontiguousarray(vals[pick]), basis, out, 0, int(pick.sum()))
            self._folds[key] = out
        return self._folds[key]

    def g1(self, matrix: int, lo: int, hi: int) -> np.ndarray:
        return _msm(self.lag, self.fold(matrix, lo, hi))

    def k(self, lo: int, hi: int) -> np.ndarray:
        """sum_i w_i (beta u_i + alpha v_i + w_i(tau)) over signals [lo, hi): IC and C, times delta."""
        from zkml.engines.cpu.msm import msm_g1

        pts = np.concatenate([self.lag_beta, self.lag_alpha, self.lag])
        return msm_g1(pts, np.concatenate([self.fold(0, lo, hi), self.fold(1, lo, hi), self.fold(2, lo, hi)]))

    def b2(self) -> np.ndarray:
        from zkml.engines.cpu.msm import msm_g2

        return msm_g2(np.ascontiguousarray(self.ptau.lagrange_g2(self.n)), self.fold(1, 0, self.n_vars))

    def key_side(self, points: np.ndarray, lo: int, g2: bool = False) -> np.ndarray:
        from zkml.engines.cpu.msm import msm_g1, msm_g2

        w = self.weights[lo: lo + len(points)]
        return (msm_g2 if g2 else msm_g1)(np.ascontiguousarray(points, np.uint64), w)


def check_key(r1cs, ptau, pk: ProvingKey, *, ptau_name: str = "ptau", zkey_name: str = "zkey",
              progress=None) -> KeyReport:
    """A ``KeyReport`` on ``pk`` against the key ``r1cs`` and ``ptau`` give (see the module doc).
    A ptau too small for the circuit raises ``ZkmlError`` (it cannot be checked)."""
    from zkml.errors import ZkmlError
    from zkml.groth16 import setup

    step = progress or (lambda _m: None)
    rep = KeyReport()
    n = setup.domain_size(r1cs)
    if (pk.n_vars, pk.n_public, pk.domain_size, pk.n_round2) != (r1cs.n_wires, r1cs.n_public, n, r1cs.n_round2):
        rep.problems.append(
            f"{zkey_name} is for another circuit: {pk.n_vars} signals, {pk.n_public} public, domain "
            f"{pk.domain_size}, {pk.n_round2} second-round; the R1CS has {r1cs.n_wires} signals, "
            f"{r1cs.n_public} public, domain {n}, {r1cs.n_round2} second-round")
        return rep
    log_n = n.bit_length() - 1
    if log_n + 1 > ptau.power:
        raise ZkmlError(f"{ptau_name}: the circuit needs powers of tau of 2^{log_n + 1} (domain 2^{log_n}, doubled "
                        f"for H), the file has 2^{ptau.power}; use a larger .ptau")
    step(f"reading the Lagrange points of {ptau_name} and folding the R1CS with random weights")
    exp = _Expected(r1cs, ptau, n)
    step("comparing the points that do not depend on delta")
    g2_gen = g2_to_array(G2_GENERATOR)
    for name, want in (("alpha1", ptau.alpha_tau_g1(1)[0]), ("beta1", ptau.beta_tau_g1(1)[0]),
                       ("beta2", ptau.beta_g2()), ("gamma2", g2_gen)):
        if not np.array_equal(getattr(pk, name), want):
            rep.problems.append(f"{name} differs from the one {ptau_name} gives (a key from another powers of tau)")
    rep.checked.append("alpha1, beta1, beta2, gamma2")
    (ar, ac, av), (br, bc, bv), _ = exp.terms
    want_coef = np.column_stack([np.concatenate([np.zeros(len(ar)), np.ones(len(br))]).astype(np.uint64),
                                 np.concatenate([ar, br]).astype(np.uint64), np.concatenate([ac, bc]).astype(np.uint64),
                                 np.concatenate([av, bv]).astype(np.uint64)])
    want_coef = want_coef[np.lexsort(want_coef.T[::-1])] if len(want_coef) else want_coef
    a = _coefficients(pk)
    if a.shape != want_coef.shape or not np.array_equal(a, want_coef):
        rep.problems.append(f"the A/B coefficients ({len(a)}) are not the R1CS's ({len(want_coef)}): a key of another circuit")
    rep.checked.append(f"{len(want_coef):,} coefficients")
    n_pub, n_vars = r1cs.n_public, r1cs.n_wires
    for label, key, want in (("IC", exp.key_side(pk.ic, 0), exp.k(0, n_pub + 1)),
                             ("A", exp.key_side(pk.a, 0), exp.g1(0, 0, n_vars)),
                             ("B1", exp.key_side(pk.b1, 0), exp.g1(1, 0, n_vars)),
                             ("B2", exp.key_side(pk.b2, 0, g2=True), exp.b2())):
        if not np.array_equal(key, want):
            rep.problems.append(f"the {label} points are not the ones the R1CS gives (random linear combination): "
                                "a key of another circuit")
    rep.checked.append(f"IC, A, B1, B2 ({n_vars:,} signals, random linear combinations)")
    h0 = np.ascontiguousarray(ptau.lagrange_g1(2 * n)[1::2])
    for rnd in delta_rounds(pk, n_pub):
        _check_round(rep, rnd, exp, h0, step)
    return rep


def _check_round(rep: KeyReport, rnd: DeltaRound, exp: "_Expected", h0: np.ndarray, step) -> None:
    g1, g2 = g1_to_array(G1_GENERATOR), g2_to_array(G2_GENERATOR)
    if not same_ratio(g1, rnd.delta1, g2, rnd.delta2):
        rep.problems.append(f"{rnd.name}1 and {rnd.name}2 are not the same delta")
    rep.checked.append(f"{rnd.name} in G1 and G2 agree")
    for section, points, first in rnd.over_delta:
        if not len(points):
            continue
        step(f"checking the {len(points):,} {section} points over {rnd.name} (random linear combination)")
        if first is None:  # H: the ptau's odd Lagrange points of the doubled domain, as they are
            w = _random_weights(len(points))
            key, want = _msm(points, w), _msm(h0, w)
        else:
            key, want = exp.key_side(points, first), exp.k(first, first + len(points))
        if not same_ratio(want, key, rnd.delta2, g2):
            rep.problems.append(f"the {section} points are not the R1CS's over {rnd.name}: a key of another circuit, "
                                "or a tampered one")
        rep.checked.append(f"{len(points):,} {section} points over {rnd.name}")
    step(f"checking {len(rnd.contributions)} contribution(s)")
    check_contributions(rep, rnd)


def check_contributions(rep: KeyReport, rnd: DeltaRound) -> None:
    """Each record's transcript, proof of knowledge and delta step, in the engine."""
    from zkml.groth16 import snarkjs_records
    from zkml.groth16.contribute import _g2_sp, _transcript

    prev = g1_to_array(G1_GENERATOR)
    records = rnd.contributions
    key_csh = rnd.csh
    for i, c in enumerate(records):
        label = (f"{rnd.name} " if rnd.round_delta else "") + f"contribution {i + 1}" + (
            f" ({c.params['name']})" if c.params.get("name") else "")
        before = SimpleNamespace(csh=key_csh, contributions=records[:i], round_contributions=records[:i])
        if c.transcript == _transcript(before, c.g1_s, c.g1_sx, rnd.round_delta):
            sp, kind = g2_to_array(g2_from_pyecc(_g2_sp(c.transcript))), "zkml"
        elif not rnd.round_delta and c.transcript == snarkjs_records.transcript(key_csh, records[:i], c):
            sp, kind = snarkjs_records.hash_to_g2(c.transcript), "snarkjs"
        else:
            rep.problems.append(f"{label}: its transcript is not the hash of the records before it (edited record)")
            prev = g1_to_array(c.delta_after)
            continue
        spx = g2_to_array(c.g2_spx)
        if not same_ratio(g1_to_array(c.g1_s), g1_to_array(c.g1_sx), sp, spx):
            rep.problems.append(f"{label}: the proof of knowledge of its secret does not check")
        elif not same_ratio(prev, g1_to_array(c.delta_after), sp, spx):
            rep.problems.append(f"{label}: delta after it does not follow from the delta before it")
        elif c.type == 1:
            rep.notes.append(f"{label}: a beacon; its beacon hash is not recomputed here (snarkjs zkey verify does)")
            rep.contributions.append(f"{label}: valid ({kind} record, beacon)")
        else:
            rep.contributions.append(f"{label}: valid ({kind} record)")
        prev = g1_to_array(c.delta_after)
    if records and not np.array_equal(prev, rnd.delta1):
        rep.problems.append(f"{rnd.name} in the key is not the last contribution's delta")
    if not records and np.array_equal(rnd.delta1, g1_to_array(G1_GENERATOR)):
        rep.problems.append(f"no contribution: {rnd.name} is 1, anyone can forge proofs for this key")
    elif not records:
        rep.problems.append(f"{rnd.name} is not 1 but no contribution is recorded: nothing shows how it was made")
    rep.checked.append(f"{len(records)} contribution(s) to {rnd.name}")

