"""Groth16 verification: the CPU engine's pairing against py_ecc, in the same run. In-process
times (median of repeated calls, warm numba cache) and a fresh process's cost split into imports,
numba's one-time start (its first compiled call of any function), loading the cached pairing
kernels, and the verification itself. Writes bench/results/verify-engine.md.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FRESH = r"""
import json, time
t0 = time.perf_counter()
import numba  # noqa
t1 = time.perf_counter()
from pathlib import Path
from zkml.formats.snarkjs_json import read_proof, read_public, read_vk
from zkml.groth16 import fast_verify
from zkml.engines.cpu import field as F
from zkml.engines.cpu import pairing as P
fx = Path(%r)
vk, pub, proof = read_vk(fx / "verification_key.json"), read_public(fx / "public.json"), read_proof(fx / "proof.json")
t2 = time.perf_counter()
F.fq_add(F.FQ_ONE, F.FQ_ONE)  # numba's target start-up, paid once by any first compiled call
t3 = time.perf_counter()
pvk = fast_verify.prepare_vk(vk)
t4 = time.perf_counter()
ok = fast_verify.verify(pvk, pub, proof)
t5 = time.perf_counter()
ok2 = fast_verify.verify(pvk, pub, proof)
t6 = time.perf_counter()
print(json.dumps(dict(numba=t1 - t0, zkml=t2 - t1, numba_start=t3 - t2, prepare_first=t4 - t3,
                      verify_first=t5 - t4, verify_second=t6 - t5, total=t6 - t0, ok=ok and ok2)))
"""


def median_time(fn, n: int) -> float:
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main() -> None:
    from zkml.formats.snarkjs_json import read_proof, read_public, read_vk
    from zkml.groth16 import batch_verify, fast_verify, verifier

    fx = ROOT / "tests" / "fixtures"
    vk, pub, proof = read_vk(fx / "verification_key.json"), read_public(fx / "public.json"), read_proof(fx / "proof.json")
    pvk = fast_verify.prepare_vk(vk)
    assert fast_verify.verify(pvk, pub, proof) and fast_verify.verify_batch(pvk, [(pub, proof)] * 2) == (True, [])
    eng_prepared = median_time(lambda: fast_verify.verify(pvk, pub, proof), 20)
    eng_plain = median_time(lambda: fast_verify.verify(vk, pub, proof), 20)
    prep = median_time(lambda: fast_verify.prepare_vk(vk), 20)
    ref = median_time(lambda: verifier.verify(vk, pub, proof), 5)
    items = [(pub, proof)] * 16
    eng_batch = median_time(lambda: fast_verify.verify_batch_equation(pvk, items), 5)
    ref_batch = median_time(lambda: batch_verify.verify_batch_equation(vk, items), 1)
    subprocess.run([sys.executable, "-c", FRESH % str(fx)], check=True, capture_output=True, cwd=ROOT)  # warm
    runs = [json.loads(subprocess.run([sys.executable, "-c", FRESH % str(fx)], check=True, capture_output=True,
                                      text=True, cwd=ROOT).stdout) for _ in range(5)]
    fresh = {k: statistics.median(r[k] for r in runs) for k in runs[0] if k != "ok"}
    assert all(r["ok"] for r in runs)
    ms = lambda s: f"{s * 1e3:.1f}"  # noqa: E731
    lines = [
        "# Groth16 verification: CPU engine pairing against py_ecc (same run)", "",
        "Fixture: tests/fixtures (snarkjs multiplier, one public input). In-process: median of 20 calls",
        "(py_ecc: 5), warm numba cache.", "",
        "| in process | time (ms) | vs py_ecc |", "|---|---|---|",
        f"| py_ecc `verifier.verify` | {ms(ref)} | 1x |",
        f"| engine `fast_verify.verify`, prepared key | {ms(eng_prepared)} | {ref / eng_prepared:.0f}x |",
        f"| engine `fast_verify.verify`, plain key (prepares it) | {ms(eng_plain)} | {ref / eng_plain:.0f}x |",
        f"| engine `prepare_vk` alone (3 G2 subgroup tests) | {ms(prep)} | |",
        f"| py_ecc batch equation, 16 proofs | {ms(ref_batch)} | 1x |",
        f"| engine batch equation, 16 proofs | {ms(eng_batch)} | {ref_batch / eng_batch:.0f}x |", "",
        "| fresh process (median of 5), warm cache | time (ms) |", "|---|---|",
        f"| import numba | {ms(fresh['numba'])} |",
        f"| import zkml formats, fast_verify, engine field/curve/tower/pairing; read the 3 JSON files | {ms(fresh['zkml'])} |",
        f"| numba start-up (first compiled call of anything) | {ms(fresh['numba_start'])} |",
        f"| first `prepare_vk` (loads the subgroup kernel from the cache) | {ms(fresh['prepare_first'])} |",
        f"| first `verify` (loads the linear-combination and pairing kernels) | {ms(fresh['verify_first'])} |",
        f"| second `verify` | {ms(fresh['verify_second'])} |",
        f"| total in the child, from its first import | {ms(fresh['total'])} |",
    ]
    out = ROOT / "bench" / "results" / "verify-engine.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
