"""Larger cross-checks, run by `make test-slow` (not in the default suite)."""

import random

import numpy as np
import pytest

from conftest import ROOT, node_tool, run_tool
from zkml.crypto import bn254 as B
from zkml.engines.cpu import batch
from zkml.engines.cpu.msm import msm_g1, msm_g2

pytestmark = pytest.mark.slow


def test_msm_2_16_against_known_discrete_logs():
    """sum k_i (a_i G) = (sum k_i a_i) G at 2^16 points, where the a_i are known."""
    r = random.Random(5)
    n = 1 << 16
    a = [r.randrange(B.R) for _ in range(n)]
    k = [r.randrange(B.R) if i % 4 else r.randrange(3) for i in range(n)]
    s = sum(x * y for x, y in zip(a, k)) % B.R
    for group, msm, gen, to_arr, from_arr in (
        ("g1", msm_g1, B.G1_GENERATOR, B.g1_to_array, B.g1_from_array),
        ("g2", msm_g2, B.G2_GENERATOR, B.g2_to_array, B.g2_from_array),
    ):
        pts = batch.fixed_base_mul(group, to_arr(gen), B.ints_to_limbs(a))
        expected = batch.fixed_base_mul(group, to_arr(gen), B.ints_to_limbs([s]))[0]
        assert np.array_equal(msm(pts, B.ints_to_limbs(k)), expected)


def test_chain_4096_both_ways_with_snarkjs(tmp_path):
    circom, snarkjs = node_tool("circom2"), node_tool("snarkjs")
    zkml = ROOT / ".venv" / "bin" / "zkml"
    src = (ROOT / "examples" / "circom" / "chain.circom.in").read_text().replace("@N@", "4093")
    (tmp_path / "c.circom").write_text(src)
    assert run_tool(circom, tmp_path / "c.circom", "--r1cs", "--wasm", "-o", tmp_path).returncode == 0
    (tmp_path / "in.json").write_text('{"x": "7"}')
    assert run_tool(snarkjs, "wtns", "calculate", tmp_path / "c_js" / "c.wasm", tmp_path / "in.json", tmp_path / "w.wtns").returncode == 0
    assert run_tool(zkml, "groth16", "setup", tmp_path / "c.r1cs", tmp_path / "c.zkey", "--dev").returncode == 0
    assert run_tool(zkml, "groth16", "export-vk", tmp_path / "c.zkey", tmp_path / "vk.json").returncode == 0
    res = run_tool(zkml, "groth16", "prove", tmp_path / "c.zkey", tmp_path / "w.wtns", tmp_path / "p.json",
                   tmp_path / "pub.json", "--r1cs", tmp_path / "c.r1cs")
    assert res.returncode == 0, res.stderr
    assert "OK" in run_tool(snarkjs, "groth16", "verify", tmp_path / "vk.json", tmp_path / "pub.json", tmp_path / "p.json").stdout
    assert run_tool(snarkjs, "groth16", "prove", tmp_path / "c.zkey", tmp_path / "w.wtns", tmp_path / "sp.json", tmp_path / "spub.json").returncode == 0
    assert run_tool(zkml, "groth16", "verify", tmp_path / "vk.json", tmp_path / "spub.json", tmp_path / "sp.json").returncode == 0
