"""On-chain verification cost per example model: zkml's generated verifier against snarkjs's
exported verifier for the same key, on the embedded chain (py-evm), in the same run.

Gas is the gasUsed of a transaction calling verifyProof (21,000 intrinsic and calldata
included). ezkl's Halo2Verifier cannot be generated offline (ezkl 23 downloads solc at run
time), so its calldata is given as a lower bound: its raw proof bytes from
bench/results/models.json. Writes bench/results/evm.md and evm.json.
    python bench/bench_evm.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
MODELS = [("digits_mlp", "digits_calibration.npz", "digits_test.npz"),
          ("digits_cnn", "digits_cnn_calibration.npz", "digits_cnn_test.npz"),
          ("breast_cancer", "breast_cancer_calibration.npz", "breast_cancer_test.npz")]


def measure(chain, art: dict, args) -> dict:
    from zkml.evm.chain import deploy

    d = deploy(chain, art["bytecode"], art["abi"])
    c = chain.w3.eth.contract(address=d["address"], abi=art["abi"])
    assert c.functions.verifyProof(*args).call() is True
    tx = c.functions.verifyProof(*args).build_transaction({"from": chain.sender, "gas": 3_000_000})
    receipt = chain.send({"to": tx["to"], "data": tx["data"], "gas": 3_000_000})
    return {"deploy_gas": d["gas_used"], "verify_gas": int(receipt["gasUsed"]),
            "bytecode_bytes": (len(art["deployed_bytecode"]) - 2) // 2, "calldata_bytes": (len(tx["data"]) - 2) // 2}


def main() -> None:
    from click.testing import CliRunner

    from zkml.cli import main as cli
    from zkml.evm.chain import connect, proof_calldata
    from zkml.evm.onchain import artifact
    from zkml.evm.solc import compile_contract

    ezkl_rows = {}
    if (RESULTS / "models.json").exists():
        ezkl_rows = {r["model"]: r["ezkl"] for r in json.loads((RESULTS / "models.json").read_text())}
    rows = []
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        for name, cal, test in MODELS:
            for mode in ("hash", "packed"):
                bundle = tmp / f"{name}-{mode}"
                res = runner.invoke(cli, ["compile", str(ROOT / "models" / f"{name}.onnx"), "-c", str(ROOT / "models" / cal),
                                          "-o", str(bundle), "--public-signals", mode])
                assert res.exit_code == 0, res.output
                assert runner.invoke(cli, ["setup", str(bundle)]).exit_code == 0
                (tmp / "x.json").write_text(json.dumps(np.load(ROOT / "models" / test)["x"][0].tolist()))
                proof = tmp / f"{name}-{mode}.proof.json"
                assert runner.invoke(cli, ["prove", str(bundle), "-i", str(tmp / "x.json"), "-o", str(proof)]).exit_code == 0
                doc = json.loads(proof.read_text())
                args = proof_calldata(doc["proof"], [int(s) for s in doc["public_signals"]])
                chain = connect()
                ours = measure(chain, artifact(bundle), args)
                sol = tmp / "snarkjs_verifier.sol"
                subprocess.run([str(ROOT / "node_modules" / ".bin" / "snarkjs"), "zkey", "export", "solidityverifier",
                                str(bundle / "circuit.zkey"), str(sol)], check=True, capture_output=True)
                theirs = measure(chain, compile_contract(sol.read_text(), "Groth16Verifier"), args)
                ez = ezkl_rows.get(name, {})
                rows.append(dict(model=name, mode=mode, public=len(doc["public_signals"]), zkml=ours, snarkjs=theirs,
                                 ezkl_proof_bytes=ez.get("proof_raw_bytes")))
                print(name, mode, ours, theirs, flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "evm.json").write_text(json.dumps(rows, indent=1) + "\n")
    lines = [
        "# On-chain verification: zkml's verifier against snarkjs's exported verifier",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} by `python bench/bench_evm.py` on the embedded chain (eth-tester + py-evm), "
        "the same key and proof for both contracts, compiled by the same solc-js 0.8.37 with the optimizer (200 runs). "
        "Gas = gasUsed of a transaction calling verifyProof, intrinsic 21,000 and calldata included. `hash`: one public "
        "signal (Poseidon of the packed claim values); `packed`: the packed values themselves. ezkl: its "
        "Halo2Verifier needs a solc download at run time, so only its raw proof size (a lower bound on its calldata) "
        "from bench/results/models.json is shown.",
        "",
        "| model | public signals | zkml verify gas | snarkjs verify gas | zkml deploy gas | snarkjs deploy gas | zkml bytecode | snarkjs bytecode | calldata | ezkl proof bytes (calldata lower bound) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        z, s = r["zkml"], r["snarkjs"]
        ez = f"{r['ezkl_proof_bytes']} ({z['calldata_bytes'] / r['ezkl_proof_bytes']:.2f}x ours/theirs)" if r["ezkl_proof_bytes"] else "not measured"
        lines.append(f"| {r['model']} ({r['mode']}) | {r['public']} | {z['verify_gas']:,} | {s['verify_gas']:,} | {z['deploy_gas']:,} | "
                     f"{s['deploy_gas']:,} | {z['bytecode_bytes']:,} B | {s['bytecode_bytes']:,} B | {z['calldata_bytes']} B | {ez} |")
    lookups = ""  # bench_evm_lookups.py's section below the table, kept
    if (RESULTS / "evm.md").exists() and "## Lookup verifier" in (RESULTS / "evm.md").read_text():
        lookups = "\n## Lookup verifier" + (RESULTS / "evm.md").read_text().split("## Lookup verifier", 1)[1]
    (RESULTS / "evm.md").write_text("\n".join(lines) + "\n" + lookups)
    print(f"wrote {RESULTS / 'evm.md'}")


if __name__ == "__main__":
    main()
