"""Lookups (LogUp in two-round Groth16) at the R1CS level: every gadget's honest witness
satisfies its constraints for a random challenge; every internal signal mutated is rejected; a
value outside its table is unsatisfiable; a witness rigged for a challenge chosen in advance
fails for the real one; the witness program computes what the constraint builder computes;
circuits compiled with lookups off are the plain ones."""

from __future__ import annotations

import secrets
from pathlib import Path

import numpy as np
import pytest

from zkml.circuit.builder import LC, PRIVATE, PUBLIC_INPUT, PUBLIC_OUTPUT, ROUND2, CircuitBuilder, Signal
from zkml.circuit.gadgets.function_table import lookup_function
from zkml.circuit.gadgets.range_check import range_check_signed, range_check_unsigned
from zkml.circuit.gadgets.relu import maximum, relu
from zkml.circuit.gadgets.rescale import rescale
from zkml.circuit.logup import MAX_TABLE_ROWS, batch_inverse
from zkml.circuit.range_limbs import choose_width, cost
from zkml.crypto.bn254 import R
from zkml.errors import ChallengeCollision, UnsatisfiedWitness, ZkmlError

MODELS = Path(__file__).resolve().parent.parent / "models"


# --- helpers ----------------------------------------------------------------------------------


def gadget_circuit(which: str, emit: bool = True, values=None) -> CircuitBuilder:
    """A small lookup circuit around one gadget, inputs public and outputs published so a
    mutation of any of them shows; round 1 committed."""
    b = CircuitBuilder(emit=emit, lookups=True)
    if which == "range_unsigned":  # 3 bits: below the limb width (a double lookup) or above it
        x = b.signal(values if values is not None else [0, 1, 5, 7], PUBLIC_INPUT)
        range_check_unsigned(b, x, 3)
        y = b.signal(values if values is not None else [0, 300, 1023, 77], PUBLIC_INPUT)
        range_check_unsigned(b, y, 10)  # limbs
        z = b.signal([9, 12], PUBLIC_INPUT)
        range_check_unsigned(b, z, 4)
    elif which == "range_signed":
        x = b.signal(values if values is not None else [-4, -1, 0, 3], PUBLIC_INPUT)
        range_check_signed(b, x, 3)
        range_check_signed(b, b.signal([-300, 511], PUBLIC_INPUT), 10)
    elif which == "relu":
        x = b.signal(values if values is not None else [-8, -3, 0, 5, 7], PUBLIC_INPUT)
        b.publish(relu(b, x, 4), PUBLIC_OUTPUT)
    elif which == "maximum":
        x = b.signal([-8, -3, 0, 5, 7], PUBLIC_INPUT)
        p = b.signal([1, -2, 3, 3, -8], PUBLIC_INPUT)
        b.publish(maximum(b, x, p, 5), PUBLIC_OUTPUT)
    elif which == "rescale":
        x = b.signal(values if values is not None else [-37, -16, -1, 0, 7, 8, 100], PUBLIC_INPUT)
        lin = Signal(x.lc.combine(np.arange(7), np.arange(7), np.full(7, 3), 7) if emit else None, x.values * 3)
        b.publish(rescale(b, lin, 4), PUBLIC_OUTPUT)
    elif which == "function":  # y = x^2 - 3 on [-4, 5]
        xs = np.arange(-4, 6)
        x = b.signal(values if values is not None else [-4, 0, 2, 5, 2], PUBLIC_INPUT)
        b.publish(lookup_function(b, x, -4, 5, xs * xs - 3, name="square"), PUBLIC_OUTPUT)
    else:
        raise ValueError(which)
    b.commit_round1()
    return b


GADGETS = ["range_unsigned", "range_signed", "relu", "maximum", "rescale", "function"]


def complete(b: CircuitBuilder, c: int):
    b.round2(c)
    return b.r1cs(), b.witness()


def evaluate(lc: LC, w: list[int], final: np.ndarray) -> list[int]:
    out = [0] * lc.k
    for r, wire, coeff in zip(lc.rows.tolist(), lc.wires.tolist(), lc.coeffs.tolist()):
        out[r] = (out[r] + int(coeff) * w[final[wire]]) % R
    return out


