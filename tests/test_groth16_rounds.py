"""Two-round (lookup) Groth16 on a hand-written LogUp circuit: setup with two deltas, the
commitment D, the challenge, every verifier (py_ecc, engine, both batch forms), the files, and
the ways a prover could cheat: a tampered D, a challenge hashed without the public signals, a
value outside the table, multiplicities solved for a challenge fixed in advance."""

from __future__ import annotations

import json

import numpy as np
import pytest
from py_ecc import optimized_bn128 as bn

from conftest import logup_circuit
from zkml.crypto.bn254 import R, g1_from_pyecc, g1_to_pyecc, g2_from_pyecc, g2_to_pyecc, ints_to_limbs
from zkml.errors import FormatError, UnsatisfiedWitness, ZkmlError
from zkml.groth16 import batch_verify, fast_verify, verifier
from zkml.groth16.challenge import challenge, vk_digest
from zkml.groth16.contribute import contribute, verify_contributions
from zkml.groth16.data_structures import Proof
from zkml.groth16.malformed import MalformedProof
from zkml.groth16.prover import prove
from zkml.groth16.setup import DevTau, setup_from_secrets

VALUES = [1, 2, 2, 5, 7, 0]


@pytest.fixture(scope="module")
def circuit():
    r1cs, w1, complete = logup_circuit(VALUES)
    pk = setup_from_secrets(r1cs, DevTau.random())
    proof, public = prove(pk, ints_to_limbs(w1), r1cs=r1cs, complete=complete)
    return r1cs, w1, complete, pk, proof, public


def _all_verifiers(vk, public, proof) -> list[bool]:
    return [verifier.verify(vk, public, proof), fast_verify.verify(vk, public, proof),
            batch_verify.verify_batch(vk, [(public, proof)])[0], fast_verify.verify_batch(vk, [(public, proof)])[0]]


def _plus_g1(p):
    return g1_from_pyecc(bn.add(g1_to_pyecc(p), bn.G1))


def test_key_and_proof_shape(circuit):
    r1cs, _, _, pk, proof, public = circuit
    assert pk.has_lookups and pk.n_round2 == r1cs.n_round2 == len(VALUES) + 8
    assert pk.n_round1 == len(VALUES) + 8
    vk = pk.verifying_key()
    assert vk.has_lookups and vk.n_public == 1 and len(vk.ic) == 3  # the claim's signal, the constant, the challenge
    assert public == [sum(VALUES)]
    assert proof.d is not None
    assert not verify_contributions(pk)


def test_honest_proof_verifies_everywhere(circuit):
    *_, pk, proof, public = circuit
    assert _all_verifiers(pk.verifying_key(), public, proof) == [True] * 4


def test_batch_of_several_lookup_proofs(circuit):
    _, w1, complete, pk, proof, public = circuit
    other, _ = prove(pk, ints_to_limbs(w1), complete=complete)
    vk = pk.verifying_key()
    items = [(public, proof), (public, other)]
    assert batch_verify.verify_batch(vk, items) == (True, [])
    assert fast_verify.verify_batch(vk, items) == (True, [])
    bad = Proof(other.a, other.b, other.c, _plus_g1(other.d))
    assert batch_verify.verify_batch(vk, [(public, proof), (public, bad)]) == (False, [1])
    assert fast_verify.verify_batch(vk, [(public, bad), (public, proof)]) == (False, [0])


@pytest.mark.parametrize("part", ["a", "c", "d"])
def test_tampered_proof_points_are_rejected(circuit, part):
    *_, pk, proof, public = circuit
    fields = {k: getattr(proof, k) for k in "abcd"}
    fields[part] = _plus_g1(fields[part])
    assert _all_verifiers(pk.verifying_key(), public, Proof(**fields)) == [False] * 4


def test_swapped_b_is_rejected(circuit):
    *_, pk, proof, public = circuit
    b = g2_from_pyecc(bn.add(g2_to_pyecc(proof.b), bn.G2))
    bad = Proof(proof.a, b, proof.c, proof.d)
    assert _all_verifiers(pk.verifying_key(), public, bad) == [False] * 4


def test_wrong_public_signal_is_rejected(circuit):
    *_, pk, proof, public = circuit
    vk = pk.verifying_key()
    assert _all_verifiers(vk, [public[0] + 1], proof) == [False] * 4
    for bad in (public[0] + R, R, 2**256 - 1):
        for check in (verifier.verify, fast_verify.verify):
            with pytest.raises(MalformedProof, match="not in"):
                check(vk, [bad], proof)


