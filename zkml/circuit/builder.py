"""``CircuitBuilder``: wires, batches of linear combinations, and R1CS constraints, built with
their witness values in one pass.

A ``Signal`` is a tensor of linear combinations of wires together with their integer values, so
linear layers produce Signals without any constraint and the next non-linear gadget consumes
them. Values are int64 (the compiler's bounds keep every intermediate below 2^62); they become
field elements (mod r, negatives wrapped) only in ``finalize``, which also renumbers wires into
circom's order: the constant 1, public outputs, public inputs, private signals.

With ``lookups`` on, gadgets record lookups (``lookup``) and range checks (deferred) instead of
bit decompositions; ``commit_round1`` turns them into limbs and multiplicities (round-1 private
wires) and the challenge (the last public input), and ``round2(c)`` fills the LogUp inverses
(wires of kind ROUND2, numbered last) and emits their constraints (zkml/circuit/logup.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zkml.crypto.bn254 import R, ints_to_limbs
from zkml.r1cs import R1CS, SparseMatrix

PUBLIC_OUTPUT, PUBLIC_INPUT, PRIVATE, ROUND2 = 0, 1, 2, 3


@dataclass
class LC:
    """k linear combinations: combination i = sum of coeffs[t] * wire[wires[t]] over rows[t] == i."""

    rows: np.ndarray
    wires: np.ndarray
    coeffs: np.ndarray
    k: int

    @classmethod
    def of_wires(cls, wires: np.ndarray) -> "LC":
        wires = np.asarray(wires, np.int64).ravel()
        return cls(np.arange(len(wires), dtype=np.int64), wires, np.ones(len(wires), np.int64), len(wires))

    @classmethod
    def constant(cls, values) -> "LC":
        values = np.asarray(values, np.int64).ravel()
        nz = np.flatnonzero(values)
        return cls(nz.astype(np.int64), np.zeros(len(nz), np.int64), values[nz], len(values))

    def __add__(self, other: "LC") -> "LC":
        assert self.k == other.k, "adding LC batches of different lengths"
        return LC(np.concatenate([self.rows, other.rows]), np.concatenate([self.wires, other.wires]),
                  np.concatenate([self.coeffs, other.coeffs]), self.k)

    def __neg__(self) -> "LC":
        return LC(self.rows, self.wires, -self.coeffs, self.k)

    def __sub__(self, other: "LC") -> "LC":
        return self + (-other)

    def scale(self, factor) -> "LC":
        """Every combination multiplied by an integer (or one integer per combination)."""
        f = np.asarray(factor, np.int64)
        return LC(self.rows, self.wires, self.coeffs * (f if f.ndim == 0 else f[self.rows]), self.k)

    def take(self, index: np.ndarray) -> "LC":
        """Combinations index[0], index[1], ... as a new batch (gather; repeats allowed).
        Terms keep their order within each combination, so the R1CS written is the same."""
        index = np.asarray(index, np.int64).ravel()
        counts = np.bincount(self.rows, minlength=self.k) if len(self.rows) else np.zeros(self.k, np.int64)
        if len(self.rows) == self.k and (counts == 1).all():  # one term per combination (wires): a plain gather
            order = np.empty(self.k, np.int64)
            order[self.rows] = np.arange(self.k)
            pick = order[index]
            return LC(np.arange(len(index), dtype=np.int64), self.wires[pick], self.coeffs[pick], len(index))
        order = None if _is_sorted(self.rows) else np.argsort(self.rows, kind="stable")
        starts = np.cumsum(counts) - counts
        n_terms = counts[index]
        total = int(n_terms.sum())
        new_rows = np.repeat(np.arange(len(index), dtype=np.int64), n_terms)
        # term t of the output is term (t - first output term of its row) of the source row
        first = np.cumsum(n_terms) - n_terms
        pick = np.arange(total, dtype=np.int64) + np.repeat(starts[index] - first, n_terms)
        if order is not None:
            pick = order[pick]
        return LC(new_rows, self.wires[pick], self.coeffs[pick], len(index))

    def combine(self, matrix_rows, matrix_cols, matrix_vals, k_out: int) -> "LC":
        """sum_j M[i, j] * self[j] for a sparse integer matrix M given as coordinates (i, j, v)."""
        mr, mc, mv = (np.asarray(a, np.int64).ravel() for a in (matrix_rows, matrix_cols, matrix_vals))
        inner = self.take(mc)  # combination j repeated once per use
        return LC(mr[inner.rows], inner.wires, inner.coeffs * mv[inner.rows], k_out)


def _is_sorted(a: np.ndarray) -> bool:
    return len(a) < 2 or bool((a[1:] >= a[:-1]).all())


@dataclass
class Signal:
    """A tensor whose element i is ``lc`` combination i, with integer value ``values[i]``."""

    lc: LC
    values: np.ndarray  # int64, shape = tensor shape
    # the wires when element i is exactly wire wires[i] (coefficient 1, no constant), in both
    # build modes: a range check of such a signal bounds those wires themselves
    wires: np.ndarray | None = None

    @property
    def shape(self) -> tuple:
        return self.values.shape

    def reshape(self, shape) -> "Signal":
        return Signal(self.lc, self.values.reshape(shape), None if self.wires is None else self.wires.reshape(shape))

    def gather(self, index: np.ndarray) -> "Signal":
        """A new tensor of shape index.shape with element e = self.flat[index[e]]."""
        index = np.asarray(index, np.int64)
        lc = self.lc.take(index.ravel()) if self.lc is not None else None
        wires = None if self.wires is None else self.wires.ravel()[index.ravel()].reshape(index.shape)
        return Signal(lc, self.values.ravel()[index.ravel()].reshape(index.shape), wires)


class CircuitBuilder:
    def __init__(self, emit: bool = True, lookups: bool = False):
        self.emit = emit
        self.lookups = lookups  # gadgets use tables (LogUp) instead of bit decompositions
        self.where: str | None = None  # the node being built, named in witness errors
        self._values: list[np.ndarray] = [np.ones(1, np.int64)]
        self._kinds: list[np.ndarray] = [np.full(1, -1, np.int8)]
        self.n_wires = 1
        self._terms = {"a": [], "b": [], "c": []}
        self.n_constraints = 0
        self._round = 1  # 1 while building; 1 committed, then 2 once round2 allocates
        self._committed = False
        self._argument = None  # zkml.circuit.logup.LookupArgument, made on first use
        self._unbounded: dict[int, tuple[int, int]] = {}  # wire -> (value, bits): see bound_later
        self._round2_checks: list = []  # f(b, c) run after the LogUp round 2: checks that use the challenge

    # --- wires --------------------------------------------------------------------------------

    def alloc(self, values, kind: int = PRIVATE) -> np.ndarray:
        """New wires holding ``values`` (any shape); returns their indices in that shape.
        Values are int64, or Python ints (object arrays) for full field elements (hashes)."""
        values = np.asarray(values)
        if values.dtype != object:
            values = values.astype(np.int64)
        if self._round == 2 and kind == PRIVATE:
            kind = ROUND2  # every wire made after the challenge depends on it
        elif self._committed and kind in (PUBLIC_INPUT, PUBLIC_OUTPUT) and self.challenge_wire is not None:
            raise RuntimeError("public wires after commit_round1: the challenge must be the last public input")
        n = values.size
        wires = np.arange(self.n_wires, self.n_wires + n, dtype=np.int64).reshape(values.shape)
        self.n_wires += n
        self._values.append(values.ravel().copy())
        self._kinds.append(np.full(n, kind, np.int8))
        return wires

    def signal(self, values, kind: int = PRIVATE) -> Signal:
        values = np.asarray(values)
        if values.dtype != object:
            values = values.astype(np.int64)
        wires = self.alloc(values, kind)
        return Signal(LC.of_wires(wires) if self.emit else None, values, wires)

    def constant(self, values) -> Signal:
        values = np.asarray(values, np.int64)
        return Signal(LC.constant(values) if self.emit else None, values)

    def publish(self, x: Signal, kind: int = PUBLIC_OUTPUT) -> Signal:
        """New public wires equal to x (one linear constraint each)."""
        pub = self.signal(x.values, kind)
        if self.emit:
            self.enforce_linear(pub.lc - x.lc)
        else:
            self.n_constraints += x.values.size
        return pub

    def linear(self, x: Signal, rows, cols, vals, out_values: np.ndarray, const=None) -> Signal:
        """A Signal whose element i is sum_j M[i, j] * x[j] (+ const[i]): no constraint."""
        if not self.emit:
            return Signal(None, out_values)
        lc = x.lc.combine(rows, cols, vals, out_values.size)
        if const is not None:
            lc = lc + LC.constant(np.asarray(const, np.int64).ravel())
        return Signal(lc, out_values)

    # --- constraints --------------------------------------------------------------------------

    def enforce(self, a: LC, b: LC, c: LC) -> None:
        """<a_i, w> * <b_i, w> = <c_i, w> for every i of the batch."""
        if not self.emit:
            self.n_constraints += a.k if a is not None else 0
            return
        assert a.k == b.k == c.k, "constraint batches of different lengths"
        base = self.n_constraints
        for name, lc in (("a", a), ("b", b), ("c", c)):
            keep = lc.coeffs != 0
            self._terms[name].append((lc.rows[keep] + base, lc.wires[keep], lc.coeffs[keep]))
        self.n_constraints += a.k

    def enforce_linear(self, lc: LC) -> None:
        """<lc_i, w> = 0 for every i: one constraint each (lc * 1 = 0)."""
        if not self.emit:
            return
        self.enforce(lc, LC.constant(np.ones(lc.k, np.int64)), LC.constant(np.zeros(lc.k, np.int64)))

    # --- lookups (zkml/circuit/logup.py) -------------------------------------------------------

    @property
    def argument(self):
        if self._argument is None:
            from zkml.circuit.logup import LookupArgument

            self._argument = LookupArgument(self)
        return self._argument

    def table(self, name: str, rows) -> "Table":  # noqa: F821
        """The table ``name`` with the given rows ((T,) or (T, k) int64), registered once."""
        return self.argument.table(name, rows)

    def lookup(self, table, *columns: Signal) -> None:
        """Record that each element (or row of elements across ``columns``) is a row of ``table``."""
        self.argument.lookup(table, columns)

    def request_range(self, x: Signal, bits: int) -> None:
        """Record 0 <= x < 2^bits, checked with limbs once the limb width is chosen at commit."""
        self.argument.request_range(x, bits)

    @property
    def challenge_wire(self) -> int | None:
        """Builder index of the challenge wire (None for a plain circuit)."""
        return None if self._argument is None else self._argument.challenge_wire

    def bound_later(self, x: Signal, bits: int) -> None:
        """x's wires must lie in [-2^(bits-1), 2^(bits-1)): checked at commit unless a range
        check of exactly those wires (``pin``) comes first. For wires only pinned down by linear
        relations with a range-checked remainder (rescale's quotient): there, in the field, a
        fraction can move between quotient and remainder, and several such fractions can add up
        to a small shift of whatever sums the quotients without a check of its own."""
        for w, v in zip(x.wires.ravel().tolist(), np.asarray(x.values).ravel().tolist()):
            self._unbounded[w] = (int(v), bits)

    def pin(self, x: Signal) -> None:
        """A range check of x is being made: wires bound_later asked about are bounded by it."""
        if self._unbounded and x.wires is not None:
            for w in x.wires.ravel().tolist():
                self._unbounded.pop(w, None)

    def _bound_the_rest(self) -> None:
        from zkml.circuit.gadgets.range_check import range_check_signed

        by_bits: dict[int, list[tuple[int, int]]] = {}
        for w, (v, bits) in self._unbounded.items():
            by_bits.setdefault(bits, []).append((w, v))
        self._unbounded = {}
        for bits, items in by_bits.items():
            ws = np.array([w for w, _ in items], np.int64)
            range_check_signed(self, Signal(LC.of_wires(ws) if self.emit else None,
                                            np.array([v for _, v in items], np.int64), ws), bits)

    def commit_round1(self) -> None:
        """End of the circuit: the bounds bound_later still owes, then limbs, multiplicities and
        the challenge wire (no-op without lookups)."""
        if self._committed:
            raise RuntimeError("commit_round1 called twice")
        self._bound_the_rest()
        self._committed = True
        if self._argument is not None:
            self._argument.commit()

    def round2(self, c: int) -> None:
        """Set the challenge to c, fill every second-round wire and (emit) emit the LogUp constraints."""
        if not self._committed:
            raise RuntimeError("round2 before commit_round1")
        if self._argument is not None and self._argument.challenge_wire is not None:
            self._argument.round2(int(c))
            for check in self._round2_checks:
                check(self, int(c) % R)

    def after_challenge(self, check) -> None:
        """Run ``check(b, c)`` in round 2 (a lookup circuit: one whose round 1 has a table):
        a random-evaluation check of round-1 wires, such as committed_weights' Freivalds check."""
        if self._committed:
            raise RuntimeError("after_challenge after commit_round1")
        self._round2_checks.append(check)

    def set_value(self, wire: int, value) -> None:
        """Overwrite the value of one wire (the challenge, once known)."""
        start = 0
        for i, v in enumerate(self._values):
            if wire < start + len(v):
                if v.dtype != object:
                    self._values[i] = v = v.astype(object)
                v[wire - start] = value
                return
            start += len(v)
        raise IndexError(wire)

    def final_index(self) -> np.ndarray:
        """Position of each builder wire in the witness order (r1cs() and witness() use it)."""
        return self._order()[0]

    # --- output -------------------------------------------------------------------------------

    def witness_values(self) -> np.ndarray:
        if any(v.dtype == object for v in self._values):
            return np.concatenate([v.astype(object) for v in self._values])
        return np.concatenate(self._values)

    def _order(self) -> tuple[np.ndarray, dict[int, int]]:
        kinds = np.concatenate(self._kinds)
        order = np.concatenate([[0]] + [np.flatnonzero(kinds == k) for k in (PUBLIC_OUTPUT, PUBLIC_INPUT, PRIVATE, ROUND2)])
        new_index = np.empty(len(order), np.int64)
        new_index[order] = np.arange(len(order))
        counts = {k: int((kinds == k).sum()) for k in (PUBLIC_OUTPUT, PUBLIC_INPUT, PRIVATE, ROUND2)}
        return new_index, counts

    def witness(self) -> list[int]:
        """The witness in circom's wire order, as field elements (ints mod r)."""
        new_index, _ = self._order()
        vals = self.witness_values()
        ordered = np.empty(len(vals), vals.dtype)
        ordered[new_index] = vals
        if ordered.dtype != object:
            return [v + R if v < 0 else v for v in ordered.tolist()]
        return [int(v) % R for v in ordered.tolist()]

    def r1cs(self) -> R1CS:
        if not self.emit:
            raise ValueError("this builder only computed values (emit=False); build with emit=True")
        if self._unbounded:
            raise ValueError("bounds asked for with bound_later are not made yet: call commit_round1 first")
        new_index, counts = self._order()
        mats = []
        for name in "abc":
            parts = self._terms[name]
            if parts:
                rows = np.concatenate([p[0] for p in parts])
                wires = new_index[np.concatenate([p[1] for p in parts])]
                coeffs = np.concatenate([field_limbs(p[2]) for p in parts])
                mats.append(SparseMatrix(rows.astype(np.uint32), wires.astype(np.uint32), coeffs))
            else:
                mats.append(SparseMatrix.empty())
        if self._argument is not None and self._argument.challenge_wire is not None and not self._argument.done:
            raise ValueError("a lookup circuit's R1CS needs round2 (call it with any challenge)")
        return R1CS(n_wires=self.n_wires, n_pub_out=counts[PUBLIC_OUTPUT], n_pub_in=counts[PUBLIC_INPUT],
                    n_prv_in=0, n_constraints=self.n_constraints, a=mats[0], b=mats[1], c=mats[2],
                    n_round2=counts[ROUND2])


_R_LIMBS = ints_to_limbs([R])[0]
assert int(_R_LIMBS[1]) > 0  # so r - m for m < 2^64 borrows from limb 1 at most


def field_limbs(coeffs: np.ndarray) -> np.ndarray:
    """Integers as field elements mod r in (n, 4) uint64 limbs: negatives become r - |c|.
    int64 arrays are converted without Python ints; object arrays (hashes) one by one."""
    if coeffs.dtype == object:
        return ints_to_limbs([int(c) % R for c in coeffs.tolist()]) if len(coeffs) else np.zeros((0, 4), np.uint64)
    c = np.asarray(coeffs, np.int64)
    out = np.zeros((len(c), 4), np.uint64)
    out[:, 0] = c.view(np.uint64)  # right for c >= 0
    neg = np.flatnonzero(c < 0)
    if len(neg):
        m = (-c[neg]).view(np.uint64)  # |c|, exact for -2^63 too (wraps to 2^63 as uint64)
        out[neg, 0] = _R_LIMBS[0] - m  # mod 2^64
        out[neg, 1] = _R_LIMBS[1] - (m > _R_LIMBS[0]).astype(np.uint64)
        out[neg, 2] = _R_LIMBS[2]
        out[neg, 3] = _R_LIMBS[3]
    return out
