"""The hostile-input probe's cases (shared/reports/hostile-input-probe.md) as a regression table.

Every case of ``probe_cases.all_cases()`` runs one CLI command in its own folder and asserts:
the exit code of its class, no traceback, no signal, ONE line of output naming the file involved
(for rejections), and no file created or changed in the folder besides the declared outputs
(hidden temp files included). Cases run in-process through click's CliRunner; those that could
crash the interpreter (deeply nested JSON) and a few smoke cases of each command run as a real
process. The bulk (every tampered proof through the pairings) is marked slow; each kind keeps
at least one case in the default run.

``PROBE_REPORT=FILE`` appends one JSON line per case (id, owner, defect, problems, reproduction),
for grouping the failures by the fix they belong to."""

from __future__ import annotations

import builtins
import errno
import hashlib
import io
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))
import probe_cases as P  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
MODELS = ROOT / "models"
ZKML_EXE = ROOT / ".venv" / "bin" / "zkml"
DEV_TAU_WARNING = ("WARNING: development powers of tau generated on this machine; anyone who saw its memory "
                   "can forge proofs. Not for production: use a ceremony .ptau (--ptau).")
FLAG_WORDS = ("mismatch", "does not match", "corrupt", "changed", "differ", "modified", "not match")
PAGE = 4096


# --- the session's base files ----------------------------------------------------------------


def _invoke(*args):
    from zkml.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


def _ok(*args):
    res = _invoke(*args)
    assert res.exit_code == 0, f"zkml {' '.join(map(str, args))}: {res.output}"
    return res


@pytest.fixture(scope="session")
def probe_cache(tmp_path_factory) -> Path:
    """XDG_CACHE_HOME for every case: a fresh record of checked keys, so each session runs the
    real point and subgroup checks at least once. numba's compiled kernels (also kept under
    XDG_CACHE_HOME) still come from the user's cache, through NUMBA_CACHE_DIR: compiling them
    afresh costs a minute."""
    import numba

    import zkml.engines.cpu  # noqa: F401  (points numba's cache at the user's XDG_CACHE_HOME)

    mp = pytest.MonkeyPatch()
    mp.setenv("NUMBA_CACHE_DIR", os.environ.get("NUMBA_CACHE_DIR") or str(numba.config.CACHE_DIR))
    yield tmp_path_factory.mktemp("probe-cache")
    mp.undo()


@pytest.fixture(scope="session")
def base(tmp_path_factory, probe_cache) -> Path:
    """The files every case copies from (see probe_cases' docstring): one bundle, compiled and
    set up once, two proofs, the multiplier's files, a signed attestation and its policy."""
    from zkml.formats.wtns import read_wtns, write_wtns

    d = tmp_path_factory.mktemp("probe-base")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(d)
        mp.setenv("XDG_CACHE_HOME", str(probe_cache))
        shutil.copy(MODELS / "breast_cancer.onnx", "model.onnx")
        shutil.copy(MODELS / "breast_cancer_calibration.npz", "cal.npz")
        test = np.load(MODELS / "breast_cancer_test.npz")["x"]
        np.savez("in.npz", x=test[0])
        Path("in.json").write_text(json.dumps(test[0].tolist()) + "\n")
        Path("in1.json").write_text(json.dumps(test[1].tolist()) + "\n")
        _ok("compile", "model.onnx", "-c", "cal.npz", "-o", "bc")
        shutil.copytree("bc", "bc0")
        _ok("setup", "bc")
        _ok("prove", "bc", "-i", "in.npz", "-o", "proof.json")
        _ok("prove", "bc", "-i", "in1.json", "-o", "proof1.json")

        for src, dst in (("multiplier.r1cs", "m.r1cs"), ("multiplier.zkey", "m.zkey"), ("witness.wtns", "m.wtns"),
                         ("pot4_final.ptau", "pot4.ptau")):
            shutil.copy(FIXTURES / src, dst)
        _ok("groth16", "export-vk", "m.zkey", "m.vk.json")
        _ok("groth16", "prove", "m.zkey", "m.wtns", "m.proof.json", "m.public.json")
        w = read_wtns("m.wtns")  # wires 1, c, a, b = 1, 33, 3, 11
        w2 = np.zeros_like(w)
        w2[:, 0] = [1, 35, 5, 7]
        write_wtns("m2.wtns", w2)
        _ok("groth16", "prove", "m.zkey", "m2.wtns", "m2.proof.json", "m2.public.json")

        _ok("attest", "keygen", "owner.key")
        _ok("attest", "inference", "proof.json", "-o", "inf.json")
        _ok("attest", "sign", "inf.json", "--private-key-file", "owner.key")
        doc = json.loads(Path("inf.json").read_text())
        Path("policy.toml").write_text(
            "[policy]\n"
            f'signers = ["{doc["signature"]["signer"]}"]\n'
            f'models = ["{doc["claim"]["model_id"]}"]\n'
            "max_age_days = 30\n"
            "require_onchain = false\n")
    return d