def test_missing_or_extra_d_is_malformed(circuit):
    *_, pk, proof, public = circuit
    vk = pk.verifying_key()
    no_d = Proof(proof.a, proof.b, proof.c)
    for check in (verifier.verify, fast_verify.verify):
        with pytest.raises(MalformedProof, match="no D"):
            check(vk, public, no_d)
    assert batch_verify.verify_batch(vk, [(public, no_d)]) == (False, [0])
    # a plain key never accepts a proof carrying D
    from conftest import chain_circuit

    plain_r1cs, w = chain_circuit(3)
    plain = setup_from_secrets(plain_r1cs, DevTau.random())
    p, pub = prove(plain, ints_to_limbs(w))
    with_d = Proof(p.a, p.b, p.c, proof.d)
    for check in (verifier.verify, fast_verify.verify):
        with pytest.raises(MalformedProof, match="carries D"):
            check(plain.verifying_key(), pub, with_d)
    assert fast_verify.verify(plain.verifying_key(), pub, p)


def test_challenge_hashed_without_the_public_signals_is_rejected(circuit, monkeypatch):
    """A prover who leaves the public signals out of the hash (so it could choose a public
    looked-up value after the challenge) makes proofs that no verifier accepts."""
    r1cs, w1, complete, pk, _, public = circuit
    import zkml.groth16.challenge as ch

    real = ch.challenge
    monkeypatch.setattr(ch, "challenge", lambda vk, pub, d, digest=None: real(vk, [], d, digest))
    proof, _ = prove(pk, ints_to_limbs(w1), complete=complete, check=False)
    monkeypatch.setattr(ch, "challenge", real)
    assert _all_verifiers(pk.verifying_key(), public, proof) == [False] * 4


def test_challenge_binds_key_public_signals_and_d(circuit):
    *_, pk, proof, public = circuit
    vk = pk.verifying_key()
    c = challenge(vk, public, proof.d)
    assert c == challenge(vk, public, proof.d, vk_digest(vk)) and 0 <= c < R
    assert c != challenge(vk, [public[0] + 1], proof.d)
    assert c != challenge(vk, public, _plus_g1(proof.d))
    other = contribute(pk).verifying_key()
    assert c != challenge(other, public, proof.d)


def test_value_outside_the_table_is_unprovable():
    values = [1, 9]  # 9 is not in the table 0..7
    r1cs, w1, complete = logup_circuit(values)
    pk = setup_from_secrets(r1cs, DevTau.random())
    with pytest.raises(UnsatisfiedWitness):
        prove(pk, ints_to_limbs(w1), r1cs=r1cs, complete=complete)
    with pytest.raises(UnsatisfiedWitness):  # the prover's own verification refuses it too
        prove(pk, ints_to_limbs(w1), complete=complete)


def test_multiplicities_solved_for_a_fixed_challenge_fail_with_the_real_one():
    """Multiplicities are field elements: for a challenge z0 known in advance a prover can solve
    them so that a value outside the table passes at z0. The real challenge hashes D, which
    commits to those multiplicities, so the same witness fails."""
    values = [1, 9]
    r1cs, w1, complete = logup_circuit(values)
    z0 = 123456789
    honest = [sum(1 for v in values if v == t) for t in range(8)]
    cheat = list(honest)
    cheat[0] = (cheat[0] + z0 * pow(z0 - 9, -1, R)) % R  # m_0 / (z0 - 0) pays for 1 / (z0 - 9)
    r1cs.check_witness(complete(z0, cheat), "cheating witness at z0")  # passes with z0 fixed in advance
    with pytest.raises(UnsatisfiedWitness):
        r1cs.check_witness(complete(z0 + 1, cheat), "cheating witness at another z")
    pk = setup_from_secrets(r1cs, DevTau.random())
    w1_cheat = list(w1)
    for j, m in enumerate(cheat):
        w1_cheat[3 + len(values) + j] = m
    with pytest.raises(UnsatisfiedWitness):
        prove(pk, ints_to_limbs(w1_cheat), r1cs=r1cs, complete=lambda z: complete(z, cheat))
    forged, public = prove(pk, ints_to_limbs(w1_cheat), complete=lambda z: complete(z, cheat), check=False)
    assert _all_verifiers(pk.verifying_key(), public, forged) == [False] * 4


@pytest.mark.parametrize("which", ["round", "final"])
def test_mutated_round_2_signal_breaks_the_proof(circuit, which):
    r1cs, w1, complete, pk, _, public = circuit
    n = len(VALUES)
    index = 3 + n + 8 + (0 if which == "round" else n)  # the first u_i, or the first v_j

    def bad_complete(z):
        w = complete(z)
        w[index] = (w[index] + 1) % R
        return w

    with pytest.raises(UnsatisfiedWitness):
        prove(pk, ints_to_limbs(w1), r1cs=r1cs, complete=bad_complete)
    forged, _ = prove(pk, ints_to_limbs(w1), complete=bad_complete, check=False)
    assert not verifier.verify(pk.verifying_key(), public, forged)