def rederive_round2(b: CircuitBuilder, w: list[int], c: int, multiplicities=None) -> list[int]:
    """A cheating prover's witness: ``w`` (already holding its chosen round-1 values, and the
    Poseidon wires of challenge c from an honest witness at c) with the multiplicities counted
    again from the looked-up values (or given per table), then every round-2 wire that the
    constraints force for challenge c: the products, u_i = 1/(c - f_i), v_j = m_j/(c - t_j)."""
    w = list(w)
    final = b.final_index()
    arg = b.argument
    w[final[arg.challenge_wire]] = c % R
    gammas = [1] + [w[final[g]] for g in arg.gamma_wires]
    for ti, t in enumerate(tab for tab in arg.tables.values() if tab.groups):
        folded_rows = [sum(int(x) * g for x, g in zip(row, gammas)) % R for row in t.rows.tolist()]
        looked = []
        for g, uw, pw in zip(t.groups, t.u_wires, t.p_wires):
            cols = [evaluate(lc, w, final) for lc in g.lcs]
            for l in range(1, t.k):
                for i, v in enumerate(cols[l]):
                    w[final[pw[i, l - 1]]] = gammas[l] * v % R
            vals = [sum(cols[l][i] * gammas[l] for l in range(t.k)) % R for i in range(len(cols[0]))]
            for wire, v in zip(uw.tolist(), vals):
                w[final[wire]] = pow((c - v) % R, -1, R)
            looked += vals
        if multiplicities is None:
            where = {v: j for j, v in reversed(list(enumerate(folded_rows)))}
            m = [0] * len(t.rows)
            for v in looked:
                if v in where:  # a value outside the table cannot be counted anywhere
                    m[where[v]] += 1
        else:
            m = multiplicities[ti]
        for j, (mw, vw) in enumerate(zip(t.m_wires.tolist(), t.v_wires.tolist())):
            w[final[mw]] = m[j] % R
            w[final[vw]] = m[j] * pow((c - folded_rows[j]) % R, -1, R) % R
    return w


def random_challenge() -> int:
    return secrets.randbelow(R)


# --- honest witnesses and mutations -----------------------------------------------------------


@pytest.mark.parametrize("which", GADGETS)
def test_honest_witness_satisfies_for_a_random_challenge(which):
    for _ in range(2):
        r1cs, w = complete(gadget_circuit(which), random_challenge())
        r1cs.check_witness(w)
        assert r1cs.has_lookups and r1cs.n_round2 > 0


@pytest.mark.parametrize("which", GADGETS)
def test_every_internal_signal_mutated_is_rejected(which):
    """Every wire but the constant: inputs, outputs, limbs, sign bits, quotients, multiplicities,
    the challenge, gamma and Poseidon's wires, the products, every u_i and v_j. None of them is
    free, so no mutation is equivalent: v_j of an unused row is forced to 0 by (z - t_j) v_j = 0."""
    b = gadget_circuit(which)
    r1cs, w = complete(b, random_challenge())
    final = b.final_index()
    arg = b.argument
    kinds = {"multiplicity": [final[m] for t in arg.tables.values() if t.groups for m in t.m_wires],
             "u": [final[u] for t in arg.tables.values() for g in t.u_wires for u in g.ravel()],
             "v": [final[v] for t in arg.tables.values() if t.groups for v in t.v_wires],
             "challenge": [r1cs.challenge_wire]}
    if which == "range_unsigned":
        kinds["limb"] = [i for i in range(1 + r1cs.n_public, 1 + r1cs.n_public + r1cs.n_round1)
                         if i not in kinds["multiplicity"]]
        assert kinds["limb"]
    if which == "function":
        kinds["gamma"] = [final[g] for g in arg.gamma_wires]
        kinds["product"] = [final[p] for t in arg.tables.values() for g in t.p_wires for p in g.ravel()]
        assert kinds["gamma"] and kinds["product"]
    assert all(kinds.values()), kinds
    covered = {i for v in kinds.values() for i in v}
    assert covered <= set(range(1, len(w)))
    for i in range(1, len(w)):
        for delta in (1, R - 1):
            bad = list(w)
            bad[i] = (bad[i] + delta) % R
            with pytest.raises(UnsatisfiedWitness):
                r1cs.check_witness(bad)


