"""The GPU engine's kernels, executed in numba-cuda's CUDA simulator (conftest sets
NUMBA_ENABLE_CUDASIM=1): field arithmetic against Python integers and py_ecc, on both targets
(njit and CUDA); curve formulas and MSMs against py_ecc; NTTs against the CPU engine; a whole
prove bit-identical to the CPU engine's and accepted by snarkjs."""

import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest
from numba import cuda, njit
from numba.extending import register_jitable
from py_ecc import optimized_bn128 as bn

from conftest import FIXTURES, ROOT, chain_circuit, node_tool, random_g1_points, random_g2_points, run_tool
from zkml.crypto import bn254 as B
from zkml.crypto.bn254 import Q, R, ints_to_limbs
from zkml.engines.gpu import field as F
from zkml.engines.gpu import curve as C  # noqa: F401 (the kernels below use its functions)
from zkml.engines.gpu.curve import g1_add, g1_add_affine, g1_dbl, g2_add, g2_dbl
from zkml.engines.gpu.field import fq2_mul, fq2_sqr, fq_add, fq_load, fq_mul, fq_neg, fq_store, fq_sub
from zkml.engines.gpu.field import fr_add, fr_load, fr_mul, fr_store, fr_sub
from zkml.engines.gpu.msm import as_u32, g1_load, g1_store, g2_load, g2_store, msm

pytestmark = pytest.mark.gpusim
RINV = pow(1 << 256, -1, Q)


def g1_affine(jac):
    """A (3, 8) Montgomery Jacobian point from a kernel, as the CPU engine's affine array."""
    X, Y, Z = (v * RINV % Q for v in ints(jac))
    if Z == 0:
        return np.zeros((2, 4), np.uint64)
    zi = pow(Z, -1, Q)
    return B.g1_to_array((X * zi * zi % Q, Y * zi ** 3 % Q))


def g2_affine(jac):
    X, Y, Z = (bn.FQ2([v * RINV % Q for v in ints(jac[i])]) for i in range(3))
    if Z == bn.FQ2.zero():
        return np.zeros((2, 2, 4), np.uint64)
    x, y = X / Z ** 2, Y / Z ** 3
    return B.g2_to_array(tuple(tuple(int(c) for c in v.coeffs) for v in (x, y)))


def arr(values, p):
    return np.array([F.limbs32(v % p) for v in values], np.uint32)


def ints(a):
    return [sum(int(v) << (32 * i) for i, v in enumerate(row)) for row in np.asarray(a).reshape(len(a), -1)]


def mont(values, p):
    return arr([v * (1 << 256) % p for v in values], p)


def unmont(a, p):
    return [v * pow(1 << 256, -1, p) % p for v in ints(a)]


# --- field: the same functions under njit and in CUDA kernels --------------------------------


@register_jitable
def _fq_ops(a, b, out, i):
    x, y = fq_load(a, i), fq_load(b, i)
    fq_store(out, 4 * i, fq_mul(x, y))
    fq_store(out, 4 * i + 1, fq_add(x, y))
    fq_store(out, 4 * i + 2, fq_sub(x, y))
    fq_store(out, 4 * i + 3, fq_neg(x))


@njit
def _cpu_field(a, b, out):
    for i in range(a.shape[0]):
        _fq_ops(a, b, out, i)


@cuda.jit
def _gpu_field(a, b, out):
    i = cuda.grid(1)
    if i < a.shape[0]:
        _fq_ops(a, b, out, i)


@cuda.jit
def _gpu_fr(a, b, out):
    i = cuda.grid(1)
    if i < a.shape[0]:
        x, y = fr_load(a, i), fr_load(b, i)
        fr_store(out, 3 * i, fr_mul(x, y))
        fr_store(out, 3 * i + 1, fr_add(x, y))
        fr_store(out, 3 * i + 2, fr_sub(x, y))