def test_contributions_update_both_deltas(circuit):
    _, w1, complete, pk, proof, public = circuit
    new = contribute(pk, name="second")
    assert not verify_contributions(new)
    assert len(new.contributions) == len(new.round_contributions) == 2
    assert not np.array_equal(new.delta_round1, pk.delta_round1) and not np.array_equal(new.delta1, pk.delta1)
    fresh, _ = prove(new, ints_to_limbs(w1), complete=complete)
    assert verifier.verify(new.verifying_key(), public, fresh)
    assert not fast_verify.verify(new.verifying_key(), public, proof)  # made under the old key
    tampered = contribute(pk)
    tampered.round_contributions[-1].g1_sx = _plus_g1(tampered.round_contributions[-1].g1_sx)
    assert any("delta_round" in p for p in verify_contributions(tampered))
    moved = contribute(pk)
    moved.delta_round1 = new.delta_round1  # delta_round no longer the last record's
    assert any("delta_round" in p for p in verify_contributions(moved))


def test_a_shared_delta_would_not_verify(circuit):
    """Setting delta_round = delta in the key (the design's warning) changes the verifying key's
    digest and so the challenge: an old proof does not carry over."""
    *_, pk, proof, public = circuit
    vk = pk.verifying_key()
    vk.delta_round2 = vk.delta2
    assert not fast_verify.verify(vk, public, proof)


def test_zkey_round_trip_and_layout_errors(circuit, tmp_path):
    from zkml.formats.zkey import GROTH16_ROUNDS, read_zkey, write_zkey

    _, w1, complete, pk, _, public = circuit
    path = tmp_path / "k.zkey"
    write_zkey(path, pk)
    back = read_zkey(path)
    assert back.has_lookups and back.n_round2 == pk.n_round2
    assert np.array_equal(back.delta_round2, pk.delta_round2) and np.array_equal(back.c, pk.c)
    assert not verify_contributions(back)
    proof, _ = prove(back, ints_to_limbs(w1), complete=complete)
    assert verifier.verify(pk.verifying_key(), public, proof)

    raw = path.read_bytes()
    proto = GROTH16_ROUNDS.to_bytes(4, "little")
    (tmp_path / "plain.zkey").write_bytes(raw.replace(proto, (1).to_bytes(4, "little"), 1))
    with pytest.raises(FormatError, match="rounds section"):
        read_zkey(tmp_path / "plain.zkey")
    head = (16).to_bytes(4, "little") + (8 + 64 + 128).to_bytes(8, "little")  # section 16 and its size
    version = head + (1).to_bytes(4, "little")
    assert raw.count(version) == 1
    (tmp_path / "v2.zkey").write_bytes(raw.replace(version, head + (2).to_bytes(4, "little")))
    with pytest.raises(FormatError, match="layout version 2"):
        read_zkey(tmp_path / "v2.zkey")


def test_json_files_carry_d_and_the_challenge_rule(circuit, tmp_path):
    from zkml.formats import snarkjs_json as sj

    *_, pk, proof, public = circuit
    vk = pk.verifying_key()
    sj.write_vk(tmp_path / "vk.json", vk)
    sj.write_proof(tmp_path / "proof.json", proof)
    sj.write_public(tmp_path / "public.json", public)
    vk2, pub2, proof2 = sj.read_verify_inputs(tmp_path / "vk.json", tmp_path / "public.json", tmp_path / "proof.json")
    assert proof2 == proof and vk2.delta_round2 == vk.delta_round2 and pub2 == public
    assert fast_verify.verify(vk2, pub2, proof2)
    doc = json.loads((tmp_path / "proof.json").read_text())
    assert doc["protocol"] == "groth16-lookup" and "pi_d" in doc
    del doc["pi_d"]
    (tmp_path / "no_d.json").write_text(json.dumps(doc))
    with pytest.raises(FormatError, match="without pi_d"):
        sj.read_proof(tmp_path / "no_d.json")
    doc = json.loads((tmp_path / "vk.json").read_text())
    doc["challenge"]["vk_digest"] = "0x" + "00" * 32
    (tmp_path / "vk_bad.json").write_text(json.dumps(doc))
    with pytest.raises(FormatError, match="challenge"):
        sj.read_vk(tmp_path / "vk_bad.json")


def test_plain_witness_file_path_refuses_a_lookup_key(circuit):
    _, w1, _, pk, _, _ = circuit
    with pytest.raises(ZkmlError, match="lookup circuit"):
        prove(pk, ints_to_limbs(w1))
