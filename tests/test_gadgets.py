"""Gadgets: valid values satisfy the constraints, and mutating any single witness value (other
than the constant 1) makes them fail: the soundness test every gadget must pass."""

import numpy as np
import pytest

from zkml.circuit import fixedpoint
from zkml.circuit.builder import PUBLIC_INPUT, PUBLIC_OUTPUT, CircuitBuilder, Signal
from zkml.circuit.gadgets.range_check import range_check_signed, range_check_unsigned
from zkml.circuit.gadgets.relu import maximum, relu
from zkml.circuit.gadgets.rescale import rescale
from zkml.crypto.bn254 import R
from zkml.errors import UnsatisfiedWitness


def expose(b: CircuitBuilder, out: Signal) -> Signal:
    """Bind a result to public output wires so a mutation of the result is visible."""
    return b.publish(out, PUBLIC_OUTPUT)


def assert_every_mutation_fails(b: CircuitBuilder):
    r1cs, w = b.r1cs(), b.witness()
    r1cs.check_witness(w)
    for i in range(1, len(w)):
        for delta in (1, R - 1, 2):
            bad = list(w)
            bad[i] = (bad[i] + delta) % R
            with pytest.raises(UnsatisfiedWitness):
                r1cs.check_witness(bad)
    return r1cs, w


def test_fixed_point_rescale_rounds_half_up():
    v = np.array([-9, -8, -7, -5, -4, -3, 0, 3, 4, 5, 7, 8, 9], np.int64)
    assert fixedpoint.rescale(v, 3).tolist() == [-1, -1, -1, -1, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    assert ((fixedpoint.remainder(v, 3) >= 0) & (fixedpoint.remainder(v, 3) < 8)).all()
    for x in (-9, 4, 12):
        assert fixedpoint.rescale(x, 3) == fixedpoint.rescale(np.array([x]), 3)[0]


@pytest.mark.parametrize("values,bits", [([0, 1, 5, 7], 3), ([0, 2**20 - 1], 20)])
def test_unsigned_range_check(values, bits):
    b = CircuitBuilder()
    x = b.signal(values, PUBLIC_INPUT)
    range_check_unsigned(b, x, bits)
    assert_every_mutation_fails(b)


def test_range_check_rejects_out_of_range_values():
    b = CircuitBuilder()
    with pytest.raises(OverflowError, match="element 1"):
        range_check_unsigned(b, b.signal([3, 8]), 3)
    with pytest.raises(OverflowError):
        range_check_signed(b, b.signal([-5]), 3)


def test_signed_range_check_soundness():
    b = CircuitBuilder()
    x = b.signal([-4, -1, 0, 3], PUBLIC_INPUT)
    range_check_signed(b, x, 3)
    assert_every_mutation_fails(b)
    # a prover cannot pass a value outside the range by choosing other bits:
    r1cs, w = b.r1cs(), b.witness()
    bad = list(w)
    bad[1] = 4 % R  # x[0] = 4 is outside [-4, 4)
    with pytest.raises(UnsatisfiedWitness):
        r1cs.check_witness(bad)


@pytest.mark.parametrize("s", [1, 4])
def test_rescale_soundness(s):
    b = CircuitBuilder()
    x = b.signal([-37, -16, -1, 0, 7, 8, 100], PUBLIC_INPUT)
    q = expose(b, rescale(b, x, s))
    assert q.values.tolist() == fixedpoint.rescale(np.array([-37, -16, -1, 0, 7, 8, 100]), s).tolist()
    assert_every_mutation_fails(b)


def test_rescale_of_a_linear_combination_costs_no_extra_constraint():
    b = CircuitBuilder()
    x = b.signal([3, -5], PUBLIC_INPUT)
    lin = Signal(x.lc.combine([0, 0], [0, 1], [7, 2], 1), np.array([3 * 7 - 5 * 2]))  # 7a + 2b
    before = b.n_constraints
    expose(b, rescale(b, lin, 2))
    assert b.n_constraints - before == (2 + 1) + 1 + 1  # rem bits + recomposition, relation, output
    assert_every_mutation_fails(b)


def test_relu_and_max_soundness():
    b = CircuitBuilder()
    x = b.signal([-8, -3, 0, 5, 7], PUBLIC_INPUT)
    y = expose(b, relu(b, x, 4))
    assert y.values.tolist() == [0, 0, 0, 5, 7]
    p = b.signal([1, -2, 3, 3, -8], PUBLIC_INPUT)
    m = expose(b, maximum(b, x, p, 5))
    assert m.values.tolist() == [1, -2, 3, 5, 7]
    assert_every_mutation_fails(b)


def test_values_only_builder_matches_the_constraint_builder():
    """emit=False (the witness program) computes the same witness as the full build."""
    def build(emit):
        b = CircuitBuilder(emit=emit)
        x = b.signal([-37, 12, 90], PUBLIC_INPUT)
        expose(b, relu(b, rescale(b, x, 3), 6))
        return b

    full, values_only = build(True), build(False)
    assert full.witness() == values_only.witness()
    assert values_only.n_constraints == full.n_constraints
    with pytest.raises(ValueError, match="emit=False"):
        values_only.r1cs()


def test_packed_publication_soundness():
    from zkml.circuit.packing import CAPACITY, layout, pack_values, publish_packed, widths

    b = CircuitBuilder()
    vals = np.array([-5, 0, 7, 100, -128, 127] * 20)
    x = b.signal(vals)
    lo, hi = np.full(vals.size, -128), np.full(vals.size, 127)
    packed = [v for _, v in publish_packed(b, x, lo, hi, PUBLIC_OUTPUT)]
    ws = widths(lo, hi)
    assert len(packed) == len(layout(ws)) == -(-vals.size * 8 // CAPACITY)
    assert packed == pack_values(vals, lo, ws)
    r1cs, w = assert_every_mutation_fails(b)
    assert r1cs.n_public == len(packed)
