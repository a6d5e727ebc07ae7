"""Whole commands, as a user times them: wall time and peak memory of compile, setup, prove and
verify for zkml and ezkl (Halo2/KZG, each step its own process through bench/peers/ezkl_step.py)
on the example models and DeepProve's CIFAR CNN and 4.2M-parameter MLP shapes (bench/shapes.py),
and `zkml groth16 prove`/`verify` against `snarkjs groth16 prove`/`verify` on the same circom
circuits, keys and witnesses, all in the same run. Writes bench/results/cli.md.

    python bench/bench_cli.py [--runs N] [--logs 12,16,18] [--models a,b] [--no-ezkl]

Every process runs under a wall-time limit and a peak-RSS cap, watched from outside and killed
when crossed; the table then says "did not finish in T s" or "exceeded M GB" instead of a figure.
BENCH_LIMIT_S (600), BENCH_EZKL_MEM_GB (8) and BENCH_ZKML_MEM_GB (8) set them.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_groth16 import make_circuit  # noqa: E402  (the same circom circuits as the Groth16 tables)

ZKML = ROOT / ".venv" / "bin" / "zkml"
SNARKJS = ROOT / "node_modules" / ".bin" / "snarkjs"
EZKL_STEP = ROOT / "bench" / "peers" / "ezkl_step.py"
RESULTS = ROOT / "bench" / "results"
# name: (calibration split, proving input and its index); the shapes have no test split
EXAMPLES = {"breast_cancer": ("breast_cancer_calibration.npz", "breast_cancer_test.npz"),
            "digits_mlp": ("digits_calibration.npz", "digits_test.npz"),
            "digits_cnn": ("digits_cnn_calibration.npz", "digits_cnn_test.npz")}
SHAPES = ("cifar_cnn", "mlp_4m")
LIMIT_S = float(os.environ.get("BENCH_LIMIT_S", 600))
EZKL_MEM_GB = float(os.environ.get("BENCH_EZKL_MEM_GB", 8))
ZKML_MEM_GB = float(os.environ.get("BENCH_ZKML_MEM_GB", 8))
LONG_S = 30.0  # a first run longer than this is the figure: no repeats


@dataclasses.dataclass
class Run:
    wall: float = 0.0
    mb: float = 0.0
    note: str = ""  # why there is no figure; empty when the command succeeded
    n: int = 1

    @property
    def ok(self) -> bool:
        return not self.note

    def cell(self) -> str:
        return f"{self.wall:.2f} s, {self.mb:.0f} MB" if self.ok else self.note


# The command runs under this small launcher, which reports its pid, then its wall time and peak RSS:
# a child forked straight from this (large) process would inherit its RSS as the floor of ru_maxrss.
LAUNCH = """import os, sys, time
fd, argv = int(sys.argv[1]), sys.argv[2:]
t0 = time.perf_counter(); pid = os.fork()
if pid == 0:
    os.close(fd)
    os.execvp(argv[0], argv)
