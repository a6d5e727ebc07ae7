"""Batch verification against single verification, in the same run: Python (py_ecc) time for 64
proofs, and on-chain gas per proof of verifyBatch (4, 16, 32 proofs) against verifyProof, on the
embedded EVM (transaction gasUsed, 21,000 intrinsic included). Writes bench/results/batch-verify.md.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from zkml.engines.cpu.prover import prove
    from zkml.evm import chain as C
    from zkml.evm.solc import compile_contract
    from zkml.evm.verifier_gen import generate_solidity
    from zkml.formats.snarkjs_json import proof_to_json, read_vk
    from zkml.formats.wtns import read_wtns
    from zkml.formats.zkey import read_zkey
    from zkml.groth16.batch_verify import verify_batch
    from zkml.groth16.verifier import verify

    fx = ROOT / "tests" / "fixtures"
    pk, w = read_zkey(fx / "multiplier.zkey"), read_wtns(fx / "witness.wtns")
    vk = read_vk(fx / "verification_key.json")
    n = 64
    proofs = [prove(pk, w) for _ in range(n)]
    items = [([33], p) for p in proofs]
    t0 = time.perf_counter()
    assert all(verify(vk, pub, p) for pub, p in items)
    single = time.perf_counter() - t0
    t0 = time.perf_counter()
    assert verify_batch(vk, items) == (True, [])
    batch = time.perf_counter() - t0

    art = compile_contract(generate_solidity(vk), "Groth16Verifier")
    ch = C.connect()
    c = ch.w3.eth.contract(address=C.deploy(ch, art["bytecode"], art["abi"])["address"], abi=art["abi"])
    args = [C.proof_calldata(proof_to_json(p), [33]) for p in proofs]

    def gas(fn) -> int:
        tx = fn.build_transaction({"from": ch.sender, "gas": 30_000_000})
        return int(ch.send({"to": tx["to"], "data": tx["data"], "gas": 30_000_000})["gasUsed"])

    g1 = gas(c.functions.verifyProof(*args[0]))
    rows = []
    for k in (4, 16, 32):
        cols = [[a[i] for a in args[:k]] for i in range(4)]
        assert c.functions.verifyBatch(*cols).call()
        g = gas(c.functions.verifyBatch(*cols))
        rows.append((k, g, g / k, g / k / g1))
    lines = ["# Batch verification against single verification (same run)", "",
             f"Circuit: the circom multiplier (one public input); {n} proofs of one key.", "",
             "| Python (py_ecc) | time (s) | per proof (s) |", "|---|---|---|",
             f"| {n} single verifications | {single:.2f} | {single / n:.3f} |",
             f"| one batch of {n} | {batch:.2f} | {batch / n:.3f} |",
             f"| speed-up | {single / batch:.1f}x | |", "",
             "| EVM (embedded, tx gasUsed incl. 21,000) | gas | gas per proof | per proof vs single |", "|---|---|---|---|",
             f"| verifyProof, 1 proof | {g1:,} | {g1:,} | 100% |"]
    lines += [f"| verifyBatch, {k} proofs | {g:,} | {pp:,.0f} | {ratio:.0%} |" for k, g, pp, ratio in rows]
    out = ROOT / "bench" / "results" / "batch-verify.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
