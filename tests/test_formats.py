"""Reading and writing snarkjs/circom files against golden files made by circom2 and snarkjs."""

import json
import struct

import numpy as np
import pytest

from conftest import FIXTURES, chain_circuit
from zkml.crypto import bn254 as B
from zkml.errors import FormatError
from zkml.formats.ptau import read_ptau
from zkml.formats.r1cs import read_r1cs, write_r1cs
from zkml.formats.snarkjs_json import read_proof, read_public, read_vk, write_proof, write_public, write_vk
from zkml.formats.wtns import read_wtns, write_wtns
from zkml.formats.zkey import read_zkey, write_zkey
from zkml.groth16.verifier import verify


@pytest.mark.parametrize("name,reader,writer", [
    ("multiplier.r1cs", read_r1cs, write_r1cs),
    ("witness.wtns", read_wtns, write_wtns),
    ("multiplier.zkey", read_zkey, write_zkey),
])
def test_round_trip_is_byte_identical(tmp_path, name, reader, writer):
    out = tmp_path / name
    writer(out, reader(FIXTURES / name))
    assert out.read_bytes() == (FIXTURES / name).read_bytes()


def test_circom_witness_satisfies_circom_r1cs():
    r1cs = read_r1cs(FIXTURES / "multiplier.r1cs")
    w = B.limbs_to_ints(read_wtns(FIXTURES / "witness.wtns"))
    assert (r1cs.n_constraints, r1cs.n_pub_out, r1cs.n_prv_in) == (1, 1, 2)
    assert w[:2] == [1, 33]
    r1cs.check_witness(w)
    w[1] = 34
    with pytest.raises(Exception, match="constraint 0 of 1"):
        r1cs.check_witness(w)


def test_zkey_matches_its_exported_vk():
    pk = read_zkey(FIXTURES / "multiplier.zkey")
    vk = read_vk(FIXTURES / "verification_key.json")
    assert pk.verifying_key() == vk
    assert len(pk.contributions) == 1 and pk.contributions[0].params["name"] == "fixture"


def test_snarkjs_proof_verifies_with_ours_and_negatives_fail():
    vk = read_vk(FIXTURES / "verification_key.json")
    proof = read_proof(FIXTURES / "proof.json")
    public = read_public(FIXTURES / "public.json")
    assert public == [33]
    assert verify(vk, public, proof)
    assert not verify(vk, [34], proof)


def test_json_round_trip(tmp_path):
    vk = read_vk(FIXTURES / "verification_key.json")
    proof = read_proof(FIXTURES / "proof.json")
    write_vk(tmp_path / "vk.json", vk)
    write_proof(tmp_path / "proof.json", proof)
    write_public(tmp_path / "public.json", [33])
    assert read_vk(tmp_path / "vk.json") == vk
    assert read_proof(tmp_path / "proof.json") == proof
    ours, theirs = (json.loads(p.read_text()) for p in (tmp_path / "proof.json", FIXTURES / "proof.json"))
    assert ours == theirs


def test_ptau_lagrange_points_match_tau_powers():
    """Lagrange points of domain n sum, weighted by w^(ij), to tau^i: check i = 0 (sum = G1)."""
    from zkml.engines.cpu.msm import msm_g1

    ptau = read_ptau(FIXTURES / "pot4_final.ptau")
    assert ptau.power == 4 and ptau.prepared
    for n in (1, 2, 8, 16):
        lag = ptau.lagrange_g1(n)
        total = msm_g1(lag, B.ints_to_limbs([1] * n))
        assert B.g1_from_array(total) == B.G1_GENERATOR  # sum of L_i(tau) = 1
    assert B.g1_from_array(ptau.tau_g1(1)[0]) == B.G1_GENERATOR