os.write(fd, b"%d\\n" % pid)
_, st, ru = os.wait4(pid, 0)
os.write(fd, b"%r %d\\n" % (time.perf_counter() - t0, ru.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(st))
"""


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def timed(argv, cwd: Path, mem_gb: float = ZKML_MEM_GB, limit_s: float = LIMIT_S) -> Run:
    """One whole process: wall seconds and peak RSS (wait4), killed past limit_s or mem_gb."""
    r, w = os.pipe()
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen([sys.executable, "-S", "-c", LAUNCH, str(w), *map(str, argv)], cwd=cwd,
                             stdout=subprocess.DEVNULL, stderr=err, start_new_session=True, pass_fds=(w,))
        os.close(w)
        report = os.fdopen(r)
        first = report.readline()
        child = int(first) if first.strip() else p.pid
        done, why = threading.Event(), []

        def watch() -> None:
            while not done.wait(0.1):
                if time.perf_counter() - t0 > limit_s:
                    why.append(f"did not finish in {limit_s:.0f} s")
                elif _rss_mb(child) > mem_gb * 1024:
                    why.append(f"exceeded {mem_gb:g} GB")
                else:
                    continue
                os.killpg(p.pid, signal.SIGKILL)
                return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        last_line = report.readline()
        code = p.wait()
        done.set()
        watcher.join()
        report.close()
        wall = time.perf_counter() - t0
        mb = 0.0
        if last_line.strip():
            wall_s, kb = last_line.split()
            wall, mb = float(wall_s), int(kb) / 1024
        if why:
            return Run(wall, mb, why[0])
        if code != 0:
            err.seek(0)
            lines = [ln for ln in err.read().decode(errors="replace").splitlines() if ln.strip()]
            last = (lines[-1] if lines else "no message").replace("|", "/")[:160]
            print(f"  {' '.join(map(str, argv))} failed: {last}", file=sys.stderr, flush=True)
            return Run(wall, mb, f"failed (exit {code}): {last}")
        return Run(wall, mb)


def measured(argv, cwd: Path, runs: int, **caps) -> Run:
    """Median wall (max RSS) of `runs` runs after a warm-up; a slow or failing first run is the answer."""
    first = timed(argv, cwd, **caps)
    if not first.ok or first.wall > LONG_S:
        return first
    rs = [timed(argv, cwd, **caps) for _ in range(runs)]
    bad = [r for r in rs if not r.ok]
    if bad:
        return bad[0]
    return Run(statistics.median(r.wall for r in rs), max(r.mb for r in rs), n=runs)


def skipped(after: str) -> Run:
    return Run(note=f"not run ({after} failed)")


def zkml_side(d: Path, name: str, model: Path, cal: Path, inp: Path, index: int, runs: int) -> dict[str, Run]:
    import numpy as np

    bundle, proof, x_json = d / f"{name}.bundle", d / f"{name}.proof.json", d / f"{name}.json"
    x_json.write_text(json.dumps(np.load(inp)["x"][index].tolist()))
    out = {"compile": timed([ZKML, "compile", model, "-c", cal, "-o", bundle], d)}
    out["setup"] = timed([ZKML, "setup", bundle], d) if out["compile"].ok else skipped("compile")
    out["prove"] = (measured([ZKML, "prove", bundle, "-i", x_json, "-o", proof], d, runs)
                    if out["setup"].ok else skipped("setup"))
    out["verify"] = (measured([ZKML, "verify", proof, "--bundle", bundle], d, runs)
                     if out["prove"].ok else skipped("prove"))
    return out


def ezkl_side(d: Path, name: str, model: Path, cal: Path, inp: Path, index: int, runs: int) -> dict[str, Run]:
    w = d / f"ezkl-{name}"
    py = sys.executable
    prep = timed([py, EZKL_STEP, "prepare", w, model, cal, inp, index], d)
    if not prep.ok:
        return {k: Run(note=f"prepare {prep.note}") for k in ("compile", "srs", "setup", "prove", "verify")}
    caps = dict(mem_gb=EZKL_MEM_GB)
    out, prev = {}, ""
    for step in ("compile", "srs", "setup", "prove", "verify"):
        if prev:
            out[step] = skipped(prev)
            continue
        argv = [py, EZKL_STEP, step, w]
        out[step] = measured(argv, d, runs, **caps) if step in ("prove", "verify") else timed(argv, d, **caps)
        if not out[step].ok:
            prev = step
    return out


def ratio(theirs: Run, ours: Run) -> str:
    if theirs.ok and ours.ok:
        return f"{theirs.wall / ours.wall:.1f}x"
    if ours.ok and theirs.note.startswith(("did not finish", "exceeded")):
        return f"> {theirs.wall / ours.wall:.0f}x (ezkl stopped)"
    return "—"


def bench_models(d: Path, names: list[str], runs: int, with_ezkl: bool) -> tuple[list[str], dict]:
    import shapes

    shape_files = shapes.write(d / "shapes", [n for n in names if n in SHAPES])
    rows, ratios = [], {}
    for name in names:
        if name in EXAMPLES:
            cal, test = EXAMPLES[name]
            model, cal, inp = ROOT / "models" / f"{name}.onnx", ROOT / "models" / cal, ROOT / "models" / test
        else:
            model, cal = shape_files[name]
            inp = cal
        print(f"{name}: zkml", file=sys.stderr, flush=True)
        z = zkml_side(d, name, model, cal, inp, 0, runs)
        if with_ezkl:
            print(f"{name}: ezkl", file=sys.stderr, flush=True)
            e = ezkl_side(d, name, model, cal, inp, 0, runs)
        else:
            e = {k: Run(note="not run (--no-ezkl, or ezkl not installed: `pip install -e '.[halo2]'`)")
                 for k in ("compile", "srs", "setup", "prove", "verify")}
        rows += [f"| {name} | zkml | {z['compile'].cell()} | (in setup) | {z['setup'].cell()} | "
                 f"{z['prove'].cell()} | {z['verify'].cell()} |",
                 f"| {name} | ezkl | {e['compile'].cell()} | {e['srs'].cell()} | {e['setup'].cell()} | "
                 f"{e['prove'].cell()} | {e['verify'].cell()} |",
                 f"| {name} | ezkl ÷ zkml | {ratio(e['compile'], z['compile'])} | | {ratio(e['setup'], z['setup'])} | "
                 f"**{ratio(e['prove'], z['prove'])}** | {ratio(e['verify'], z['verify'])} |"]
        ratios[name] = ratio(e["prove"], z["prove"]) + ("" if e["prove"].ok else f" (ezkl prove: {e['prove'].note})")
        print("\n".join(rows[-3:]), file=sys.stderr, flush=True)
    return rows, ratios


def bench_groth16(d: Path, logs: list[int], runs: int) -> list[str]:
    rows = []
    for log_n in logs:
        print(f"groth16 2^{log_n}", file=sys.stderr, flush=True)
        r1cs, wtns = make_circuit(d, "chain", log_n)
        zkey, vk = r1cs.with_suffix(".zkey"), r1cs.parent / "vk.json"
        cwd = r1cs.parent
        prep = timed([ZKML, "groth16", "setup", r1cs, zkey, "--dev"], cwd)
        if prep.ok:
            prep = timed([ZKML, "groth16", "export-vk", zkey, vk], cwd)
        if not prep.ok:
            rows.append(f"| 2^{log_n} | setup {prep.note} | | | | | |")
            continue
        ours = measured([ZKML, "groth16", "prove", zkey, wtns, "p.json", "pub.json"], cwd, runs)
        theirs = measured([SNARKJS, "groth16", "prove", zkey, wtns, "sp.json", "spub.json"], cwd, runs)
        ours_v = measured([ZKML, "groth16", "verify", vk, "pub.json", "p.json"], cwd, runs) if ours.ok else ours
        theirs_v = (measured([SNARKJS, "groth16", "verify", vk, "spub.json", "sp.json"], cwd, runs)
                    if theirs.ok else theirs)
        # each verifier accepts the other's proof: a fast wrong prover is no result
        if ours.ok and theirs.ok:
            for cross in (timed([ZKML, "groth16", "verify", vk, "spub.json", "sp.json"], cwd),
                          timed([SNARKJS, "groth16", "verify", vk, "pub.json", "p.json"], cwd)):
                if not cross.ok:
                    raise RuntimeError(f"2^{log_n}: a verifier rejected the other prover's proof: {cross.note}")
        sp = f"{theirs.wall / ours.wall:.1f}x" if ours.ok and theirs.ok else "—"
        sv = f"{theirs_v.wall / ours_v.wall:.1f}x" if ours_v.ok and theirs_v.ok else "—"
        vcell = lambda r: f"{r.wall:.2f} s" if r.ok else r.note  # noqa: E731
        rows.append(f"| 2^{log_n} | {ours.cell()} | {theirs.cell()} | {sp} | {vcell(ours_v)} | {vcell(theirs_v)} | {sv} |")
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--logs", default="12,16,18", help="log2 constraint counts of the Groth16 rows ('' for none)")
    ap.add_argument("--models", default=",".join([*EXAMPLES, *SHAPES]))
    ap.add_argument("--no-ezkl", action="store_true")
    ap.add_argument("--out", default="cli.md", help="file name under bench/results/ (a partial run: another name)")
    args = ap.parse_args()
    logs = [int(v) for v in args.logs.split(",") if v]
    names = [n for n in args.models.split(",") if n]
    unknown = [n for n in names if n not in EXAMPLES and n not in SHAPES]
    if unknown:
        sys.exit(f"bench_cli.py: unknown model {unknown[0]!r}; choose from {', '.join([*EXAMPLES, *SHAPES])}")
    try:
        ezkl_version = importlib.metadata.version("ezkl")
    except importlib.metadata.PackageNotFoundError:
        ezkl_version = None
    with_ezkl = ezkl_version is not None and not args.no_ezkl
    with tempfile.TemporaryDirectory(prefix="zkml-cli-bench-") as tmp:
        d = Path(tmp)
        model_rows, ratios = bench_models(d, names, args.runs, with_ezkl)
        g16_rows = bench_groth16(d, logs, args.runs)
    goal = [f"{n}: {ratios[n]}" for n in ("digits_cnn", "cifar_cnn") if n in ratios]
    text = "\n".join([
        "# Whole commands",
        "",
        f"Written by `bench/bench_cli.py` ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, {platform.machine()}, "
        f"ezkl {ezkl_version or 'not installed'}): each figure is a whole process (start-up, imports, file reading, "
        "the prover's self-check) timed from outside, with its peak RSS; prove and verify are the median of "
        f"{args.runs} runs after a warm-up unless the first run took over {LONG_S:.0f} s (then that run), compile, "
        "SRS and setup one run. Kernel caches warm. The machine is shared: figures move by tens of percent "
        "between runs.",
        "",
        "## Models: zkml (Groth16) and ezkl (Halo2, KZG) on the same ONNX files and inputs",
        "",
        "zkml: `zkml compile MODEL -c CALIBRATION`, `zkml setup` (a development setup: it draws its own secrets), "
        "`zkml prove` (witness and proof), `zkml verify`. ezkl: one process per step through its Python bindings "
        "(`bench/peers/ezkl_step.py`; the wheel ships no CLI): compile = gen_settings + calibrate_settings "
        "(\"resources\") + compile_circuit on one calibration sample; SRS = gen_srs at the settings' logrows "
        "(generated locally; a user downloads it once, so it is shown apart and not in the ratio); setup; "
        "prove = gen_witness + prove; verify. The proving input is the first test sample (the first calibration "
        "sample for the two shapes, whose weights are random). "
        f"Caps: {LIMIT_S:.0f} s per command, {EZKL_MEM_GB:g} GB peak RSS for ezkl, {ZKML_MEM_GB:g} GB for zkml; "
        "a step past a cap is killed and named.",
        "",
        "| model | tool | compile | SRS | setup | prove | verify |",
        "|---|---|---|---|---|---|---|",
        *model_rows,
        "",
        f"Whole-command prove, ezkl ÷ zkml (goal: at least 20x): {'; '.join(goal) or 'not measured in this run'}.",
        "",
        "## Groth16 on circom circuits, against snarkjs in the same run",
        "",
        "Same .zkey (made by `zkml groth16 setup --dev`) and .wtns for both; each verifier also accepts the "
        "other's proof.",
        "",
        "| constraints | zkml groth16 prove | snarkjs groth16 prove | speed-up | zkml groth16 verify | "
        "snarkjs groth16 verify | speed-up |",
        "|---|---|---|---|---|---|---|",
        *g16_rows,
        "",
    ])
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / args.out).write_text(text)
    print(f"wrote {RESULTS / args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
