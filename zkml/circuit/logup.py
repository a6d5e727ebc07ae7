"""LogUp lookups in R1CS, for two-round Groth16 (DESIGN.md "Lookups").

A table is a list of rows t_j; a lookup claims that a looked-up value f_i (a linear combination
of round-1 or public wires) is one of them. Round 1 holds every f_i and the multiplicities m_j
(how often row j is looked up); the challenge z, a hash of the round-1 commitment and the public
inputs, is the last public input; round 2 holds

    u_i with (z - f_i) * u_i = 1            one constraint per looked-up value
    v_j with (z - t_j) * v_j = m_j          one constraint per table row
    sum_i u_i = sum_j v_j                   one linear constraint per table

so that sum_i 1/(z - f_i) = sum_j m_j/(z - t_j): as rational functions of z this holds only when
every f_i is a row (the field's characteristic exceeds the number of lookups), so for a z chosen
after f and m are fixed it fails except with probability (n + T)/r. Tables of k > 1 columns fold
a row (x_0, .., x_(k-1)) into x_0 + gamma x_1 + .. + gamma^(k-1) x_(k-1) with gamma = Poseidon(z)
computed in the circuit (round 2; only z costs a public input): one product wire p = gamma^l x_l
per looked-up row and column l >= 1, while the table side is linear in the gamma powers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from zkml.circuit.builder import LC, PRIVATE, PUBLIC_INPUT, PUBLIC_OUTPUT, CircuitBuilder, Signal
from zkml.crypto.bn254 import FR_TWO_ADICITY, R
from zkml.errors import ChallengeCollision, ZkmlError

MAX_TABLE_ROWS = 1 << 20


@dataclass
class Group:
    """One recorded lookup of n rows: the columns' linear combinations (emit mode), their
    values (n, k), the table row each matches, and the node that made it."""

    lcs: list | None
    values: np.ndarray
    index: np.ndarray
    where: str | None


@dataclass
class Table:
    name: str
    rows: np.ndarray  # (T, k) int64
    groups: list = field(default_factory=list)
    m_wires: np.ndarray | None = None  # builder wires of the multiplicities (after commit)
    m_values: np.ndarray | None = None
    u_wires: list = field(default_factory=list)  # per group, after round 2
    p_wires: list = field(default_factory=list)  # per group: (n, k - 1) products gamma^l * x_l
    v_wires: np.ndarray | None = None
    sum_constraint: int | None = None  # index of the LogUp sum (emit mode)
    _sorted: tuple | None = None

    @property
    def k(self) -> int:
        return self.rows.shape[1]

    @property
    def n_lookups(self) -> int:
        return sum(len(g.index) for g in self.groups)

    def index_of(self, values: np.ndarray) -> np.ndarray:
        """Row of each (n, k) query in the table (its first occurrence), -1 where there is none."""
        values = np.asarray(values, np.int64).reshape(-1, self.k)
        t = len(self.rows)
        if self.k == 1:
            if self._sorted is None:
                order = np.argsort(self.rows[:, 0], kind="stable")
                self._sorted = (order, self.rows[order, 0])
            order, keys = self._sorted
            pos = np.minimum(np.searchsorted(keys, values[:, 0]), t - 1)
            return np.where(keys[pos] == values[:, 0], order[pos], -1)
        both = np.concatenate([self.rows, values])
        _, inverse = np.unique(both, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        first = np.full(int(inverse.max()) + 1, -1, np.int64)
        first[inverse[:t][::-1]] = np.arange(t - 1, -1, -1)  # first occurrence wins
        return first[inverse[t:]]


def _where(where: str | None) -> str:
    return f"node '{where}'" if where else "the circuit"


def batch_inverse(xs: list[int]) -> list[int]:
    """Inverses mod r of many values with one exponentiation (Montgomery's trick); 0 -> 0."""
    prefix, acc = [], 1
    for x in xs:
        prefix.append(acc)
        if x:
            acc = acc * x % R
    inv = pow(acc, -1, R)
    out = [0] * len(xs)
    for i in range(len(xs) - 1, -1, -1):
        if xs[i]:
            out[i] = inv * prefix[i] % R
            inv = inv * xs[i] % R
    return out


class LookupArgument:
    """The tables, deferred range checks and LogUp wires of one circuit (one per builder)."""

    def __init__(self, b: CircuitBuilder):
        self.b = b
        self.tables: dict[str, Table] = {}
        self.requests: list = []  # deferred range checks: (lc | None, values, bits, where)
        self.width: int | None = None  # limb width chosen at commit
        self.challenge_wire: int | None = None
        self.gamma_wires: list[int] = []  # gamma^1, gamma^2, .. (builder wires), when a table has k > 1
        self.done = False

    # --- recording ------------------------------------------------------------------------------

    def table(self, name: str, rows) -> Table:
        rows = np.asarray(rows, np.int64)
        rows = rows.reshape(-1, 1) if rows.ndim == 1 else rows
        if rows.ndim != 2 or not len(rows):
            raise ValueError(f"table '{name}': rows must be a non-empty (T,) or (T, k) array, got shape {rows.shape}")
        if len(rows) > MAX_TABLE_ROWS:
            raise ZkmlError(f"{_where(self.b.where)}: table '{name}' has {len(rows):,} rows, more than the "
                            f"{MAX_TABLE_ROWS:,} (2^20) a circuit can hold; narrow its input range")
        known = self.tables.get(name)
        if known is not None:
            if known.rows.shape != rows.shape or not np.array_equal(known.rows, rows):
                raise ValueError(f"table '{name}' registered twice with different rows")
            return known
        if self.challenge_wire is not None:
            raise RuntimeError("table registered after commit_round1")
        self.tables[name] = t = Table(name, rows)
        return t

    def lookup(self, table: Table, columns) -> None:
        if self.b._committed:
            raise RuntimeError("lookup after commit_round1")
        if len(columns) != table.k:
            raise ValueError(f"table '{table.name}' has {table.k} columns, the lookup gives {len(columns)}")
        values = np.stack([np.asarray(c.values, np.int64).ravel() for c in columns], axis=1)
        index = table.index_of(values)
        if (index < 0).any():
            bad = int(np.flatnonzero(index < 0)[0])
            row = values[bad].tolist()
            raise ZkmlError(f"{_where(self.b.where)}: value {row[0] if table.k == 1 else tuple(row)} (element {bad}) "
                            f"is not a row of table '{table.name}'; the input is outside what the circuit was built for")
        lcs = [c.lc for c in columns] if self.b.emit else None
        table.groups.append(Group(lcs, values, index, self.b.where))

    def request_range(self, x: Signal, bits: int) -> None:
        if self.b._committed:
            raise RuntimeError("range check after commit_round1")
        if not 0 <= bits <= 62:
            raise ValueError(f"range check of {bits} bits: supported widths are 0..62")
        v = np.asarray(x.values, np.int64).ravel()
        bad = (v < 0) | ((v >> bits) != 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ZkmlError(f"{_where(self.b.where)}: value {int(v[i])} (element {i}) is outside the {bits}-bit range "
                            f"check [0, 2^{bits}); the input is outside what the circuit was built for")
        if bits == 0:  # x = 0: one linear constraint, no lookup
            if self.b.emit:
                self.b.enforce_linear(x.lc)
            else:
                self.b.n_constraints += v.size
            return
        self.requests.append((x.lc if self.b.emit else None, v.copy(), bits, self.b.where))

    def summary(self) -> dict:
        """What ``zkml inspect`` shows: the limb width and each table's size and use."""
        per_node: dict = {}
        for t in self.tables.values():
            for g in t.groups:
                per_node[g.where] = per_node.get(g.where, 0) + len(g.index)
        return {"range_width": self.width,
                "tables": [{"name": t.name, "rows": len(t.rows), "columns": t.k, "lookups": t.n_lookups}
                           for t in self.tables.values() if t.groups],
                "per_node": per_node}

    # --- round 1 --------------------------------------------------------------------------------

    def commit(self) -> None:
        from zkml.circuit.range_limbs import choose_width, decompose

        b = self.b
        if self.requests:
            self.width = choose_width([(len(v), bits) for _, v, bits, _ in self.requests])
            rt = self.table("range", np.arange(1 << self.width, dtype=np.int64))
            for lc, v, bits, where in self.requests:
                decompose(b, rt, lc, v, bits, self.width, where)
            self.requests = []
        live = [t for t in self.tables.values() if t.groups]
        if not live:
            return
        for t in live:
            t.m_values = np.bincount(np.concatenate([g.index for g in t.groups]), minlength=len(t.rows)).astype(np.int64)
            t.m_wires = b.alloc(t.m_values, PRIVATE)
        self.challenge_wire = int(b.alloc(np.zeros(1, np.int64), PUBLIC_INPUT)[0])
        total = b.n_constraints + self.round2_constraints()
        n_public = int(sum(((k == PUBLIC_INPUT) | (k == PUBLIC_OUTPUT)).sum() for k in b._kinds))
        if total + n_public + 1 > 1 << FR_TWO_ADICITY:  # Groth16's domain holds constraints and public inputs
            raise ZkmlError(f"the circuit needs {total:,} constraints with its lookup tables "
                            f"({', '.join(f'{t.name}: {len(t.rows):,} rows' for t in live)}), more than BN254's "
                            f"2^{FR_TWO_ADICITY} domain holds; use a smaller model or input")

    def round2_constraints(self) -> int:
        live = [t for t in self.tables.values() if t.groups]
        k_max = max((t.k for t in live), default=1)
        n = sum(t.n_lookups * t.k + len(t.rows) + 1 for t in live)  # inverses, products, rows, the sum
        return n + (_poseidon1_constraints() + (k_max - 2) if k_max > 1 else 0)

    # --- round 2 --------------------------------------------------------------------------------

    def round2(self, c: int) -> None:
        """Fill round 2 for challenge c. With emit (compiling: the values do not matter) a 1/0
        counts as 0; the witness program raises ChallengeCollision before allocating anything."""
        b = self.b
        if self.done:
            raise RuntimeError("round2 already ran on this builder; build the witness again for another challenge")
        c %= R
        live = [t for t in self.tables.values() if t.groups]
        k_max = max(t.k for t in live)
        gamma = 0
        if k_max > 1:
            from zkml.crypto.poseidon import poseidon

            gamma = poseidon([c])
        powers = [pow(gamma, l, R) for l in range(k_max)]
        inverses = []
        for t in live:  # every 1/(z - t_j) first, so a collision is found before any wire exists
            used = np.flatnonzero(t.m_values > 0)
            folded = [sum(int(x) * p for x, p in zip(row, powers)) % R for row in t.rows[used].tolist()]
            d = [(c - f) % R for f in folded]
            if not b.emit and not all(d):
                raise ChallengeCollision(f"the lookup challenge equals a row of table '{t.name}'; re-blind and retry")
            inv_used = batch_inverse(d)
            inv = np.zeros(len(t.rows), dtype=object)
            inv[used] = inv_used
            v = np.zeros(len(t.rows), dtype=object)
            v[used] = [int(m) * i % R for m, i in zip(t.m_values[used].tolist(), inv_used)]
            inverses.append((inv, v))
        b.set_value(self.challenge_wire, c)
        b._round = 2
        zw = self.challenge_wire
        if k_max > 1:
            from zkml.circuit.gadgets.poseidon import hash_wires

            gw, gv = hash_wires(b, [zw], [c])
            assert gv == gamma
            self.gamma_wires = [gw]
            for l in range(2, k_max):
                w = int(b.alloc(np.array([powers[l]], dtype=object))[0])
                if b.emit:
                    b.enforce(_one(self.gamma_wires[-1]), _one(gw), _one(w))
                else:
                    b.n_constraints += 1
                self.gamma_wires.append(w)
        all_u = []
        for t, (inv, v) in zip(live, inverses):
            for g in t.groups:
                n = len(g.index)
                prods = []
                for l in range(1, t.k):
                    pv = np.array([powers[l] * int(x) % R for x in g.values[:, l].tolist()], dtype=object)
                    pw = b.alloc(pv)
                    prods.append(pw)
                    if b.emit:
                        gl = LC(np.arange(n, dtype=np.int64), np.full(n, self.gamma_wires[l - 1], np.int64),
                                np.ones(n, np.int64), n)
                        b.enforce(gl, g.lcs[l], LC.of_wires(pw))
                    else:
                        b.n_constraints += n
                uw = b.alloc(inv[g.index])
                t.u_wires.append(uw)
                t.p_wires.append(np.stack(prods, axis=1) if prods else np.zeros((n, 0), np.int64))
                all_u.append(uw)
                if b.emit:
                    a = _repeat(zw, n) - g.lcs[0]
                    for pw in prods:
                        a = a - LC.of_wires(pw)
                    # u in A, (z - f) in B: B's MSMs (one in G2) then skip the random-looking u
                    b.enforce(LC.of_wires(uw), a, LC.constant(np.ones(n, np.int64)))
                else:
                    b.n_constraints += n
            t.v_wires = b.alloc(v)
            n_rows = len(t.rows)
            if b.emit:
                a = _repeat(zw, n_rows) - LC.constant(t.rows[:, 0])
                for l in range(1, t.k):
                    a = a - LC(np.arange(n_rows, dtype=np.int64), np.full(n_rows, self.gamma_wires[l - 1], np.int64),
                               t.rows[:, l].copy(), n_rows)
                b.enforce(LC.of_wires(t.v_wires), a, LC.of_wires(t.m_wires))
                us = np.concatenate([u.ravel() for u in t.u_wires])
                total = LC(np.zeros(len(us), np.int64), us, np.ones(len(us), np.int64), 1)
                t.sum_constraint = b.n_constraints
                b.enforce_linear(total - LC(np.zeros(n_rows, np.int64), t.v_wires, np.ones(n_rows, np.int64), 1))
            else:
                b.n_constraints += n_rows + 1
        self.done = True


def _one(w: int) -> LC:
    return LC.of_wires(np.array([w], np.int64))


def _repeat(w: int, n: int) -> LC:
    return LC(np.arange(n, dtype=np.int64), np.full(n, w, np.int64), np.ones(n, np.int64), n)


_POSEIDON1 = []


def _poseidon1_constraints() -> int:
    """Constraints of Poseidon of one input in the circuit (gamma), counted once by building it."""
    if not _POSEIDON1:
        from zkml.circuit.gadgets.poseidon import hash_wires

        b = CircuitBuilder(emit=False)
        hash_wires(b, [0], [0])
        _POSEIDON1.append(b.n_constraints)
    return _POSEIDON1[0]
