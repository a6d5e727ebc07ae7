"""Shared helpers: small R1CS builders, random points, and ``check_circuit``, which runs setup,
prove and verify for valid witnesses and expects every invalid one to be caught."""

from __future__ import annotations

import os

# The GPU engine's tests run its kernels in numba-cuda's simulator (CI has no GPU); this must be
# set before numba.cuda is first imported. ZKML_TEST_REAL_GPU=1 runs them on a real device.
if os.environ.get("ZKML_TEST_REAL_GPU") != "1":
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"

import random
import subprocess
from pathlib import Path

import numpy as np
import pytest
from py_ecc import optimized_bn128 as bn

from zkml.crypto import bn254 as B
from zkml.crypto.bn254 import R
from zkml.r1cs import R1CS, SparseMatrix

ROOT = Path(__file__).resolve().parent.parent
NODE_BIN = ROOT / "node_modules" / ".bin"
FIXTURES = Path(__file__).parent / "fixtures"
MODELS = ROOT / "models"


def zkml(*args):
    """Run the CLI in-process, as a user would type it (arguments may be paths)."""
    from click.testing import CliRunner

    from zkml.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


def ok(*args):
    res = zkml(*args)
    assert res.exit_code == 0, res.output
    return res


def one_line(res) -> str:
    """The command's only line of output; no traceback, no exception escaped."""
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert "Traceback" not in res.output, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert len(lines) == 1, res.output
    return lines[0]


def sparse(terms: list[tuple[int, int, int]]) -> SparseMatrix:
    if not terms:
        return SparseMatrix.empty()
    rows, cols, vals = zip(*terms)
    return SparseMatrix(np.array(rows, np.uint32), np.array(cols, np.uint32),
                        B.ints_to_limbs([v % R for v in vals]))


def chain_circuit(n: int, x0: int = 3, n_extra_public: int = 0):
    """y = f^n(x0) with f(t) = t^2 + i at step i; wires: 1, y, x0, extras, t_1..t_(n-1).

    ``n_extra_public`` adds public inputs e_j constrained by e_j * 1 = e_j (so they are bound).
    Returns (r1cs, witness ints).
    """
    n_pub_in = 1 + n_extra_public
    first_private = 2 + n_pub_in
    a, b, c = [], [], []
    w = [1, 0, x0] + [7 + j for j in range(n_extra_public)]
    prev, val = 2, x0
    for i in range(n):
        last = i == n - 1
        out = 1 if last else first_private + i
        a.append((i, prev, 1)), b.append((i, prev, 1))
        c.append((i, out, 1)), c.append((i, 0, -i))
        val = (val * val + i) % R
        if last:
            w[1] = val
        else:
            w.append(val)
        prev = out
    row = n
    for j in range(n_extra_public):
        a.append((row, 3 + j, 1)), b.append((row, 0, 1)), c.append((row, 3 + j, 1))
        row += 1
    r1cs = R1CS(n_wires=len(w), n_pub_out=1, n_pub_in=n_pub_in, n_prv_in=0, n_constraints=row,
                a=sparse(a), b=sparse(b), c=sparse(c))
    return r1cs, w


def private_only_circuit():
    """x * y = z with no public signal at all (n_public = 0)."""
    r1cs = R1CS(n_wires=4, n_pub_out=0, n_pub_in=0, n_prv_in=2, n_constraints=1,
                a=sparse([(0, 1, 1)]), b=sparse([(0, 2, 1)]), c=sparse([(0, 3, 1)]))
    return r1cs, [1, 6, 7, 42]


def random_g1_points(n: int, rng: random.Random) -> list:
    return [B.g1_from_pyecc(bn.multiply(bn.G1, rng.randrange(1, R))) for _ in range(n)]


def random_g2_points(n: int, rng: random.Random) -> list:
    return [B.g2_from_pyecc(bn.multiply(bn.G2, rng.randrange(1, R))) for _ in range(n)]