def test_wire_order_round1_then_round2():
    b = gadget_circuit("function")
    r1cs, _ = complete(b, random_challenge())
    kinds = np.concatenate(b._kinds)[np.argsort(b.final_index())]
    order = kinds[1:].tolist()
    assert order == sorted(order)  # outputs, inputs (challenge last), round 1, round 2
    assert r1cs.challenge_wire == r1cs.n_public and b.final_index()[b.challenge_wire] == r1cs.n_public
    assert (kinds == ROUND2).sum() == r1cs.n_round2 and (kinds == PRIVATE).sum() == r1cs.n_round1


# --- values outside the table -----------------------------------------------------------------


CHEATS = {  # the out-of-range value the first input wire (builder wire 1) gets
    "range_unsigned": 8,  # x[0] in a 3-bit check
    "range_signed": -5,  # x[0] in a signed 3-bit check
}


def cheating_witness(which: str, c: int, multiplicities=None):
    """The honest witness at challenge c with one value moved outside its table (and what
    depends on it linearly recomputed), then round 2 rederived for c."""
    b = gadget_circuit(which)
    r1cs, w = complete(b, c)
    final = b.final_index()
    w = list(w)
    if which == "function":  # claim f(0) = -2: the output y[1] and the private y it publishes
        y_pub = 2  # public outputs come first: y[0] is signal 1
        w[y_pub] = (w[y_pub] + 1) % R
        lc = b.argument.tables["square"].groups[0].lcs[1]
        priv = int(lc.wires[lc.rows == 1][0])
        w[final[priv]] = (w[final[priv]] + 1) % R
    else:
        w[final[1]] = CHEATS[which] % R
    return b, r1cs, rederive_round2(b, w, c, multiplicities)


def fails_only_the_sum(b: CircuitBuilder, r1cs, w) -> None:
    """The witness satisfies every constraint but a LogUp sum: the lookup alone catches it."""
    av, bv, cv = r1cs.evaluate(w)
    failing = {i for i, (x, y, z) in enumerate(zip(av, bv, cv)) if x * y % R != z}
    sums = {t.sum_constraint for t in b.argument.tables.values() if t.groups}
    assert failing and failing <= sums, (failing, sums)


@pytest.mark.parametrize("which", ["range_unsigned", "range_signed", "function"])
def test_a_value_outside_its_table_is_unsatisfiable(which):
    for _ in range(3):
        b, r1cs, w = cheating_witness(which, random_challenge())
        with pytest.raises(UnsatisfiedWitness):
            r1cs.check_witness(w)
        fails_only_the_sum(b, r1cs, w)


def test_the_witness_program_names_the_node_and_value_outside_the_table():
    b = CircuitBuilder(emit=False, lookups=True)
    b.where = "conv1"
    with pytest.raises(ZkmlError, match=r"node 'conv1': value 8 .* 3-bit"):
        range_check_unsigned(b, b.signal([1, 8]), 3)
    b.where = "sigmoid_7"
    with pytest.raises(ZkmlError, match=r"node 'sigmoid_7': value 9 .*\[-4, 5\]"):
        lookup_function(b, b.signal([9]), -4, 5, np.arange(10))
    t = b.table("pairs", [[1, 2], [3, 4]])
    with pytest.raises(ZkmlError, match=r"value \(1, 4\) .* table 'pairs'"):
        b.lookup(t, b.signal([1]), b.signal([4]))


def test_a_table_too_large_is_refused_with_its_size():
    b = CircuitBuilder(lookups=True)
    b.where = "exp_3"
    with pytest.raises(ZkmlError, match=r"node 'exp_3': table 'huge' has 1,048,577 rows"):
        b.table("huge", np.arange(MAX_TABLE_ROWS + 1))
    with pytest.raises(ZkmlError, match="2,000,001 rows"):
        lookup_function(b, b.signal([0]), -1_000_000, 1_000_000, np.zeros(2_000_001))