# --- running one case ------------------------------------------------------------------------


def snapshot(root: Path) -> dict:
    """Every entry under ``root``, hidden ones included: kind, size, mtime, inode, content hash."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = Path(dirpath, n)
            rel = str(p.relative_to(root))
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir",)
            else:
                out[rel] = ("file", st.st_size, st.st_mtime_ns, st.st_ino, hashlib.sha256(p.read_bytes()).hexdigest())
    return out


def changes(before: dict, after: dict) -> list[str]:
    out = [f"new {k}" for k in after if k not in before]
    out += [f"removed {k}" for k in before if k not in after]
    out += [f"changed {k}" for k in before if k in after and before[k] != after[k] and before[k][0] != "dir"]
    return sorted(out)


@dataclass
class Outcome:
    rc: int
    output: str
    error: str = ""  # an uncaught exception (in-process): a traceback for a user


def _run_inprocess(case: P.Case, cwd: Path) -> Outcome:
    from zkml.cli import main

    old = Path.cwd()
    os.chdir(cwd)
    try:
        res = CliRunner().invoke(main, case.argv)
    finally:
        os.chdir(old)
    error = ""
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        error = "".join(traceback.format_exception(*res.exc_info)[-3:]).strip()
    return Outcome(res.exit_code, res.output, error)


def _run_subprocess(case: P.Case, cwd: Path, cache: Path) -> Outcome:
    cmd = ([str(ZKML_EXE)] if ZKML_EXE.exists()
           else [sys.executable, "-c", "import sys; from zkml.cli import main; sys.argv[0] = 'zkml'; main()"])
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["XDG_CACHE_HOME"] = str(cache)
    res = subprocess.run(cmd + case.argv, cwd=cwd, capture_output=True, text=True, timeout=300, env=env)
    return Outcome(res.returncode, res.stdout + res.stderr)


class _FullFile:
    """A file object whose writes fail with ENOSPC once the folder's byte budget is spent. Like
    tmpfs, space is taken a 4096-byte page at a time, so one free page holds one small file."""

    PAGE = 4096

    def __init__(self, f, budget: list[int], name: str):
        self._f, self._budget, self._name, self._size = f, budget, name, 0

    def write(self, data):
        pages = -(-(self._size + len(data)) // self.PAGE) - -(-self._size // self.PAGE)
        if pages * self.PAGE > self._budget[0]:
            self._budget[0] = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self._name)
        self._budget[0] -= pages * self.PAGE
        self._size += len(data)
        return self._f.write(data)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()

    def __iter__(self):
        return iter(self._f)

    def __getattr__(self, name):
        return getattr(self._f, name)


def inject_enospc(mp: pytest.MonkeyPatch, folder: Path, free: int) -> None:
    """Writes through open() to files under ``folder`` fail with ENOSPC after ``free`` bytes."""
    real_open = io.open
    budget = [free]
    folder = folder.resolve()

    def fake_open(file, mode="r", *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        if not any(c in mode for c in "wax+"):
            return f
        try:
            name = os.readlink(f"/proc/self/fd/{file}") if isinstance(file, int) else os.fspath(file)
            inside = Path(name).resolve().is_relative_to(folder)
        except (OSError, TypeError):
            inside = False
        return _FullFile(f, budget, str(name)) if inside else f

    mp.setattr(builtins, "open", fake_open)
    mp.setattr(io, "open", fake_open)


def _mount_tmpfs(path: Path, size: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True,
                         text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({res.stderr.strip()}); the injected-ENOSPC cases cover this")


def _fill(path: Path, free: int) -> None:
    st = os.statvfs(path)
    avail = st.f_bavail * st.f_frsize
    assert avail >= free, f"the tmpfs has {avail} bytes free, the case needs {free}"
    with open(path / ".filler", "wb") as f:
        left = avail - free
        while left > 0:
            n = f.write(b"\0" * min(left, 1 << 20))
            left -= n
    st = os.statvfs(path)
    assert abs(st.f_bavail * st.f_frsize - free) <= PAGE, "could not fill the tmpfs to the case's free space"


def _lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.replace(DEV_TAU_WARNING, "").splitlines() if ln.strip()]


def judge(case: P.Case, o: Outcome, before: dict, after: dict) -> list[str]:
    problems = []
    if o.rc < 0:
        problems.append(f"killed by signal {-o.rc} ({signal.Signals(-o.rc).name})")
    if o.error:
        problems.append(f"uncaught exception (a traceback for the user): {o.error.splitlines()[-1]}")
    if "Traceback" in o.output:
        problems.append("'Traceback' in the output")
    lines = _lines(o.output)
    shown = " | ".join(lines)[:400] or "(no output)"
    for s in case.forbid:
        if s in o.output:
            problems.append(f"unclear message: says {s!r}")
    for s in case.contains:
        if s not in o.output:
            problems.append(f"the output does not say {s!r}")
    diff = changes(before, after)

    def names_ok(line: str) -> bool:
        return not case.names or any(n in line for n in case.names)

    def one_error_line(codes) -> None:
        if o.rc not in codes:
            problems.append(f"exit code {o.rc}, expected {' or '.join(map(str, codes))}")
        if len(lines) != 1:
            problems.append(f"{len(lines)} lines of output, expected one")
        elif not names_ok(lines[0]):
            problems.append(f"the message names none of {', '.join(case.names)}")

    if case.expect == "accept":
        if o.rc != 0:
            problems.append(f"exit code {o.rc}, expected 0 (a legitimate input)")
        declared = set(case.outputs)
        extra = [c for c in diff if not any(c.split(" ", 1)[1] == p or c.split(" ", 1)[1].startswith(p + "/")
                                            for p in declared)]
        if extra:
            problems.append("files besides the declared outputs: " + ", ".join(extra))
        for p in case.outputs:
            if o.rc == 0 and p not in after:
                problems.append(f"declared output {p} not written")
    else:
        if diff:
            problems.append("left files behind or changed them: " + ", ".join(diff))
        if case.expect == "reject":
            one_error_line(case.codes)
        elif case.expect == "invalid":
            if len(lines) == 1 and "INVALID" in lines[0]:
                if o.rc != 1:
                    problems.append(f"exit code {o.rc} for INVALID, expected 1")
            else:
                one_error_line((1, 2))
                if o.rc == 0:
                    problems.append("accepted a tampered proof or claim")
        elif case.expect == "fail":
            if o.rc == 0 or "verdict: PASS" in o.output:
                problems.append("PASS for a tampered attestation or a policy it does not meet")
            elif o.rc == 1:
                if "verdict: FAIL" not in o.output:
                    problems.append("exit 1 without 'verdict: FAIL'")
            else:
                one_error_line((2,))
        elif case.expect == "flag":
            if not any(names_ok(ln) and any(w in ln.lower() for w in FLAG_WORDS) for ln in lines):
                problems.append(f"does not flag {', '.join(case.names)} as not matching the manifest")
        else:
            raise AssertionError(f"unknown class {case.expect}")
    if problems:
        problems.append(f"output: {shown}")
    return problems


def _record(case: P.Case, problems: list[str], seconds: float) -> None:
    path = os.environ.get("PROBE_REPORT")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"id": case.id, "category": case.category, "owner": case.owner, "defect": case.defect,
                                "slow": case.slow, "ok": not problems, "problems": problems, "repro": case.repro(),
                                "seconds": round(seconds, 2)}) + "\n")


def _copy_needs(case: P.Case, base: Path, d: Path) -> None:
    for n in case.needs:
        src, dst = base / n, d / n
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, copy_function=shutil.copyfile)
        else:
            shutil.copyfile(src, dst)


CASES = P.all_cases()


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=[pytest.mark.slow] if c.slow else [])
                                  for c in CASES])
def test_probe_case(case: P.Case, base: Path, probe_cache: Path, tmp_path: Path, monkeypatch):
    t0 = time.perf_counter()
    d = tmp_path / "case"
    d.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(probe_cache))
    _copy_needs(case, base, d)
    disk = case.disk
    mounted = None
    try:
        if disk and not disk.inject:
            _mount_tmpfs(d / disk.mount, disk.size)
            mounted = d / disk.mount
        elif disk:
            (d / disk.mount).mkdir()
        if case.prepare:
            case.prepare(d)
        if disk:
            free = disk.free(d) if callable(disk.free) else disk.free
            if disk.inject:
                inject_enospc(monkeypatch, d / disk.mount, free)
            else:
                _fill(mounted, free)
        before = snapshot(d)
        cwd = d / case.cwd
        o = _run_subprocess(case, cwd, probe_cache) if case.subprocess else _run_inprocess(case, cwd)
        monkeypatch.undo()
        after = snapshot(d)
    finally:
        monkeypatch.undo()
        if mounted is not None:
            if subprocess.run(["umount", str(mounted)], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", str(mounted)], capture_output=True)
    problems = judge(case, o, before, after)
    _record(case, problems, time.perf_counter() - t0)
    assert not problems, (f"{case.id} (probe defect {case.defect or '-'}, fix {case.owner}): {case.repro()}\n  "
                          + "\n  ".join(problems))


# --- checks that are not one command on one file ---------------------------------------------


def test_table_covers_every_category_in_the_default_run():
    default = {c.category for c in CASES if not c.slow}
    assert default >= {"1", "2", "3a", "3b", "4", "6", "9", "10", "deep"}
    kinds = {c.id.split("-")[1] for c in CASES if c.category == "1" and not c.slow}
    assert kinds >= {"r1cs", "zkey", "wtns", "ptau", "json", "manifest", "onnx", "proof", "input"}
    assert any(c.subprocess and not c.slow for c in CASES if c.category != "deep")


def test_proof_file_holds_no_local_path(base):
    """Defect 9 (fix 1): the proof names its bundle by hash, not by the prover's path."""
    text = (base / "proof.json").read_text()
    assert str(base) not in text and str(base.resolve()) not in text
    assert '"bc"' not in text, "the proof file holds the bundle's path as the prover typed it"