def check_circuit(r1cs: R1CS, valid: list[list[int]], invalid: list[list[int]] = ()):
    """Setup, then every valid witness proves and verifies, every invalid one is caught."""
    from zkml.engines.cpu.prover import prove
    from zkml.errors import UnsatisfiedWitness
    from zkml.groth16.setup import DevTau, setup_from_secrets
    from zkml.groth16.verifier import verify

    pk = setup_from_secrets(r1cs, DevTau.random())
    vk = pk.verifying_key()
    for w in valid:
        r1cs.check_witness(w)
        proof = prove(pk, B.ints_to_limbs(w))
        assert verify(vk, w[1 : r1cs.n_public + 1], proof)
    for w in invalid:
        with pytest.raises(UnsatisfiedWitness):
            r1cs.check_witness(w)
        proof = prove(pk, B.ints_to_limbs(w))
        assert not verify(vk, w[1 : r1cs.n_public + 1], proof)
    return pk


def node_tool(name: str) -> Path:
    path = NODE_BIN / name
    if not path.exists():
        pytest.skip(f"{name} is not installed: run `make install`")
    return path


def run_tool(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.fixture
def rng() -> random.Random:
    return random.Random(20261124)


@pytest.fixture(scope="session")
def circom_multiplier(tmp_path_factory):
    """multiplier.circom compiled by circom2 with its witness for a=3, b=11 (by snarkjs)."""
    circom, snarkjs = node_tool("circom2"), node_tool("snarkjs")
    d = tmp_path_factory.mktemp("circom")
    src = ROOT / "examples" / "circom" / "multiplier.circom"
    res = run_tool(circom, src, "--r1cs", "--wasm", "-o", d)
    assert res.returncode == 0, res.stderr
    inp = ROOT / "examples" / "circom" / "multiplier.input.json"
    res = run_tool(snarkjs, "wtns", "calculate", d / "multiplier_js" / "multiplier.wasm", inp, d / "witness.wtns")
    assert res.returncode == 0, res.stderr
    return d




def logup_circuit(values, table=tuple(range(8))):
    """A hand-written two-round LogUp circuit, independent of the compiler's gadgets: private
    round-1 values f_i looked up in ``table`` with multiplicities m_j, public output sum(f),
    challenge z (the last public input), round 2: u_i = 1/(z - f_i), v_j = m_j/(z - t_j),
    sum u = sum v. Returns (r1cs, round-1 witness ints, complete(z, mult=None) -> witness)."""
    from zkml.errors import ChallengeCollision

    n, t = len(values), len(table)
    f0, m0, u0 = 3, 3 + n, 3 + n + t
    v0 = u0 + n
    n_wires = v0 + t
    a, b, c = [], [], []
    row = 0
    for i in range(n):  # (z - f_i) * u_i = 1
        a += [(row, 2, 1), (row, f0 + i, -1)]
        b.append((row, u0 + i, 1))
        c.append((row, 0, 1))
        row += 1
    for j, tj in enumerate(table):  # (z - t_j) * v_j = m_j
        a += [(row, 2, 1), (row, 0, -tj)]
        b.append((row, v0 + j, 1))
        c.append((row, m0 + j, 1))
        row += 1
    a += [(row, u0 + i, 1) for i in range(n)] + [(row, v0 + j, -1) for j in range(t)]  # sum u - sum v = 0
    b.append((row, 0, 1))
    row += 1
    a += [(row, f0 + i, 1) for i in range(n)] + [(row, 1, -1)]  # out = sum f
    b.append((row, 0, 1))
    row += 1
    r1cs = R1CS(n_wires=n_wires, n_pub_out=1, n_pub_in=1, n_prv_in=0, n_constraints=row,
                a=sparse(a), b=sparse(b), c=sparse(c), n_round2=n + t)
    mult = [sum(1 for v in values if v == tj) for tj in table]
    w1 = [1, sum(values) % R, 0] + [v % R for v in values] + [m % R for m in mult] + [0] * (n + t)

    def complete(z, mult=mult):
        w = list(w1)
        w[2] = z
        for j, m in enumerate(mult):
            w[m0 + j] = m % R
        for i, v in enumerate(values):
            if (z - v) % R == 0:
                raise ChallengeCollision("challenge equals a looked-up value")
            w[u0 + i] = pow((z - v) % R, -1, R)
        for j, (tj, m) in enumerate(zip(table, mult)):
            if (z - tj) % R == 0:
                raise ChallengeCollision("challenge equals a table row")
            w[v0 + j] = m * pow((z - tj) % R, -1, R) % R
        return w

    return r1cs, w1, complete