@pytest.mark.parametrize("which", ["range_unsigned", "range_signed", "function"])
def test_a_witness_rigged_for_a_challenge_chosen_in_advance_fails_with_the_real_one(which):
    """Multiplicities are field elements, so for one challenge c0 fixed in advance a prover can
    solve them so that sum 1/(c0 - f_i) = sum m_j/(c0 - t_j) with a value outside the table. The
    multiplicities are round 1: committed before the challenge, which then differs from c0."""
    c0 = random_challenge()
    b, r1cs, w = cheating_witness(which, c0)
    with pytest.raises(UnsatisfiedWitness):
        r1cs.check_witness(w)  # honest counting cannot balance the sum
    final = b.final_index()
    gammas = [1] + [w[final[g]] for g in b.argument.gamma_wires]
    solved = []
    for t in (tab for tab in b.argument.tables.values() if tab.groups):
        rows = [sum(int(x) * g for x, g in zip(row, gammas)) % R for row in t.rows.tolist()]
        m = [w[final[mw]] for mw in t.m_wires.tolist()]
        lhs = sum(w[final[u]] for g in t.u_wires for u in g.ravel().tolist()) % R
        rest = sum(m[j] * pow((c0 - rows[j]) % R, -1, R) for j in range(1, len(rows))) % R
        m[0] = (lhs - rest) * (c0 - rows[0]) % R  # balance the sum at c0 with row 0's multiplicity
        solved.append(m)
    _, r1cs, rigged = cheating_witness(which, c0, solved)
    r1cs.check_witness(rigged)  # satisfied at the challenge it was rigged for
    c1 = random_challenge()
    b1, r1cs, real = cheating_witness(which, c1, solved)  # same round 1, the real challenge
    with pytest.raises(UnsatisfiedWitness):
        r1cs.check_witness(real)
    fails_only_the_sum(b1, r1cs, real)


# --- the witness program ----------------------------------------------------------------------


@pytest.mark.parametrize("which", GADGETS)
def test_values_only_witness_equals_the_constraint_builders(which):
    c = random_challenge()
    full, values_only = gadget_circuit(which, emit=True), gadget_circuit(which, emit=False)
    round1 = values_only.witness()
    assert round1 == full.witness()
    full.round2(c)
    values_only.round2(c)
    assert values_only.witness() == full.witness()
    assert values_only.n_constraints == full.n_constraints == full.r1cs().n_constraints
    assert values_only.n_wires == full.n_wires
    w = values_only.witness()
    assert w[:len(round1)] == round1[:full.r1cs().n_public] + [c] + round1[full.r1cs().n_public + 1:]


def test_the_r1cs_does_not_depend_on_the_challenge():
    a, b = gadget_circuit("function"), gadget_circuit("function")
    ra, _ = complete(a, 5)
    rb, _ = complete(b, random_challenge())
    for x, y in zip((ra.a, ra.b, ra.c), (rb.a, rb.b, rb.c)):
        assert np.array_equal(x.rows, y.rows) and np.array_equal(x.cols, y.cols) and np.array_equal(x.values, y.values)


def test_a_challenge_equal_to_a_looked_up_value_raises_collision():
    b = gadget_circuit("range_unsigned", emit=False)
    with pytest.raises(ChallengeCollision):
        b.round2(5)  # 5 is looked up
    b.round2(random_challenge())  # nothing was allocated: the same builder still completes


def test_no_lookups_no_second_round():
    b = CircuitBuilder(lookups=True)
    x = b.signal([1, 2], PUBLIC_INPUT)
    b.publish(Signal(x.lc.scale(3), x.values * 3), PUBLIC_OUTPUT)
    b.commit_round1()
    b.round2(7)
    r = b.r1cs()
    assert r.n_round2 == 0 and not r.has_lookups and r.n_public == 4


def test_limb_width_minimises_constraints_like_gnark():
    checks = [(1000, 16), (10, 3)]
    w = choose_width(checks)
    assert cost(checks, w) == min(cost(checks, v) for v in range(1, 21))
    assert choose_width([(5, 3)]) <= 3  # few checks: a small table
    assert batch_inverse([3, 0, 7]) == [pow(3, -1, R), 0, pow(7, -1, R)]


def test_wide_coefficients_do_not_overflow():
    """A shifted lookup of a combination with coefficients near 2^62 uses Python ints."""
    b = CircuitBuilder(lookups=True)
    x = b.signal([1, 0], PUBLIC_INPUT)
    big = Signal(x.lc.scale(1 << 60) - x.lc.scale((1 << 60) - 1), x.values)  # = x, huge coefficients
    range_check_unsigned(b, big, 1)
    range_check_unsigned(b, b.signal([200], PUBLIC_INPUT), 8)  # makes the width larger than 1
    b.commit_round1()
    r1cs, w = complete(b, random_challenge())
    r1cs.check_witness(w)


