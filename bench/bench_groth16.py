"""Groth16 benchmark: our CPU engine against snarkjs (and its ffjavascript) in the same run.

Writes bench/results/groth16.md and groth16.json. Peers run in-process in node (start-up not
counted), each figure is the best of a few runs after a warm-up, on the same inputs: the same
bases and scalars for MSM, the same values for the NTT, the same .zkey and .wtns for prove.
    python bench/bench_groth16.py [--quick] [--max-log N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from zkml.crypto import bn254 as B  # noqa: E402
from zkml.engines.cpu import batch  # noqa: E402
from zkml.engines.cpu.msm import msm_g1, msm_g2  # noqa: E402
from zkml.engines.cpu.ntt import ntt  # noqa: E402

NODE_BIN = ROOT / "node_modules" / ".bin"
PEER = ROOT / "bench" / "peers" / "ffjs.mjs"
RESULTS = ROOT / "bench" / "results"


def best(fn, repeats: int) -> float:
    fn()
    t = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        t = min(t, time.perf_counter() - t0)
    return t


def peer(*args) -> float:
    res = subprocess.run(["node", str(PEER), *map(str, args)], capture_output=True, text=True,
                         cwd=ROOT, timeout=3600)
    if res.returncode:
        raise RuntimeError(f"peer failed: {res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])["seconds"]


def run(*args, cwd=None):
    res = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, timeout=3600)
    if res.returncode:
        raise RuntimeError(f"{args[0]} failed: {res.stdout[-1000:]} {res.stderr[-2000:]}")
    return res


def bench_msm(tmp: Path, logs: list[int], repeats: int) -> list[dict]:
    rows = []
    rnd = random.Random(1)
    n_max = 1 << max(logs)
    ks = B.ints_to_limbs([rnd.randrange(1, B.R) for _ in range(n_max)])
    for group in ("g1", "g2"):
        gen = B.g1_to_array(B.G1_GENERATOR) if group == "g1" else B.g2_to_array(B.G2_GENERATOR)
        bases_all = batch.fixed_base_mul(group, gen, ks)
        msm = msm_g1 if group == "g1" else msm_g2
        for log_n in logs:
            n = 1 << log_n
            bases = np.ascontiguousarray(bases_all[:n])
            scalars = B.ints_to_limbs([rnd.randrange(B.R) for _ in range(n)])
            ours = best(lambda: msm(bases, scalars), repeats)
            bases.astype("<u8").tofile(tmp / "bases.bin")
            scalars.astype("<u8").tofile(tmp / "scalars.bin")
            theirs = peer("msm", group, tmp / "bases.bin", tmp / "scalars.bin", repeats)
            rows.append(dict(op=f"{group.upper()} MSM", log_n=log_n, zkml_s=ours, peer_s=theirs))
            print(f"{group} msm 2^{log_n}: zkml {ours:.4f} s, ffjavascript {theirs:.4f} s", flush=True)
    return rows


def bench_ntt(tmp: Path, logs: list[int], repeats: int) -> list[dict]:
    rows = []
    rnd = random.Random(2)
    for log_n in logs:
        n = 1 << log_n
        vals = B.ints_to_limbs([rnd.randrange(B.R) for _ in range(n)])  # any values < r will do
        ours = best(lambda: ntt(vals), repeats)
        vals.astype("<u8").tofile(tmp / "values.bin")
        theirs = peer("fft", tmp / "values.bin", repeats)
        rows.append(dict(op="NTT", log_n=log_n, zkml_s=ours, peer_s=theirs))
        print(f"ntt 2^{log_n}: zkml {ours:.4f} s, ffjavascript {theirs:.4f} s", flush=True)
    return rows


CIRCUITS = {
    # name: (circom source template, input json, constraints for a domain of 2^k)
    "chain": ("chain.circom.in", '{"x": "5"}', lambda k: (1 << k) - 3),
}

BITS_SRC = """pragma circom 2.0.0;
include "circomlib/circuits/bitify.circom";
// Range checks: K numbers cut into 250 bits each; a witness of 0/1 values, as in ML circuits.
template Bits(K) {
    signal input x[K];
    signal output s;
    component n2b[K];
    var acc = 0;
    for (var i = 0; i < K; i++) {
        n2b[i] = Num2Bits(250);
        n2b[i].in <== x[i];
        acc += n2b[i].out[0];
    }
    s <== acc;
}
component main = Bits(@K@);
"""


def make_circuit(tmp: Path, family: str, log_n: int) -> tuple[Path, Path]:
    d = tmp / f"{family}{log_n}"
    d.mkdir(exist_ok=True)
    if family == "chain":
        n = (1 << log_n) - 3
        src = (ROOT / "examples" / "circom" / "chain.circom.in").read_text().replace("@N@", str(n))
        inputs = '{"x": "5"}'
    else:
        k = max(1, ((1 << log_n) - 8) // 251)
        src = BITS_SRC.replace("@K@", str(k))
        rnd = random.Random(log_n)
        inputs = json.dumps({"x": [str(rnd.randrange(1 << 249)) for _ in range(k)]})
    (d / "c.circom").write_text(src)
    (d / "in.json").write_text(inputs)
    run(NODE_BIN / "circom2", d / "c.circom", "--r1cs", "--wasm", "-o", d, "-l", ROOT / "node_modules")
    run(NODE_BIN / "snarkjs", "wtns", "calculate", d / "c_js" / "c.wasm", d / "in.json", d / "w.wtns")
    return d / "c.r1cs", d / "w.wtns"


def bench_prove(tmp: Path, families: dict[str, list[int]], repeats: int) -> list[dict]:
    from zkml.engines.cpu.prover import prove
    from zkml.formats.r1cs import read_r1cs
    from zkml.formats.wtns import read_wtns
    from zkml.formats.zkey import read_zkey, write_zkey
    from zkml.groth16.setup import DevTau, setup_from_secrets

    rows = []
    for family, logs in families.items():
        for log_n in logs:
            r1cs_path, wtns_path = make_circuit(tmp, family, log_n)
            r1cs = read_r1cs(r1cs_path)
            zkey = r1cs_path.with_suffix(".zkey")
            write_zkey(zkey, setup_from_secrets(r1cs, DevTau.random()))

            def ours_from_files():
                prove(read_zkey(zkey), read_wtns(wtns_path))

            pk, w = read_zkey(zkey), read_wtns(wtns_path)
            ours = best(lambda: prove(pk, w), repeats)
            ours_files = best(ours_from_files, 1)
            theirs = peer("prove", zkey, wtns_path, min(repeats, 2))
            t0 = time.perf_counter()
            run(ROOT / ".venv" / "bin" / "zkml", "groth16", "prove", zkey, wtns_path,
                tmp / "p.json", tmp / "pub.json")
            cli_ours = time.perf_counter() - t0
            t0 = time.perf_counter()
            run(NODE_BIN / "snarkjs", "groth16", "prove", zkey, wtns_path, tmp / "sp.json", tmp / "spub.json")
            cli_theirs = time.perf_counter() - t0
            # both proofs must verify with snarkjs: a fast wrong prover is no result
            run(ROOT / ".venv" / "bin" / "zkml", "groth16", "export-vk", zkey, tmp / "vk.json")
            for proof, pub in (("p.json", "pub.json"), ("sp.json", "spub.json")):
                out = run(NODE_BIN / "snarkjs", "groth16", "verify", tmp / "vk.json", tmp / pub, tmp / proof)
                assert "OK" in out.stdout, out.stdout
            zero_one = float(np.mean(((w[:, 0] <= 1) & ~w[:, 1:].any(axis=1))))
            rows.append(dict(op=f"prove ({family})", log_n=log_n, constraints=r1cs.n_constraints,
                             zkml_s=ours, zkml_files_s=ours_files, peer_s=theirs,
                             zkml_cli_s=cli_ours, peer_cli_s=cli_theirs, zero_one=zero_one))
            print(f"prove {family} 2^{log_n}: zkml {ours:.3f} s (from files {ours_files:.3f}, CLI {cli_ours:.2f}), "
                  f"snarkjs {theirs:.3f} s (CLI {cli_theirs:.2f})", flush=True)
    return rows


def write_tables(rows: list[dict], meta: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "groth16.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    lines = [
        "# Groth16 on the CPU: zkml against snarkjs / ffjavascript",
        "",
        f"Measured {meta['date']} on {meta['machine']} ({meta['cores']} cores), "
        f"node {meta['node']}, snarkjs {meta['snarkjs']}. Written by `make bench` "
        "(bench/bench_groth16.py); every figure is the best of several runs after a warm-up, "
        "peer and zkml in the same run on the same inputs. Speed-up = peer time / zkml time.",
        "",
        "## Multi-scalar multiplication and NTT (random scalars, in-process)",
        "",
        "| operation | size | zkml (s) | ffjavascript (s) | speed-up |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        if r["op"].startswith("prove"):
            continue
        lines.append(f"| {r['op']} | 2^{r['log_n']} | {r['zkml_s']:.4f} | {r['peer_s']:.4f} | {r['peer_s'] / r['zkml_s']:.1f}x |")
    lines += [
        "",
        "## Whole Groth16 prove (same .zkey and .wtns)",
        "",
        "`chain`: y = x^(2^N)-style squaring chain, every witness value a full-size field element "
        "(worst case). `bits`: circomlib Num2Bits range checks, a 0/1 witness like an ML "
        "circuit's. In-process: prove from loaded key and witness (snarkjs: `groth16.prove` "
        "in node, reading its files). CLI: the whole command, start-up, file reading and "
        "(zkml) the self-check of the proof included.",
        "",
        "| circuit | constraints | 0/1 share of witness | zkml (s) | snarkjs (s) | speed-up | zkml CLI (s) | snarkjs CLI (s) | CLI speed-up |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if not r["op"].startswith("prove"):
            continue
        lines.append(
            f"| {r['op'][7:-1]} 2^{r['log_n']} | {r['constraints']} | {r['zero_one']:.0%} | {r['zkml_s']:.3f} | "
            f"{r['peer_s']:.3f} | {r['peer_s'] / r['zkml_s']:.1f}x | {r['zkml_cli_s']:.2f} | "
            f"{r['peer_cli_s']:.2f} | {r['peer_cli_s'] / r['zkml_cli_s']:.1f}x |")
    (RESULTS / "groth16.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS / 'groth16.md'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes only (a smoke run)")
    args = ap.parse_args()
    if args.quick:
        msm_logs, ntt_logs, prove_logs, repeats = [10, 12], [10, 12], {"chain": [10], "bits": [10]}, 2
    else:
        msm_logs, ntt_logs, repeats = [12, 14, 16, 18], [12, 14, 16, 18, 20], 3
        prove_logs = {"chain": [10, 12, 14, 16, 18], "bits": [12, 16]}
    meta = dict(date=time.strftime("%Y-%m-%d"), machine=platform.processor() or platform.machine(),
                cores=os.cpu_count(),
                node=run("node", "--version").stdout.strip(),
                snarkjs=json.loads((ROOT / "node_modules" / "snarkjs" / "package.json").read_text())["version"])
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        rows = bench_msm(tmp, msm_logs, repeats) + bench_ntt(tmp, ntt_logs, repeats)
        rows += bench_prove(tmp, prove_logs, repeats)
    write_tables(rows, meta)


if __name__ == "__main__":
    main()
