"""The generated verifier's verifyBatch on the embedded EVM: many proofs of one key accepted in
one call; any wrong input, tampered point, or mismatched array rejects the batch (false, never
a revert); its answers agree with verifyProof's."""

import pytest

from conftest import FIXTURES
from zkml.engines.cpu.prover import prove
from zkml.evm import chain as C
from zkml.evm.solc import compile_contract
from zkml.evm.verifier_gen import generate_solidity
from zkml.crypto.bn254 import Q
from zkml.formats.snarkjs_json import proof_to_json, read_vk
from zkml.formats.wtns import read_wtns
from zkml.formats.zkey import read_zkey


@pytest.fixture(scope="module")
def verifier():
    pk = read_zkey(FIXTURES / "multiplier.zkey")
    w = read_wtns(FIXTURES / "witness.wtns")
    art = compile_contract(generate_solidity(read_vk(FIXTURES / "verification_key.json")), "Groth16Verifier")
    ch = C.connect()
    c = ch.w3.eth.contract(address=C.deploy(ch, art["bytecode"], art["abi"])["address"], abi=art["abi"])
    args = [C.proof_calldata(proof_to_json(prove(pk, w)), [33]) for _ in range(6)]
    return c, [[x[k] for x in args] for k in range(4)]


def test_valid_batch_is_accepted(verifier):
    c, (a, b, cc, inp) = verifier
    assert c.functions.verifyBatch(a, b, cc, inp).call()
    assert c.functions.verifyBatch(a[:1], b[:1], cc[:1], inp[:1]).call()
    assert all(c.functions.verifyProof(a[i], b[i], cc[i], inp[i]).call() for i in range(len(a)))


def test_any_bad_proof_rejects_the_batch(verifier):
    c, (a, b, cc, inp) = verifier
    bad_inp = [list(x) for x in inp]
    bad_inp[3] = [34]
    assert not c.functions.verifyBatch(a, b, cc, bad_inp).call()
    bad_c = [list(x) for x in cc]
    bad_c[2] = [cc[2][0], (cc[2][1] + 1) % Q]  # off the curve
    assert not c.functions.verifyBatch(a, b, bad_c, inp).call()
    swapped = [cc[1], cc[0]] + list(cc[2:])  # two proofs' C swapped: each equation breaks
    assert not c.functions.verifyBatch(a, b, swapped, inp).call()
    big = [list(x) for x in inp]
    big[0] = [33 + 21888242871839275222246405745257275088548364400416034343698204186575808495617]  # input + r
    assert not c.functions.verifyBatch(a, b, cc, big).call()
    assert not c.functions.verifyBatch(a, b, cc, inp[:-1]).call()  # lengths differ
    assert not c.functions.verifyBatch([], [], [], []).call()