# --- compiled models --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits_cnn():
    from zkml.compiler.compile import CompileConfig, compile_model

    cal = np.load(MODELS / "digits_cnn_calibration.npz")["x"]
    return {on: compile_model(MODELS / "digits_cnn.onnx", cal, CompileConfig(lookups=on)) for on in (False, True)}


def test_digits_cnn_with_lookups_proves_the_same_outputs_in_a_third_of_the_constraints(digits_cnn):
    from zkml.compiler.compile import forward, witness_rounds

    off, on = digits_cnn[False], digits_cnn[True]
    assert off.r1cs.n_round2 == 0 and on.r1cs.n_round2 > 0
    print(f"digits CNN constraints: lookups off {off.r1cs.n_constraints}, on {on.r1cs.n_constraints}")
    assert on.r1cs.n_constraints * 3 <= off.r1cs.n_constraints
    xs = np.load(MODELS / "digits_cnn_test.npz")["x"]
    for x in xs[:40]:  # the same integer semantics: identical outputs, so identical argmax
        assert all(np.array_equal(a, b) for a, b in zip(forward(off, x), forward(on, x)))
    round1, complete_w, outs = witness_rounds(on, xs[0])
    r = on.r1cs
    assert len(round1) == 1 + r.n_public + r.n_round1 and round1[r.challenge_wire] == 0
    c = random_challenge()
    w = complete_w(c)
    r.check_witness(w)
    assert w[r.challenge_wire] == c and w[:r.challenge_wire] == round1[:r.challenge_wire]
    assert complete_w(c + 1) != w  # callable again for a fresh challenge
    bad = list(w)
    bad[r.challenge_wire] = (c + 1) % R  # the challenge is bound: round 2 was solved for c
    with pytest.raises(UnsatisfiedWitness):
        r.check_witness(bad)
    assert on.lookups["tables"][0]["name"] == "range" and on.lookups["range_width"] >= 1


def test_lookups_off_is_todays_plain_circuit(digits_cnn, tmp_path):
    """Off: no second round, no challenge, and an R1CS file without our section 16, which the
    snarkjs interop tests already read (the bytes equal main's compile before lookups: checked
    when this landed, digits_mlp sha256 8689a8c2.., digits_cnn fbe115b7..)."""
    from zkml.compiler.compile import witness
    from zkml.formats.r1cs import write_r1cs

    off = digits_cnn[False]
    write_r1cs(tmp_path / "c.r1cs", off.r1cs)
    data = (tmp_path / "c.r1cs").read_bytes()
    n_sections = int.from_bytes(data[8:12], "little")
    offset, ids = 12, []
    for _ in range(n_sections):
        ids.append(int.from_bytes(data[offset:offset + 4], "little"))
        offset += 12 + int.from_bytes(data[offset + 4:offset + 12], "little")
    assert 16 not in ids and off.lookups is None
    w, _ = witness(off, np.load(MODELS / "digits_cnn_test.npz")["x"][0])
    off.r1cs.check_witness(w)
    on = digits_cnn[True]  # witness() completes a lookup circuit's round 2 for a given challenge
    w_on, _ = witness(on, np.load(MODELS / "digits_cnn_test.npz")["x"][0], challenge=424242)
    on.r1cs.check_witness(w_on)
    assert w_on[on.r1cs.challenge_wire] == 424242


def test_compile_lookups_option_is_recorded_in_the_manifest(tmp_path):
    from click.testing import CliRunner

    from zkml.cli import main

    bundle = tmp_path / "b"
    res = CliRunner().invoke(main, ["compile", str(MODELS / "breast_cancer.onnx"), "-c",
                                    str(MODELS / "breast_cancer_calibration.npz"), "-o", str(bundle), "--lookups", "on"])
    assert res.exit_code == 0, res.output
    import json

    m = json.loads((bundle / "manifest.json").read_text())
    assert m["config"]["lookups"] is True and m["circuit"]["lookups"]["tables"][0]["name"] == "range"
    from zkml.bundle.store import load_compiled

    assert load_compiled(bundle).config.lookups is True
    res = CliRunner().invoke(main, ["inspect", str(bundle)])
    assert res.exit_code == 0 and "lookups (two-round Groth16" in res.output, res.output