def test_piped_output_is_not_wrapped(base, tmp_path, monkeypatch):
    """Defect 8 (fix 3): not a terminal, so no line is wrapped at 80 columns."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(base / "bc", "bc", copy_function=shutil.copyfile)
    res = _invoke("inspect", "bc")
    m = json.loads(Path("bc/manifest.json").read_text())["model"]
    assert res.exit_code == 0
    assert any(m["sha256"] in ln and m["weights_sha256"] in ln for ln in res.output.splitlines()), res.output
    shutil.copyfile(FIXTURES / "multiplier.r1cs", "m.r1cs")
    res = _invoke("groth16", "setup", "m.r1cs", "k.zkey", "--dev")
    assert res.exit_code == 0
    assert DEV_TAU_WARNING in res.output.splitlines(), res.output
    assert any(ln.startswith("done in") and "k.zkey" in ln for ln in res.output.splitlines()), res.output


@pytest.mark.parametrize("argv, bad", [
    (["verify", "bad.json"], "bad.json"),
    (["inspect", "bc"], "bc/manifest.json"),
    (["prove", "bc", "-i", "bad.json", "-o", "out.json"], "bad.json"),
])
def test_parse_errors_do_not_import_onnx(base, tmp_path, argv, bad):
    """Defect 11 (fix 5): commands that never need onnx (1.1-1.5 s to import) fail fast."""
    shutil.copytree(base / "bc", tmp_path / "bc", copy_function=shutil.copyfile)
    (tmp_path / bad).write_bytes(b"")
    code = ("import sys\nfrom zkml.cli import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            "print('onnx imported' if 'onnx' in sys.modules else 'no onnx')\n")
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert "no onnx" in res.stdout, res.stdout + res.stderr


def test_ctrl_c_exits_130_and_writes_nothing(tmp_path, probe_cache):
    """Defect 14 (fix 3): SIGINT during work: exit 130, a line saying nothing was written, no file."""
    cmd = [str(ZKML_EXE)] if ZKML_EXE.exists() else [sys.executable, "-m", "zkml.cli"]
    env = {**os.environ, "XDG_CACHE_HOME": str(probe_cache)}
    # as from a terminal: a shell starts background jobs (`make test &`) with SIGINT ignored, and
    # Python keeps an inherited SIG_IGN, so the child gets the default disposition explicitly
    p = subprocess.Popen(cmd + ["groth16", "ptau-new", "16", "t.ptau"], cwd=tmp_path, stderr=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, env=env,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        first = p.stderr.readline()  # the dev-tau warning: the command is past its imports
        assert "WARNING" in first, first
        time.sleep(0.5)
        assert p.poll() is None, "finished before it could be interrupted"
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 130, (p.returncode, err)
    assert "Traceback" not in err and "Aborted!" not in err, err
    assert os.listdir(tmp_path) == [], os.listdir(tmp_path)