def _edge_and_random(p, n, rng):
    edge = [0, 1, 2, p - 1, p - 2, (1 << 32) - 1, 1 << 32, (p - 1) // 2, (1 << 253)]
    xs = edge + [rng.randrange(p) for _ in range(n)]
    ys = list(reversed(edge)) + [rng.randrange(p) for _ in range(n)]
    return xs, ys


def test_fq_on_both_targets_matches_integers():
    rng = random.Random(3)
    xs, ys = _edge_and_random(Q, 40, rng)
    a, b = arr(xs, Q), arr(ys, Q)
    expect = []
    for x, y in zip(xs, ys):
        expect += [x * y * RINV % Q, (x + y) % Q, (x - y) % Q, -x % Q]
    for run in ("cpu", "gpu"):
        out = np.zeros((4 * len(xs), 8), np.uint32)
        if run == "cpu":
            _cpu_field(a, b, out)
        else:
            _gpu_field[2, 32](a, b, out)
        assert ints(out) == expect, run


def test_fr_kernel_matches_integers():
    rng = random.Random(4)
    xs, ys = _edge_and_random(R, 20, rng)
    out = np.zeros((3 * len(xs), 8), np.uint32)
    _gpu_fr[1, 32](arr(xs, R), arr(ys, R), out)
    rinv = pow(1 << 256, -1, R)
    expect = []
    for x, y in zip(xs, ys):
        expect += [x * y * rinv % R, (x + y) % R, (x - y) % R]
    assert ints(out) == expect


@cuda.jit
def _gpu_fq2(a, b, out):
    i = cuda.grid(1)
    if i < a.shape[0] // 2:
        x = (fq_load(a, 2 * i), fq_load(a, 2 * i + 1))
        y = (fq_load(b, 2 * i), fq_load(b, 2 * i + 1))
        m, s = fq2_mul(x, y), fq2_sqr(x)
        fq_store(out, 4 * i, m[0])
        fq_store(out, 4 * i + 1, m[1])
        fq_store(out, 4 * i + 2, s[0])
        fq_store(out, 4 * i + 3, s[1])


def test_fq2_against_py_ecc():
    rng = random.Random(5)
    pairs = [(rng.randrange(Q), rng.randrange(Q)) for _ in range(24)] + [(0, 0), (Q - 1, Q - 1), (1, 0)]
    others = [(rng.randrange(Q), rng.randrange(Q)) for _ in range(len(pairs))]
    a = mont([v for p in pairs for v in p], Q)
    b = mont([v for p in others for v in p], Q)
    out = np.zeros((4 * len(pairs), 8), np.uint32)
    _gpu_fq2[1, 32](a, b, out)
    got = unmont(out, Q)
    for i, (x, y) in enumerate(zip(pairs, others)):
        m, s = bn.FQ2(list(x)) * bn.FQ2(list(y)), bn.FQ2(list(x)) ** 2
        assert got[4 * i: 4 * i + 4] == [int(c) for c in m.coeffs] + [int(c) for c in s.coeffs]


# --- curve formulas --------------------------------------------------------------------------


@cuda.jit
def _gpu_g1_ops(p, q, out):
    if cuda.grid(1) == 0:
        P, Qp = g1_load(p, 0), g1_load(q, 0)
        g1_store(out, 0, g1_dbl(P))
        g1_store(out, 1, g1_add(P, Qp))
        g1_store(out, 2, g1_add(P, P))  # doubling through the addition formula
        g1_store(out, 3, g1_add_affine(P, Qp[0], Qp[1]))  # q has Z = 1
        neg = (Qp[0], fq_neg(Qp[1]), Qp[2])
        g1_store(out, 4, g1_add(Qp, neg))  # the identity
        g1_store(out, 5, g1_add(g1_add(Qp, neg), P))  # identity + P


def _jac_g1(p, z):
    """A py_ecc affine point in Jacobian coordinates with Z = z (Montgomery, (3, 8))."""
    x, y = int(p[0]), int(p[1])
    return mont([x * z * z % Q, y * z * z * z % Q, z], Q)


def test_g1_formulas_against_py_ecc():
    rng = random.Random(6)
    P = bn.normalize(bn.multiply(bn.G1, rng.randrange(1, R)))
    Qa = bn.normalize(bn.multiply(bn.G1, rng.randrange(1, R)))
    out = np.zeros((6, 3, 8), np.uint32)
    _gpu_g1_ops[1, 1](_jac_g1(P, rng.randrange(1, Q))[None], _jac_g1(Qa, 1)[None], out)
    got = [B.g1_from_array(g1_affine(out[i])) for i in range(6)]
    two = bn.normalize(bn.double((P[0], P[1], bn.FQ.one())))
    s = bn.normalize(bn.add((P[0], P[1], bn.FQ.one()), (Qa[0], Qa[1], bn.FQ.one())))
    want = [(int(two[0]), int(two[1])), (int(s[0]), int(s[1])), (int(two[0]), int(two[1])), (int(s[0]), int(s[1])),
            None, (int(P[0]), int(P[1]))]
    assert got == want


@cuda.jit
def _gpu_g2_ops(p, q, out):
    if cuda.grid(1) == 0:
        P, Qp = g2_load(p, 0), g2_load(q, 0)
        g2_store(out, 0, g2_dbl(P))
        g2_store(out, 1, g2_add(P, Qp))


def test_g2_formulas_against_py_ecc():
    rng = random.Random(7)
    P, Qa = (bn.normalize(bn.multiply(bn.G2, rng.randrange(1, R))) for _ in range(2))

    def jac(p):
        x, y = ([int(c) for c in p[0].coeffs], [int(c) for c in p[1].coeffs])
        return mont(x + y + [1, 0], Q).reshape(3, 2, 8)

    out = np.zeros((2, 3, 2, 8), np.uint32)
    _gpu_g2_ops[1, 1](jac(P)[None], jac(Qa)[None], out)
    pj, qj = (P[0], P[1], bn.FQ2.one()), (Qa[0], Qa[1], bn.FQ2.one())
    for i, want in enumerate((bn.normalize(bn.double(pj)), bn.normalize(bn.add(pj, qj)))):
        assert B.g2_from_array(g2_affine(out[i])) == tuple(tuple(int(c) for c in v.coeffs) for v in want)


# --- MSM against the naive sum ---------------------------------------------------------------


def _scalars(n, rng):
    sc = [rng.randrange(R) for _ in range(n)]
    special = [0, 1, R - 1, 2, R - 2]
    sc[: len(special)] = special[:n]
    return sc


def _naive(points, scalars, group):
    acc = None
    for p, k in zip(points, scalars):
        if p is None or k == 0:
            continue
        pe = B.g1_to_pyecc(p) if group == "g1" else B.g2_to_pyecc(p)
        term = bn.multiply(pe, k)
        acc = term if acc is None else bn.add(acc, term)
    if acc is None or bn.is_inf(acc):
        return None
    return B.g1_from_pyecc(acc) if group == "g1" else B.g2_from_pyecc(acc)


@pytest.mark.parametrize("group, n", [("g1", 1), ("g1", 9), ("g1", 200), ("g2", 7), ("g2", 48)])
def test_msm_against_naive_sum(group, n):
    rng = random.Random(n)
    pts = random_g1_points(n, rng) if group == "g1" else random_g2_points(n, rng)
    if n > 6:
        pts[5] = pts[6]  # a repeated point
        pts[4] = None  # the identity, as a zkey writes it (zeros)
    to_arr = B.g1_to_array if group == "g1" else B.g2_to_array
    from_arr = B.g1_from_array if group == "g1" else B.g2_from_array
    sc = _scalars(n, rng)
    got = msm(group, np.stack([to_arr(p) for p in pts]), ints_to_limbs(sc))
    assert from_arr(got) == _naive(pts, sc, group)


def test_msm_cancelling_to_the_identity():
    rng = random.Random(9)
    p = random_g1_points(1, rng)[0]
    bases = np.stack([B.g1_to_array(p)] * 3)
    got = msm("g1", bases, ints_to_limbs([5, R - 3, R - 2]))  # 5 - 3 - 2 = 0
    assert B.g1_from_array(got) is None
    from zkml.engines.cpu.msm import msm_g1

    sc = ints_to_limbs(_scalars(40, rng))
    bases = np.stack([B.g1_to_array(q) for q in random_g1_points(40, rng)])
    assert (msm("g1", bases, sc) == msm_g1(bases, sc)).all()  # same bytes as the CPU engine


# --- NTT -------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 8, 64])
def test_ntt_round_trip_and_cpu_agreement(n):
    from zkml.engines.cpu import ntt as cpu
    from zkml.engines.gpu.ntt import Domain

    rng = random.Random(n)
    vals = [rng.randrange(R) for _ in range(n)]
    mont_vals = ints_to_limbs([v * (1 << 256) % R for v in vals])
    d = Domain(n)
    dev = cuda.to_device(as_u32(mont_vals))
    fwd = d.ntt(dev)
    assert (fwd.copy_to_host() == as_u32(cpu.ntt(mont_vals.copy()))).all()
    assert (d.intt(fwd).copy_to_host() == as_u32(mont_vals)).all()
    shift = B.root_of_unity(2 * n)
    want = cpu.ntt(cpu.scale_by_powers(cpu.intt(mont_vals.copy()), shift))
    assert (d.to_odd_coset(dev).copy_to_host() == as_u32(want)).all()


# --- the whole prove -------------------------------------------------------------------------


def test_prove_is_bit_identical_to_cpu_and_verifies():
    from zkml.engines.cpu.prover import prove as cpu_prove
    from zkml.engines.gpu.prover import prove as gpu_prove
    from zkml.groth16.setup import DevTau, setup_from_secrets
    from zkml.groth16.verifier import verify

    r1cs, w = chain_circuit(6, n_extra_public=2)
    pk = setup_from_secrets(r1cs, DevTau.random())
    wl = ints_to_limbs(w)
    got = gpu_prove(pk, wl, r=11, s=13)
    assert got == cpu_prove(pk, wl, r=11, s=13)
    public = w[1: pk.n_public + 1]
    assert verify(pk.verifying_key(), public, got)
    assert not verify(pk.verifying_key(), [public[0] + 1] + public[1:], got)
    bad = list(w)
    bad[-1] = (bad[-1] + 1) % R  # a mutated witness gives a proof that does not verify
    assert not verify(pk.verifying_key(), public, gpu_prove(pk, ints_to_limbs(bad), r=11, s=13))


@pytest.mark.snarkjs
def test_gpu_proof_of_a_circom_circuit_verifies_in_snarkjs(tmp_path):
    res = subprocess.run([sys.executable, "-m", "zkml.cli", "groth16", "prove", FIXTURES / "multiplier.zkey",
                          FIXTURES / "witness.wtns", tmp_path / "p.json", tmp_path / "pub.json", "--device", "gpu"],
                         capture_output=True, text=True, cwd=ROOT, env={**os.environ, "NUMBA_ENABLE_CUDASIM": "1"})
    assert res.returncode == 0, res.stderr
    assert "simulator" in res.stderr
    snarkjs = node_tool("snarkjs")
    out = run_tool(snarkjs, "groth16", "verify", FIXTURES / "verification_key.json", tmp_path / "pub.json", tmp_path / "p.json")
    assert out.returncode == 0 and "OK" in out.stdout
    proof = json.loads((tmp_path / "p.json").read_text())
    proof["pi_a"][0] = str((int(proof["pi_a"][0]) + 1) % Q)
    (tmp_path / "p.json").write_text(json.dumps(proof))
    out = run_tool(snarkjs, "groth16", "verify", FIXTURES / "verification_key.json", tmp_path / "pub.json", tmp_path / "p.json")
    assert out.returncode != 0 and "OK" not in out.stdout


def test_device_gpu_without_a_gpu_is_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    res = subprocess.run([sys.executable, "-m", "zkml.cli", "groth16", "prove", FIXTURES / "multiplier.zkey",
                          FIXTURES / "witness.wtns", tmp_path / "p.json", tmp_path / "pub.json", "--device", "gpu"],
                         capture_output=True, text=True, cwd=ROOT, env=env)
    if "error" not in res.stderr:
        pytest.skip("this machine has a usable GPU")
    assert res.returncode == 1 and "--device gpu" in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and not (tmp_path / "p.json").exists()
    res = subprocess.run([sys.executable, "-m", "zkml.cli", "groth16", "prove", FIXTURES / "multiplier.zkey",
                          FIXTURES / "witness.wtns", tmp_path / "p.json", tmp_path / "pub.json", "--device", "auto"],
                         capture_output=True, text=True, cwd=ROOT, env=env)
    assert res.returncode == 0 and "proving on the CPU" in res.stderr


def test_a_key_too_large_for_the_device_is_refused_before_upload(monkeypatch):
    from zkml.engines.gpu import prover as P
    from zkml.errors import ZkmlError
    from zkml.groth16.setup import DevTau, setup_from_secrets

    r1cs, _ = chain_circuit(4)
    pk = setup_from_secrets(r1cs, DevTau.random())

    class Ctx:
        def get_memory_info(self):
            return 1000, 80 * 2**30  # 1 kB free of 80 GiB

    monkeypatch.setattr(P.cuda, "is_available", lambda: True)
    monkeypatch.setattr(P.cuda, "simulator_enabled", False, raising=False)
    monkeypatch.setattr(P.cuda, "current_context", lambda: Ctx())
    monkeypatch.setattr(P, "_resident", {})
    monkeypatch.setattr(P, "DeviceKey", lambda pk: pytest.fail("uploaded before checking the size"))
    with pytest.raises(ZkmlError, match=r"needs about .* GiB of device memory, the GPU has 0.0 GiB free of 80.0 GiB"):
        P.device_key(pk)


def test_lookup_prove_is_bit_identical_to_cpu():
    """Two-round keys: the same D (commit) and the same proof for the same r, s, rho."""
    from conftest import logup_circuit
    from zkml.engines.cpu import prover as cpu
    from zkml.engines.gpu import prover as gpu
    from zkml.groth16.challenge import challenge
    from zkml.groth16.setup import DevTau, setup_from_secrets
    from zkml.groth16.verifier import verify

    r1cs, w1, complete = logup_circuit([1, 3, 3, 6])
    pk = setup_from_secrets(r1cs, DevTau.random())
    d = gpu.commit(pk, ints_to_limbs(w1), 17)
    assert d == cpu.commit(pk, ints_to_limbs(w1), 17)
    vk = pk.verifying_key()
    public = w1[1:2]
    full = ints_to_limbs(complete(challenge(vk, public, d)))
    got = gpu.prove(pk, full, r=11, s=13, rho=17, d=d)
    assert got == cpu.prove(pk, full, r=11, s=13, rho=17, d=d)
    assert verify(vk, public, got)
    assert not verify(vk, public, gpu.prove(pk, full, r=11, s=13, rho=18, d=d))  # rho must match D's