@pytest.mark.slow
def test_cifar_cnn_with_lookups_needs_a_quarter_of_the_constraints(tmp_path):
    import sys

    sys.path.insert(0, str(MODELS.parent / "bench"))
    import shapes

    from zkml.compiler.compile import CompileConfig, compile_model

    (model, cal), = shapes.write(tmp_path, ("cifar_cnn",)).values()
    xs = np.load(cal)["x"]
    off = compile_model(model, xs, CompileConfig(lookups=False))
    on = compile_model(model, xs, CompileConfig(lookups=True))
    print(f"CIFAR CNN constraints: lookups off {off.r1cs.n_constraints}, on {on.r1cs.n_constraints}")
    assert on.r1cs.n_constraints * 4 <= off.r1cs.n_constraints
    from zkml.compiler.compile import forward

    for x in xs[:3]:
        assert all(np.array_equal(a, b) for a, b in zip(forward(off, x), forward(on, x)))


def test_evaluation_circuit_with_lookups_puts_the_challenge_last():
    from zkml.compiler.compile import CompileConfig, compile_model
    from zkml.compiler.evaluate import build_evaluation

    cal = np.load(MODELS / "breast_cancer_calibration.npz")["x"]
    c = compile_model(MODELS / "breast_cancer.onnx", cal, CompileConfig(lookups=True))
    data = np.load(MODELS / "breast_cancer_test.npz")
    xs, ys = data["x"][:2], data["y"][:2]
    full, _, _ = build_evaluation(c, xs, ys, 0, 99, emit=True)
    r1cs = full.r1cs()
    values, _, _ = build_evaluation(c, xs, ys, 0, 99, emit=False)
    ch = random_challenge()
    values.round2(ch)
    w = values.witness()
    r1cs.check_witness(w)
    assert r1cs.n_round2 > 0 and w[r1cs.challenge_wire] == ch and r1cs.challenge_wire == r1cs.n_public


def test_three_column_table_and_one_bit_relu():
    """Rows of k = 3 fold with gamma and gamma^2 (one more product wire each); a ReLU of a
    1-bit range needs a 0-bit check: a linear constraint, no lookup."""
    b = CircuitBuilder(lookups=True)
    t = b.table("triples", [[1, 2, 3], [4, 5, 6], [7, 8, 9], [1, 2, 4]])
    cols = [b.signal(v, PUBLIC_INPUT) for v in ([1, 7, 1], [2, 8, 2], [4, 9, 3])]
    b.lookup(t, *cols)
    b.publish(relu(b, b.signal([-1, 0], PUBLIC_INPUT), 1), PUBLIC_OUTPUT)
    b.commit_round1()
    r1cs, w = complete(b, random_challenge())
    r1cs.check_witness(w)
    assert len(b.argument.gamma_wires) == 2
    for i in range(1, len(w)):
        bad = list(w)
        bad[i] = (bad[i] + 1) % R
        with pytest.raises(UnsatisfiedWitness):
            r1cs.check_witness(bad)
    with pytest.raises(ZkmlError, match=r"value \(1, 2, 5\)"):
        b2 = CircuitBuilder(lookups=True)
        b2.lookup(b2.table("triples", [[1, 2, 3]]), *(b2.signal([v]) for v in (1, 2, 5)))


def test_a_circuit_beyond_the_domain_is_refused_at_commit(monkeypatch):
    import zkml.circuit.logup as logup

    monkeypatch.setattr(logup, "FR_TWO_ADICITY", 6)  # a 64-row domain stands in for 2^28
    b = CircuitBuilder(lookups=True)
    range_check_unsigned(b, b.signal(np.arange(100) % 8, PUBLIC_INPUT), 3)
    with pytest.raises(ZkmlError, match=r"constraints with its lookup tables \(range: \d+ rows\)"):
        b.commit_round1()


def test_node_stats_count_their_lookups(digits_cnn):
    on = digits_cnn[True]
    relu = next(s for s in on.stats if s["op"] == "Relu")
    assert relu["lookups"] > 0 and relu["constraints"] > relu["lookups"]
    assert sum(s["lookups"] for s in on.stats) <= sum(t["lookups"] for t in on.lookups["tables"])