def test_r1cs_write_read_of_our_own_circuit(tmp_path):
    r1cs, w = chain_circuit(9, n_extra_public=1)
    write_r1cs(tmp_path / "c.r1cs", r1cs)
    back = read_r1cs(tmp_path / "c.r1cs")
    back.check_witness(w)
    assert back.n_public == r1cs.n_public and back.n_constraints == r1cs.n_constraints


# --- malformed files ---------------------------------------------------------------------


@pytest.mark.parametrize("name,reader", [
    ("multiplier.r1cs", read_r1cs), ("witness.wtns", read_wtns),
    ("multiplier.zkey", read_zkey), ("pot4_final.ptau", read_ptau),
])
def test_truncated_files_are_named(tmp_path, name, reader):
    data = (FIXTURES / name).read_bytes()
    for cut in (3, 20, len(data) // 2, len(data) - 1):
        bad = tmp_path / name
        bad.write_bytes(data[:cut])
        with pytest.raises(FormatError, match=name):
            reader(bad)


def test_wrong_magic_and_wrong_kind(tmp_path):
    with pytest.raises(FormatError, match="not a .zkey file"):
        read_zkey(FIXTURES / "witness.wtns")
    with pytest.raises(FormatError, match="not a .wtns file"):
        read_wtns(FIXTURES / "multiplier.zkey")


def test_wrong_prime_is_reported(tmp_path):
    data = bytearray((FIXTURES / "witness.wtns").read_bytes())
    # header section starts at 12 (file header) + 12 (section header); prime follows n8
    pos = 12 + 12 + 4
    data[pos] ^= 1
    bad = tmp_path / "w.wtns"
    bad.write_bytes(bytes(data))
    with pytest.raises(FormatError, match="another curve"):
        read_wtns(bad)


def test_witness_value_not_reduced(tmp_path):
    w = read_wtns(FIXTURES / "witness.wtns")
    w[2] = B.int_to_limbs(B.R)
    write_wtns(tmp_path / "w.wtns", w)
    with pytest.raises(FormatError, match="witness value 2 is not below the field prime r"):
        read_wtns(tmp_path / "w.wtns")


def test_zkey_section_size_mismatch(tmp_path):
    pk = read_zkey(FIXTURES / "multiplier.zkey")
    pk.h = pk.h[:-1]
    write_zkey(tmp_path / "k.zkey", pk)
    with pytest.raises(FormatError, match="POINTS_H has 3 points, expected 4"):
        read_zkey(tmp_path / "k.zkey")


def test_malformed_json(tmp_path):
    p = tmp_path / "proof.json"
    p.write_text("{not json")
    with pytest.raises(FormatError, match="not valid JSON"):
        read_proof(p)
    p.write_text(json.dumps({"pi_a": ["1", "2", "1"], "pi_b": [["1", "2"]], "pi_c": ["x", "2", "1"]}))
    with pytest.raises(FormatError, match="pi_b"):
        read_proof(p)
    vk = json.loads((FIXTURES / "verification_key.json").read_text())
    vk["nPublic"] = 3
    p.write_text(json.dumps(vk))
    with pytest.raises(FormatError, match="nPublic is 3"):
        read_vk(p)


def test_writes_are_atomic(tmp_path, monkeypatch):
    """A failure while writing leaves neither a partial file nor a temp file behind."""
    pk = read_zkey(FIXTURES / "multiplier.zkey")
    target = tmp_path / "k.zkey"

    class Boom(Exception):
        pass

    real_pack = struct.pack
    calls = {"n": 0}

    def flaky_pack(fmt, *a):
        calls["n"] += 1
        if fmt == "<IQ" and calls["n"] > 12:
            raise Boom()
        return real_pack(fmt, *a)

    import zkml.formats.binfile as binfile

    monkeypatch.setattr(binfile.struct, "pack", flaky_pack)
    with pytest.raises(Boom):
        write_zkey(target, pk)
    assert list(tmp_path.iterdir()) == []
    assert np.array_equal(read_zkey(FIXTURES / "multiplier.zkey").h, pk.h)
