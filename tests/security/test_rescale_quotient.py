"""The rescale quotient must be bounded (found while building lookups, issue 16).

x + 2^(s-1) = q 2^s + rem with rem in [0, 2^s) fixes q among integers, but in the field
rem' = rem - d with q' = q + d / 2^s holds too, q' a huge field element; quotients that only
feed linear layers can carry such fractions into a sum that moves by a small integer (a packed
output, the next layer's input). So rescale range-checks q to the compiler's bound unless a
range check of q itself (a ReLU) comes first; these tests shift a quotient by a fraction and
check the constraint system rejects it, with and without lookups."""

import numpy as np
import pytest

from zkml.circuit.builder import PUBLIC_INPUT, PUBLIC_OUTPUT, CircuitBuilder
from zkml.circuit.gadgets.relu import relu
from zkml.circuit.gadgets.rescale import rescale
from zkml.crypto.bn254 import R
from zkml.errors import UnsatisfiedWitness


def _circuit(lookups: bool, with_relu: bool):
    b = CircuitBuilder(lookups=lookups)
    x = b.signal([5], PUBLIC_INPUT)
    q = rescale(b, x, 2, bits=4)  # q = 1, rem = 5 + 2 - 4 = 3
    out = relu(b, q, 4) if with_relu else q
    b.publish(out, PUBLIC_OUTPUT)
    b.commit_round1()
    b.round2(987654321)
    return b, q


@pytest.mark.parametrize("lookups", [False, True])
@pytest.mark.parametrize("with_relu", [False, True])
def test_a_quotient_shifted_by_a_fraction_is_rejected(lookups, with_relu):
    b, q = _circuit(lookups, with_relu)
    r1cs, w = b.r1cs(), b.witness()
    r1cs.check_witness(w)
    final = b.final_index()
    qi = int(final[int(q.wires[0])])
    bad = list(w)
    quarter = pow(4, -1, R)
    bad[qi] = (bad[qi] + quarter) % R  # q + 1/4: the remainder would absorb -1
    if not with_relu:
        bad[1] = (bad[1] + quarter) % R  # the public output that publishes q
    with pytest.raises(UnsatisfiedWitness):
        r1cs.check_witness(bad)


def test_a_relu_on_the_quotient_is_its_bound():
    """No second check where the ReLU already bounds q: same constraints as without asking."""
    plain = CircuitBuilder()
    x = plain.signal([5], PUBLIC_INPUT)
    plain.publish(relu(plain, rescale(plain, x, 2), 4), PUBLIC_OUTPUT)
    plain.commit_round1()
    b, _ = _circuit(False, True)
    assert b.n_constraints == plain.n_constraints
    unbounded, _ = _circuit(False, False)
    assert unbounded.n_constraints > CircuitBuilder().n_constraints  # the quotient got its own check


def test_r1cs_refuses_bounds_not_yet_made():
    b = CircuitBuilder()
    x = b.signal([5], PUBLIC_INPUT)
    rescale(b, x, 2, bits=4)
    with pytest.raises(ValueError, match="commit_round1"):
        b.r1cs()
    assert np.asarray(b.witness()).size
