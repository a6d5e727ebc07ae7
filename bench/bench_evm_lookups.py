"""On-chain cost of the lookup (two-round) verifier against the plain one, one public signal each,
in the same run on the embedded chain (py-evm): verifyProof gas as a transaction's gasUsed
(intrinsic 21,000 and calldata included), calldata and proof bytes, deployment, and verifyBatch
per proof. The lookup circuit is tests/conftest.py's hand-written LogUp circuit (verification
cost depends only on the number of public signals, not on the circuit); the plain one is the
multiplier fixture. Writes the "Lookup verifier" section of bench/results/evm.md (bench_evm.py
keeps it when it rewrites the table above it) and bench/results/evm-lookups.json.
    python bench/bench_evm_lookups.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
RESULTS = ROOT / "bench" / "results"
SECTION = "## Lookup verifier"
GAS_BUDGET = 260_000  # issue 16
BATCH = 4


def _proof_bytes(args: tuple) -> int:
    """32 bytes per proof coordinate: the verifyProof arguments before the public inputs."""
    flat = lambda v: [x for p in v for x in flat(p)] if isinstance(v, (list, tuple)) else [v]  # noqa: E731
    return 32 * len(flat(args[:-1]))


def measure(chain, art: dict, args: list[tuple]) -> dict:
    from zkml.evm.chain import deploy

    d = deploy(chain, art["bytecode"], art["abi"])
    c = chain.w3.eth.contract(address=d["address"], abi=art["abi"])

    def gas(fn) -> tuple[int, int]:
        assert fn.call() is True
        tx = fn.build_transaction({"from": chain.sender, "gas": 5_000_000})
        receipt = chain.send({"to": tx["to"], "data": tx["data"], "gas": 5_000_000})
        assert receipt["status"] == 1
        return int(receipt["gasUsed"]), (len(tx["data"]) - 2) // 2

    one, calldata = gas(c.functions.verifyProof(*args[0]))
    batch, _ = gas(c.functions.verifyBatch(*[list(col) for col in zip(*args)]))
    return {"verify_gas": one, "calldata_bytes": calldata, "proof_bytes": _proof_bytes(args[0]),
            "deploy_gas": d["gas_used"], "bytecode_bytes": (len(art["deployed_bytecode"]) - 2) // 2,
            "batch_gas_per_proof": batch // len(args)}


def main() -> None:
    from conftest import FIXTURES, logup_circuit
    from zkml.crypto.bn254 import ints_to_limbs
    from zkml.engines.cpu.prover import prove as plain_prove
    from zkml.evm.chain import connect, proof_calldata
    from zkml.evm.solc import compile_contract
    from zkml.evm.verifier_gen import generate_solidity
    from zkml.formats.snarkjs_json import proof_to_json, read_vk
    from zkml.formats.wtns import read_wtns
    from zkml.formats.zkey import read_zkey
    from zkml.groth16.prover import prove
    from zkml.groth16.setup import DevTau, setup_from_secrets

    chain = connect()
    pk = read_zkey(FIXTURES / "multiplier.zkey")
    w = read_wtns(FIXTURES / "witness.wtns")
    plain_args = [proof_calldata(proof_to_json(plain_prove(pk, w)), [33]) for _ in range(BATCH)]
    plain_art = compile_contract(generate_solidity(read_vk(FIXTURES / "verification_key.json")), "Groth16Verifier")
    plain = measure(chain, plain_art, plain_args)

    r1cs, w1, complete = logup_circuit([1, 2, 2, 5, 7, 0])
    lk_pk = setup_from_secrets(r1cs, DevTau.random())
    lk_args = []
    for _ in range(BATCH):
        proof, public = prove(lk_pk, ints_to_limbs(w1), r1cs=r1cs, complete=complete)
        lk_args.append(proof_calldata(proof_to_json(proof), public))
    lk_art = compile_contract(generate_solidity(lk_pk.verifying_key()), "Groth16Verifier")
    lookup = measure(chain, lk_art, lk_args)
    assert lookup["proof_bytes"] == 320 and lookup["verify_gas"] <= GAS_BUDGET, lookup
    print("plain", plain, "\nlookup", lookup, flush=True)

    rows = {"plain": plain, "lookup": lookup, "compiler": lk_art["compiler"], "date": time.strftime("%Y-%m-%d")}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "evm-lookups.json").write_text(json.dumps(rows, indent=1) + "\n")
    lines = [
        SECTION,
        "",
        f"Measured {rows['date']} by `python bench/bench_evm_lookups.py` on the embedded chain, both contracts "
        f"compiled by {rows['compiler']} with the optimizer (200 runs), one public signal each. Lookup (two-round) "
        "Groth16: proof A, B, C, D; the verifier recomputes the challenge (keccak256 of the tag, the key's digest, "
        "the public signals and D), multiplies it into the last IC point (one more ecMul + ecAdd) and makes one "
        "5-pair pairing call. Gas = gasUsed of a verifyProof transaction (intrinsic and calldata included); "
        f"batch = verifyBatch of {BATCH} proofs (n + 3 pairings plain, n + 4 lookup) divided by {BATCH}. "
        f"Budget (issue 16): {GAS_BUDGET:,} gas.",
        "",
        "| verifier | verify gas | proof bytes | calldata | deploy gas | bytecode | verifyBatch gas per proof |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in (("plain Groth16 (multiplier fixture)", plain), ("lookup Groth16 (LogUp circuit)", lookup)):
        lines.append(f"| {name} | {r['verify_gas']:,} | {r['proof_bytes']} B | {r['calldata_bytes']} B | "
                     f"{r['deploy_gas']:,} | {r['bytecode_bytes']:,} B | {r['batch_gas_per_proof']:,} |")
    lines.append(f"| lookup - plain | +{lookup['verify_gas'] - plain['verify_gas']:,} | "
                 f"+{lookup['proof_bytes'] - plain['proof_bytes']} B | +{lookup['calldata_bytes'] - plain['calldata_bytes']} B | "
                 f"+{lookup['deploy_gas'] - plain['deploy_gas']:,} | +{lookup['bytecode_bytes'] - plain['bytecode_bytes']:,} B | "
                 f"+{lookup['batch_gas_per_proof'] - plain['batch_gas_per_proof']:,} |")
    path = RESULTS / "evm.md"
    head = path.read_text().split(SECTION)[0].rstrip() + "\n\n" if path.exists() else ""
    path.write_text(head + "\n".join(lines) + "\n")
    print(f"wrote the lookup section of {path}")


if __name__ == "__main__":
    main()
