"""Poseidon against circomlibjs (constants and hashes), and the in-circuit gadget against both."""

import json
import random
import subprocess

import numpy as np
import pytest

from conftest import ROOT
from zkml.circuit.builder import PUBLIC_OUTPUT, CircuitBuilder, Signal
from zkml.circuit.gadgets.poseidon import commit, commitment_value, hash_wires
from zkml.crypto.bn254 import R
from zkml.crypto.poseidon import constants, poseidon
from zkml.errors import UnsatisfiedWitness

CIRCOMLIBJS = ROOT / "node_modules" / "circomlibjs"


def node(script: str):
    if not CIRCOMLIBJS.exists():
        pytest.skip("circomlibjs is not installed: run `make install`")
    res = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


VECTORS = [[0], [1, 2], [R - 1, 0, 5], [3] * 5, list(range(16)), [random.Random(1).randrange(R) for _ in range(16)]]


@pytest.mark.snarkjs
def test_constants_match_circomlibjs():
    ref = node("import fs from 'fs'; const c = JSON.parse(fs.readFileSync('node_modules/circomlibjs/src/poseidon_constants.json'));"
               "console.log(JSON.stringify({C: [c.C[0], c.C[1], c.C[15]], M: [c.M[0], c.M[1], c.M[15]]}))")
    for k, t in enumerate((2, 3, 17)):
        rc, mds = constants(t)
        assert [int(x, 16) for x in ref["C"][k]] == list(rc)
        assert [[int(x, 16) for x in row] for row in ref["M"][k]] == [list(r) for r in mds]


@pytest.mark.snarkjs
def test_hash_matches_circomlibjs():
    script = ("import { buildPoseidon } from 'circomlibjs'; const p = await buildPoseidon();"
              f"const v = {json.dumps([[str(x) for x in vec] for vec in VECTORS])};"
              "console.log(JSON.stringify(v.map(x => p.F.toString(p(x.map(BigInt))))));")
    expected = [int(x) for x in node(script)]
    assert [poseidon(v) for v in VECTORS] == expected


def test_hash_sensitivity_and_arity():
    base = [5, 6, 7]
    h = poseidon(base)
    for i in range(3):
        changed = list(base)
        changed[i] += 1
        assert poseidon(changed) != h
    with pytest.raises(ValueError):
        poseidon([])
    with pytest.raises(ValueError):
        poseidon(list(range(17)))


def test_gadget_matches_and_rejects_mutations():
    b = CircuitBuilder()
    vals = [3, 1, 4]
    wires = b.alloc(np.array(vals))
    out_w, out_v = hash_wires(b, [int(w) for w in wires], vals)
    assert out_v == poseidon(vals)
    b.publish(_signal(b, out_w, out_v), PUBLIC_OUTPUT)
    r1cs, w = b.r1cs(), b.witness()
    r1cs.check_witness(w)
    rng = random.Random(3)
    for i in rng.sample(range(1, len(w)), 40):
        bad = list(w)
        bad[i] = (bad[i] + 1) % R
        with pytest.raises(UnsatisfiedWitness):
            r1cs.check_witness(bad)


def _signal(b, wire, value):
    from zkml.circuit.builder import LC

    return Signal(LC.of_wires(np.array([wire])), np.array([value], dtype=object))


def test_commitment_of_a_long_tensor():
    b = CircuitBuilder()
    vals = np.arange(-20, 20)
    wires = b.alloc(vals)
    cw, cv = commit(b, wires, vals, salt=12345)
    assert cv == commitment_value(vals.tolist(), 12345)
    assert cv != commitment_value(vals.tolist(), 12346)
    b.publish(_signal(b, cw, cv), PUBLIC_OUTPUT)
    b.r1cs().check_witness(b.witness())
