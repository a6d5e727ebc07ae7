"""`make gpu-check`: compile every GPU kernel for Hopper (sm_90) without a GPU, and estimate
what they would do on an H100 from their SASS. Writes bench/results/gpu-model.md.

PTX comes from numba-cuda with the NVVM wheel (numba asks the driver for the device's compute
capability even when compile_ptx is given cc=(9, 0), so this script alone answers (9, 0) in its
place); cubin and SASS come from ptxas and nvdisasm of the nvidia-cuda-nvcc/-nvdisasm wheels,
whose PTX ISA matches NVVM's. A compile error anywhere fails the check (exit 1).

Everything here is an estimate from instruction counts, not a measurement.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.pop("NUMBA_ENABLE_CUDASIM", None)  # compile for the device, not the simulator

import numba.cuda.dispatcher as _dispatcher  # noqa: E402
from numba import cuda, types  # noqa: E402


class _Hopper:
    compute_capability = (9, 0)


_dispatcher.get_current_device = lambda: _Hopper()  # build check only: never on the run-time path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results" / "gpu-model.md"
CC = (9, 0)

# H100 SXM5 (assumptions of the model, stated in the report)
SMS, CLOCK_HZ, HBM_BYTES_S = 132, 1.98e9, 3.35e12
INT_LANES = 64  # IMAD lanes per SM per clock (FMA pipe); the ALU pipe has another 64
ISSUE_LANES = 128  # 4 schedulers x 1 warp instruction x 32 lanes


def tool(name: str) -> str:
    import nvidia

    for base in nvidia.__path__:
        for p in Path(base).glob(f"*/bin/{name}"):
            return str(p)
    sys.exit(f"gpu-check: {name} not found; `make install` installs nvidia-cuda-nvcc and nvidia-cuda-nvdisasm")


def sass_of(ptx: str) -> str:
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "k.ptx").write_text(ptx)
        subprocess.run([tool("ptxas"), f"-arch=sm_{CC[0]}{CC[1]}", "-O3", "-o", f"{d}/k.cubin", f"{d}/k.ptx"],
                       check=True, capture_output=True, text=True)
        return subprocess.run([tool("nvdisasm"), "-c", f"{d}/k.cubin"], check=True, capture_output=True, text=True).stdout


_OP = re.compile(r"/\*[0-9a-f]{4,}\*/\s+(?:@!?U?P\w+\s+)?([A-Z][A-Z0-9_.]*)")


def opcodes(sass: str) -> Counter:
    return Counter(m.group(1) for m in _OP.finditer(sass))


def groups(ops: Counter) -> dict:
    g = Counter()
    for op, n in ops.items():
        base = op.split(".")[0]
        g["IMAD" if base == "IMAD" else "IADD3" if base == "IADD3" else
          "memory" if base in ("LDG", "STG", "LDL", "STL", "LDS", "STS", "LDC", "ULDC") else
          "control" if base in ("BRA", "EXIT", "BSSY", "BSYNC", "CALL", "RET", "NOP", "BAR") else "other"] += n
    g["total"] = sum(ops.values())
    return dict(g)


# --- the kernels and their signatures --------------------------------------------------------

def kernels() -> dict:
    from zkml.engines.gpu import msm, ntt, prover

    u2, u3, u4 = types.uint32[:, ::1], types.uint32[:, :, ::1], types.uint32[:, :, :, ::1]
    i2, i64, a64 = types.int32[:, ::1], types.int64, types.int64[::1]
    k = {
        "digits": (msm.digits_kernel, (u2, i64, i64, i2)),
        "count": (msm.count_kernel, (i2, i2)),
        "scan": (msm.scan_kernel, (i2, i2, i2)),
        "scatter": (msm.scatter_kernel, (i2, i2, i2)),
        "bit_reverse": (ntt.bit_reverse_kernel, (u2, u2, i64)),
        "butterfly": (ntt.butterfly_kernel, (u2, u2, i64)),
        "powers": (ntt.powers_kernel, (u2, u2)),
        "mul": (ntt.mul_kernel, (u2, u2, u2)),
        "scale": (ntt.scale_kernel, (u2, u2)),
        "mul_sub_from_mont": (ntt.mul_sub_from_mont_kernel, (u2, u2, u2, u2)),
        "to_mont": (ntt.to_mont_kernel, (u2, u2)),
        "eval_rows": (prover.eval_rows_kernel, (a64, a64, u2, u2, u2)),
    }
    for g, u in (("g1", u3), ("g2", u4)):
        k[f"{g}_bucket"] = (getattr(msm, f"{g}_bucket_kernel"), (u, i2, i2, u))
        k[f"{g}_reduce"] = (getattr(msm, f"{g}_reduce_kernel"), (u, i64, i64, u))
        k[f"{g}_window"] = (getattr(msm, f"{g}_window_kernel"), (u, i64, u))
    return k


# micro kernels: one operation per thread, and a baseline with the same loads and stores
_MICRO = '''
from numba import cuda
from zkml.engines.gpu.field import fq_load, fq_store, fq_mul, fq_add, fr_load, fr_store, fr_mul, fr_add, fr_sub
from zkml.engines.gpu.curve import g1_add_affine, g1_add, g1_dbl
from zkml.engines.gpu.msm import g1_load, g1_store


@cuda.jit
def copy2(a, b, out):
    i = cuda.grid(1)
    x = fq_load(a, i)
    y = fq_load(b, i)
    fq_store(out, i, (x[0] ^ y[0], x[1] ^ y[1], x[2] ^ y[2], x[3] ^ y[3], x[4] ^ y[4], x[5] ^ y[5], x[6] ^ y[6], x[7] ^ y[7]))


@cuda.jit
def fq_mul1(a, b, out):
    i = cuda.grid(1)
    fq_store(out, i, fq_mul(fq_load(a, i), fq_load(b, i)))


@cuda.jit
def fq_add1(a, b, out):
    i = cuda.grid(1)
    fq_store(out, i, fq_add(fq_load(a, i), fq_load(b, i)))


@cuda.jit
def g1_madd1(p, q, out):
    i = cuda.grid(1)
    P = g1_load(p, i)
    Q = g1_load(q, i)
    g1_store(out, i, g1_add_affine(P, Q[0], Q[1]))


@cuda.jit
def g1_copy1(p, q, out):
    i = cuda.grid(1)
    P = g1_load(p, i)
    Q = g1_load(q, i)
    g1_store(out, i, (P[0], Q[1], P[2]))
'''


def micro() -> dict:
    ns: dict = {}
    with tempfile.NamedTemporaryFile("w", suffix="_gpu_micro.py", delete=False) as f:
        f.write(_MICRO)
    exec(compile(_MICRO, f.name, "exec"), ns)
    u2, u3 = types.uint32[:, ::1], types.uint32[:, :, ::1]
    return {name: (ns[name], (u2, u2, u2) if not name.startswith("g1") else (u3, u3, u3))
            for name in ("copy2", "fq_mul1", "fq_add1", "g1_madd1", "g1_copy1")}


def compile_all(table: dict) -> dict:
    out = {}
    for name, (k, sig) in table.items():
        t0 = time.perf_counter()
        try:
            ptx, _ = cuda.compile_ptx(k.py_func, sig, cc=CC)
            sass = sass_of(ptx)
        except Exception as e:  # any compile error fails the check, naming the kernel
            print(f"gpu-check: kernel {name} does not compile for sm_{CC[0]}{CC[1]}: {str(e).splitlines()[0][:300]}", file=sys.stderr)
            sys.exit(1)
        ops = opcodes(sass)
        out[name] = {"ops": ops, "groups": groups(ops), "ptx_lines": ptx.count("\n"), "seconds": time.perf_counter() - t0,
                     "local": sum(n for op, n in ops.items() if op.startswith(("LDL", "STL")))}
        print(f"  {name:20} {out[name]['groups']['total']:6} SASS instructions ({out[name]['seconds']:.1f} s)", flush=True)
    return out


def sm_cycles(g: dict) -> float:
    """SM clock cycles per thread-operation when every SM is full: IMAD on the FMA pipe, the rest
    of the integer work on the ALU pipe (64 lanes each), issue at 128 lanes per clock."""
    imad = g.get("IMAD", 0)
    alu = g["total"] - imad - g.get("control", 0)
    return max(imad / INT_LANES, alu / INT_LANES, g["total"] / ISSUE_LANES)


def host_combine_seconds(c: int) -> float:
    """Time of the CPU engine's Horner chain over the window sums (measured on this machine)."""
    import numpy as np

    from zkml.crypto.bn254 import Q, ints_to_limbs, to_mont
    from zkml.engines.cpu.msm import g1_combine_windows

    gen = ints_to_limbs([to_mont(1, Q), to_mont(2, Q), to_mont(1, Q)])  # the generator, Z = 1
    jac = np.ascontiguousarray(np.broadcast_to(gen, (255 // c + 1, 3, 4)))
    g1_combine_windows(jac, c)  # compile
    t0 = time.perf_counter()
    for _ in range(20):
        g1_combine_windows(jac, c)
    return (time.perf_counter() - t0) / 20


def main() -> None:
    print(f"gpu-check: compiling every kernel for sm_{CC[0]}{CC[1]} (PTX by NVVM, SASS by ptxas/nvdisasm)")
    built = compile_all(kernels())
    print("gpu-check: micro kernels for the instruction model")
    m = compile_all(micro())

    def diff(a, b):
        ga, gb = m[a]["groups"], m[b]["groups"]
        return {k: ga.get(k, 0) - gb.get(k, 0) for k in set(ga) | set(gb)}

    mul, add = diff("fq_mul1", "copy2"), diff("fq_add1", "copy2")
    madd_static = diff("g1_madd1", "g1_copy1")
    # the mixed addition's main path: 7M + 4S + 11 additions/subtractions (madd-2007-bl, our
    # doublings of intermediates counted as additions); the static count also holds the
    # doubling and identity branches, so it is an upper bound
    madd_path = {k: 11 * mul.get(k, 0) + 11 * add.get(k, 0) for k in set(mul) | set(add)}
    butterfly = {k: mul.get(k, 0) + 2 * add.get(k, 0) for k in set(mul) | set(add)}

    per_s = SMS * CLOCK_HZ
    n = 1 << 20
    c = 16
    windows = 255 // c + 1
    madds = windows * n
    adds = windows * 2 * (1 << (c - 1))  # running sums over the buckets
    t_bucket = madds * sm_cycles(madd_path) / per_s
    t_reduce = adds * sm_cycles(madd_static) / per_s  # a full addition costs about a mixed one's static count
    t_points = madds * 64 / HBM_BYTES_S  # each mixed addition reads one 64-byte affine base
    t_sort = windows * n * 4 * 6 / HBM_BYTES_S  # digits, histogram, scan, scatter: ~6 passes of 4 bytes
    t_window = 8 * madd_static["total"] * 4 / CLOCK_HZ  # one thread per window adds its 8 segments, latency-bound
    t_combine = host_combine_seconds(c)  # the Horner chain over the window sums runs on the host
    t_msm = max(t_bucket, t_points) + t_reduce + t_sort + t_window + t_combine
    stages = 20
    t_ntt_compute = stages * (n // 2) * sm_cycles(butterfly) / per_s
    t_ntt_memory = stages * n * 32 * 2 / HBM_BYTES_S  # each stage reads and writes every element once
    t_ntt = max(t_ntt_compute, t_ntt_memory)

    local = {k: v["local"] for k, v in {**built, **m}.items() if v["local"]}
    lines = [
        "# GPU engine on Hopper: build check and instruction model (estimated, not measured)",
        "",
        f"Made by `make gpu-check` on a machine without a GPU: every kernel compiled by numba-cuda/NVVM to PTX and by "
        f"ptxas to sm_{CC[0]}{CC[1]} SASS, instructions counted from nvdisasm. **No figure on this page was measured on a GPU.**",
        "",
        "## Kernels (static SASS instruction counts)",
        "",
        "| kernel | total | IMAD | IADD3 | memory | control | other | local memory ops |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, v in {**built, **m}.items():
        g = v["groups"]
        lines.append(f"| {name} | {g['total']} | {g.get('IMAD', 0)} | {g.get('IADD3', 0)} | {g.get('memory', 0)} | "
                     f"{g.get('control', 0)} | {g.get('other', 0)} | {v['local']} |")
    lines += [
        "",
        "## Per operation (micro kernel minus a baseline with the same loads and stores)",
        "",
        "| operation | total | IMAD | IADD3 | other | SM cycles per thread-op |",
        "|---|---|---|---|---|---|",
    ]
    for name, g in (("Fq multiplication (CIOS, 8x32)", mul), ("Fq addition", add),
                    ("G1 mixed addition, main path (11 M/S + 11 add)", madd_path),
                    ("G1 mixed addition, static (all branches)", madd_static),
                    ("NTT butterfly (1 M + 2 add)", butterfly)):
        lines.append(f"| {name} | {g['total']} | {g.get('IMAD', 0)} | {g.get('IADD3', 0)} | "
                     f"{g['total'] - g.get('IMAD', 0) - g.get('IADD3', 0)} | {sm_cycles(g):.2f} |")
    lines += [
        "",
        "## Estimates for an H100 SXM5",
        "",
        f"Assumptions: {SMS} SMs at {CLOCK_HZ / 1e9:.2f} GHz; per SM per clock {INT_LANES} IMAD lanes (FMA pipe), "
        f"{INT_LANES} lanes for the other integer instructions (ALU pipe), {ISSUE_LANES} issued lanes; full occupancy "
        f"with latency hidden; HBM3 at {HBM_BYTES_S / 1e12:.2f} TB/s; cycles per thread-op = max(IMAD/64, ALU/64, total/128).",
        "",
        "| step | formula | estimate |",
        "|---|---|---|",
        f"| G1 MSM 2^20, buckets | {windows} windows (c = {c}) x 2^20 mixed additions x {sm_cycles(madd_path):.1f} cycles / ({SMS} x clock) | {t_bucket * 1e3:.2f} ms |",
        f"| G1 MSM 2^20, base reads | {windows} x 2^20 x 64 B / HBM | {t_points * 1e3:.2f} ms |",
        f"| G1 MSM 2^20, bucket reduction | {windows} x 2 x 2^{c - 1} additions x {sm_cycles(madd_static):.1f} cycles | {t_reduce * 1e3:.2f} ms |",
        f"| G1 MSM 2^20, digit sort | ~6 passes over {windows} x 2^20 x 4 B | {t_sort * 1e3:.2f} ms |",
        f"| G1 MSM 2^20, window sums | one thread per window, 8 dependent additions x ~4 cycles per instruction | {t_window * 1e3:.2f} ms |",
        f"| G1 MSM 2^20, combine on the host | {windows} window sums back, {windows * c} doublings by the CPU engine (measured here) | {t_combine * 1e3:.2f} ms |",
        f"| **G1 MSM 2^20** | max(buckets, base reads) + the rest | **{t_msm * 1e3:.2f} ms** (goal <= 5 ms) |",
        f"| NTT 2^20, compute | 20 stages x 2^19 butterflies x {sm_cycles(butterfly):.1f} cycles | {t_ntt_compute * 1e3:.2f} ms |",
        f"| NTT 2^20, memory | 20 stages x 2^20 x 32 B read + written | {t_ntt_memory * 1e3:.2f} ms |",
        f"| **NTT 2^20** | max(compute, memory) | **{t_ntt * 1e3:.2f} ms** (goal <= 0.3 ms) |",
        "",
        "Where the estimate misses and why:",
        f"- NTT: one kernel per radix-2 stage sends every element through device memory 20 times "
        f"({t_ntt_memory * 1e3:.2f} ms of traffic alone). Fusing 8-10 stages per kernel in shared memory (radix-2^8 blocks) "
        "cuts it to 2-3 passes, about 0.05 ms of traffic, leaving the multiplications as the bound.",
        "- MSM: the bucket reduction's running sums are sequential within a segment and the per-window sums are "
        "latency-bound; the Horner chain over the windows is left to the host, as sppark does. The bucket step assumes every bucket holds about the same "
        "number of points (true for random scalars, not for ML witnesses full of 0 and 1, which the digit sort skips or "
        "puts in one bucket).",
        "- 64-bit arithmetic: the kernels keep 32-bit limbs in 64-bit registers; NVVM lowers each limb product to "
        "IMAD.WIDE.U32, so the multiplication count is close to the 2 x 64 + 8 IMADs of 8x32 CIOS; the remaining cost is "
        "the carry handling (IADD3/SHF/LOP3), where PTX's add.cc/madc chains would save about a third.",
    ]
    if local:
        lines += ["", f"Kernels using local memory (register spills or run-time indexed arrays): {local}."]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    tmp = OUT.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(OUT)
    print(f"gpu-check: all {len(built)} kernels compile for sm_{CC[0]}{CC[1]}; "
          f"estimates: G1 MSM 2^20 {t_msm * 1e3:.2f} ms, NTT 2^20 {t_ntt * 1e3:.2f} ms; wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
