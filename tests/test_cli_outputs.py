"""Whole results or nothing, exit codes and output a script can read: a full disk, an output
that is also an input, Ctrl-C, a closed pipe, piped and NO_COLOR output."""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from conftest import FIXTURES, ROOT
from test_compiler import tiny_model
from zkml.cli import main
from zkml.formats import atomic

ZKML = ROOT / ".venv" / "bin" / "zkml"
ENOSPC = OSError(errno.ENOSPC, "No space left on device")


def invoke(*args, **kw):
    return CliRunner().invoke(main, [str(a) for a in args], **kw)


def one_line_error(res, *fragments):
    """The command failed with exit 1 and one error line, the last on stderr, holding every
    fragment; no traceback (notes printed before the failure may precede it)."""
    assert res.exit_code == 1, res.output
    assert not isinstance(res.exception, OSError) and "Traceback" not in res.output
    lines = res.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], res.stderr
    for f in fragments:
        assert f in errors[0], (f, errors[0])
    return errors[0]


def snapshot(folder):
    """Every file under folder (hidden temp files included) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    """Two set-up bundles of a tiny model, public and committed input, and an input file."""
    d = tmp_path_factory.mktemp("outputs")
    model = tiny_model(d)
    (d / "cal.json").write_text(json.dumps([[1.0, -2.0, 0.5], [-1.0, 1.0, 1.0]]))
    (d / "x.json").write_text("[0.5, -0.5, 0.25]")
    for name, vis in (("pub", "public"), ("com", "committed")):
        res = invoke("compile", model, "-c", d / "cal.json", "-o", d / name, "--input-visibility", vis)
        assert res.exit_code == 0, res.output
        shutil.copytree(d / name, d / f"{name}-compiled")
        assert invoke("setup", d / name).exit_code == 0
    return d


def fresh(bundles, tmp_path, name):
    dest = tmp_path / name
    shutil.copytree(bundles / name, dest)
    return dest


def fail_on_commit(monkeypatch, nth: int):
    """os.replace fails (ENOSPC) on the nth rename of a staged file into place (1-based)."""
    real = os.replace
    seen = {"n": 0}

    def replace(src, dst, *a, **kw):
        if str(src).endswith(".part"):
            seen["n"] += 1
            if seen["n"] == nth:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst, *a, **kw)

    monkeypatch.setattr(os, "replace", replace)


# --- a full disk: one line naming the path, exit 1, nothing new ----------------------------


def test_groth16_prove_disk_full_on_the_second_file(tmp_path, monkeypatch):
    import zkml.formats.snarkjs_json as sj

    def full(path, public):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sj, "write_public", full)
    res = invoke("groth16", "prove", FIXTURES / "multiplier.zkey", FIXTURES / "witness.wtns",
                 tmp_path / "p.json", tmp_path / "pub.json")
    one_line_error(res, str(tmp_path / "pub.json"), "No space left on device", "ENOSPC", "free some space")
    assert list(tmp_path.iterdir()) == []  # the proof was written, but never without its public signals


def test_groth16_prove_rename_failure_puts_old_results_back(tmp_path, monkeypatch):
    args = ("groth16", "prove", FIXTURES / "multiplier.zkey", FIXTURES / "witness.wtns",
            tmp_path / "p.json", tmp_path / "pub.json")
    assert invoke(*args).exit_code == 0
    before = snapshot(tmp_path)
    fail_on_commit(monkeypatch, 2)  # p.json already renamed into place when pub.json fails
    one_line_error(invoke(*args), str(tmp_path / "pub.json"), "ENOSPC")
    assert snapshot(tmp_path) == before  # the old proof is back, no temp or backup file is left
    monkeypatch.undo()
    assert invoke(*args).exit_code == 0 and snapshot(tmp_path) != before  # a fresh proof replaces them


def test_bundle_setup_disk_full_leaves_no_key(bundles, tmp_path, monkeypatch):
    import zkml.formats.snarkjs_json as sj

    b = fresh(bundles, tmp_path, "pub-compiled")
    before = snapshot(b)

    def full(path, vk):
        raise ENOSPC

    monkeypatch.setattr(sj, "write_vk", full)
    one_line_error(invoke("setup", b), str(b / "verification_key.json"), "ENOSPC")
    assert snapshot(b) == before  # no circuit.zkey the manifest does not list
    monkeypatch.undo()
    assert invoke("setup", b).exit_code == 0 and (b / "circuit.zkey").exists()


def test_bundle_setup_manifest_rename_failure_keeps_the_old_keys(bundles, tmp_path, monkeypatch):
    b = fresh(bundles, tmp_path, "pub")
    before = snapshot(b)
    fail_on_commit(monkeypatch, 4)  # zkey, vk and the development ptau in place, then the manifest fails
    one_line_error(invoke("setup", b), str(b / "manifest.json"), "ENOSPC")
    assert snapshot(b) == before
    monkeypatch.undo()
    (tmp_path / "x.json").write_text("[0.5, -0.5, 0.25]")
    assert invoke("prove", b, "-i", tmp_path / "x.json", "-o", tmp_path / "p.json").exit_code == 0


def test_committed_prove_disk_full_leaves_neither_opening_nor_proof(bundles, tmp_path, monkeypatch):
    import builtins

    real_open = builtins.open
    proof = tmp_path / "out" / "p.json"

    def full_disk(path, mode="r", *a, **kw):
        if "w" in mode and os.path.basename(str(path)).startswith(".p.json.") and ".opening" not in str(path):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_open(path, mode, *a, **kw)

    monkeypatch.setattr(builtins, "open", full_disk)
    res = invoke("prove", bundles / "com", "-i", bundles / "x.json", "-o", proof)
    one_line_error(res, str(proof), "ENOSPC")
    assert list(proof.parent.iterdir()) == []  # the opening was staged first and is gone too
    monkeypatch.undo()
    assert invoke("prove", bundles / "com", "-i", bundles / "x.json", "-o", proof).exit_code == 0
    assert sorted(p.name for p in proof.parent.iterdir()) == ["p.json", "p.json.opening.json"]


def test_compile_disk_full_leaves_no_bundle(bundles, tmp_path, monkeypatch):
    import zkml.formats.r1cs as r1cs_format

    def full(path, r1cs):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(r1cs_format, "write_r1cs", full)
    res = invoke("compile", bundles / "tiny.onnx", "-c", bundles / "cal.json", "-o", tmp_path / "b")
    line = one_line_error(res, str(tmp_path / "b" / "circuit.r1cs"), "ENOSPC")
    assert ".b." not in line  # names the bundle's file, not the temporary folder
    assert list(tmp_path.iterdir()) == []


def test_an_os_error_no_command_handles_is_one_line(tmp_path, monkeypatch):
    import zkml.attest.owner as owner

    def read_only(path):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(owner, "new_key_file", read_only)
    res = invoke("attest", "keygen", tmp_path / "k.key")
    one_line_error(res, str(tmp_path / "k.key"), "Read-only file system", "EROFS", "write elsewhere")


@pytest.fixture
def tiny_fs(tmp_path):
    """A 64 KiB tmpfs filled to the last byte (skipped where mounting is not allowed)."""
    d = tmp_path / "tiny"
    d.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(d)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        fd = os.open(d / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:  # full
            pass
        finally:
            os.close(fd)
        yield d
    finally:
        subprocess.run(["umount", "-l", str(d)], capture_output=True)


def test_a_real_full_disk(tiny_fs):
    if not ZKML.exists():
        pytest.skip("no venv console script")
    cases = [
        ("groth16", "prove", FIXTURES / "multiplier.zkey", FIXTURES / "witness.wtns", tiny_fs / "p.json",
         tiny_fs / "pub.json"),
        ("groth16", "export-vk", FIXTURES / "multiplier.zkey", tiny_fs / "vk.json"),
        ("groth16", "contribute", FIXTURES / "multiplier.zkey", tiny_fs / "k.zkey"),
    ]
    for args in cases:
        res = subprocess.run([str(ZKML), *map(str, args)], capture_output=True, text=True, timeout=300)
        assert res.returncode == 1, res.stderr
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and "No space left on device" in lines[0] and str(tiny_fs) in lines[0], res.stderr
        assert sorted(p.name for p in tiny_fs.iterdir()) == ["filler"]  # no partial or temp file


# --- an output that is also an input is refused before any work ----------------------------


def test_prove_output_in_the_bundle_or_on_the_input_is_refused(bundles, tmp_path):
    b = fresh(bundles, tmp_path, "pub")
    (tmp_path / "in.json").write_text("[0.5, -0.5, 0.25]")
    before, x = snapshot(b), (tmp_path / "in.json").read_bytes()
    one_line_error(invoke("prove", b, "-i", tmp_path / "in.json", "-o", b / "manifest.json"), "inside")
    one_line_error(invoke("prove", b, "-i", tmp_path / "in.json", "-o", b / "other.json"), "inside")
    one_line_error(invoke("prove", b, "-i", tmp_path / "in.json", "-o", tmp_path / "in.json"), "also an input")
    assert snapshot(b) == before and (tmp_path / "in.json").read_bytes() == x
    assert invoke("prove", b, "-i", tmp_path / "in.json", "-o", tmp_path / "p.json").exit_code == 0


def test_committed_prove_opening_on_the_input_is_refused(bundles, tmp_path):
    (tmp_path / "p.json.opening.json").write_text("[0.5, -0.5, 0.25]")
    res = invoke("prove", bundles / "com", "-i", tmp_path / "p.json.opening.json", "-o", tmp_path / "p.json")
    one_line_error(res, "also an input")
    assert (tmp_path / "p.json.opening.json").read_text() == "[0.5, -0.5, 0.25]"
    assert not (tmp_path / "p.json").exists()


def test_groth16_outputs_equal_to_inputs_are_refused(tmp_path):
    shutil.copy(FIXTURES / "multiplier.zkey", tmp_path / "k.zkey")
    key = (tmp_path / "k.zkey").read_bytes()
    one_line_error(invoke("groth16", "export-vk", tmp_path / "k.zkey", tmp_path / "k.zkey"), "also an input")
    one_line_error(invoke("groth16", "contribute", tmp_path / "k.zkey", tmp_path / "." / "k.zkey"),
                   "also an input", "new file")
    one_line_error(invoke("groth16", "prove", tmp_path / "k.zkey", FIXTURES / "witness.wtns",
                          tmp_path / "same.json", tmp_path / "same.json"), "two outputs")
    one_line_error(invoke("groth16", "prove", tmp_path / "k.zkey", FIXTURES / "witness.wtns",
                          tmp_path / "k.zkey", tmp_path / "pub.json"), "also an input")
    one_line_error(invoke("groth16", "setup", FIXTURES / "multiplier.r1cs", FIXTURES / "pot4_final.ptau",
                          "--ptau", FIXTURES / "pot4_final.ptau"), "also an input")
    assert (tmp_path / "k.zkey").read_bytes() == key and sorted(os.listdir(tmp_path)) == ["k.zkey"]
    assert invoke("groth16", "export-vk", tmp_path / "k.zkey", tmp_path / "vk.json").exit_code == 0


def test_compile_force_never_deletes_the_model_or_a_foreign_folder(bundles, tmp_path):
    shutil.copy(bundles / "tiny.onnx", tmp_path / "tiny.onnx")
    shutil.copy(bundles / "cal.json", tmp_path / "cal.json")
    res = invoke("compile", tmp_path / "tiny.onnx", "-c", tmp_path / "cal.json", "-o", tmp_path, "--force")
    one_line_error(res, "would replace it")
    assert (tmp_path / "tiny.onnx").exists() and (tmp_path / "cal.json").exists()
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    res = invoke("compile", tmp_path / "tiny.onnx", "-c", tmp_path / "cal.json", "-o", other, "--force")
    one_line_error(res, "not a circuit bundle")
    assert (other / "keep.txt").read_text() == "mine"
    # a bundle is replaced with --force, whole
    b = tmp_path / "b"
    assert invoke("compile", tmp_path / "tiny.onnx", "-c", tmp_path / "cal.json", "-o", b).exit_code == 0
    assert invoke("compile", tmp_path / "tiny.onnx", "-c", tmp_path / "cal.json", "-o", b, "--force").exit_code == 0
    assert (b / "manifest.json").exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "b", "cal.json", "notes", "tiny.onnx"]


# --- Ctrl-C: exit 130, one line, nothing left ----------------------------------------------


def test_interrupt_before_the_commit_writes_nothing(tmp_path, monkeypatch):
    import zkml.formats.snarkjs_json as sj

    def interrupted(path, public):
        raise KeyboardInterrupt

    monkeypatch.setattr(sj, "write_public", interrupted)
    res = invoke("groth16", "prove", FIXTURES / "multiplier.zkey", FIXTURES / "witness.wtns",
                 tmp_path / "p.json", tmp_path / "pub.json")
    assert res.exit_code == 130 and res.stderr.strip() == "interrupted; nothing was written"
    assert "Aborted" not in res.output and list(tmp_path.iterdir()) == []


def test_interrupt_after_the_commit_says_what_was_written(tmp_path, monkeypatch):
    import zkml.cli as cli

    def interrupted(*a):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_summary", interrupted)
    res = invoke("groth16", "prove", FIXTURES / "multiplier.zkey", FIXTURES / "witness.wtns",
                 tmp_path / "p.json", tmp_path / "pub.json")
    assert res.exit_code == 130
    assert res.stderr.strip() == f"interrupted; wrote {tmp_path / 'p.json'}, {tmp_path / 'pub.json'} (each whole) before that"


def test_sigint_in_a_real_process(tmp_path):
    if not ZKML.exists():
        pytest.skip("no venv console script")
    # as from a terminal: a background job (`make test &`) inherits SIGINT ignored, Python keeps it
    p = subprocess.Popen([str(ZKML), "groth16", "ptau-new", "14", "x.ptau"], cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert p.stderr.readline().startswith("WARNING")  # started: past imports, computing
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)
        stdout, stderr = p.communicate(timeout=120)
    finally:
        p.kill()
    assert p.returncode == 130, stderr
    assert stderr.strip().splitlines() == ["interrupted; nothing was written"] and stdout == ""
    assert list(tmp_path.iterdir()) == []  # neither x.ptau nor a temp file


# --- output a script can read --------------------------------------------------------------


def run_piped(*args, env=None, **kw):
    return subprocess.run([str(ZKML), *map(str, args)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "40", **(env or {})}, **kw)


def test_piped_lines_are_never_wrapped(bundles, tmp_path):
    if not ZKML.exists():
        pytest.skip("no venv console script")
    from zkml.groth16.setup import DEV_TAU_WARNING

    res = run_piped("groth16", "setup", FIXTURES / "multiplier.r1cs", tmp_path / "k.zkey", "--dev")
    assert res.returncode == 0, res.stderr
    lines = res.stderr.splitlines()
    assert DEV_TAU_WARNING in lines  # the warning whole, on one line
    assert any(line.startswith("done in ") and "peak memory" in line and "wrote k.zkey" in line for line in lines)
    res = run_piped("inspect", bundles / "pub")
    assert res.returncode == 0, res.stderr
    hashes = [line for line in res.stdout.splitlines() if line.startswith("model sha256")]
    assert len(hashes) == 1 and "weights sha256" in hashes[0]
    rows = [line for line in res.stdout.splitlines() if "Gemm" in line]
    assert len(rows) == 1 and "fc" in rows[0]  # the table row keeps its cells (not squeezed)


def test_prove_result_on_stdout_logs_on_stderr(bundles, tmp_path):
    res = invoke("prove", bundles / "pub", "-i", bundles / "x.json", "-o", tmp_path / "p.json")
    assert res.exit_code == 0, res.output
    assert "argmax" in res.stdout and "argmax" not in res.stderr
    assert "done in" in res.stderr and "done in" not in res.stdout


def test_no_color_means_no_escape_codes_on_a_terminal(tmp_path):
    if not ZKML.exists():
        pytest.skip("no venv console script")
    import pty

    def on_a_terminal(env):
        master, slave = pty.openpty()
        args = [str(ZKML), "groth16", "verify", FIXTURES / "verification_key.json", FIXTURES / "public.json",
                FIXTURES / "proof.json"]
        p = subprocess.Popen(list(map(str, args)), stdout=slave, stderr=subprocess.PIPE,
                             env={k: v for k, v in {**os.environ, "TERM": "xterm-256color", **env}.items() if v})
        os.close(slave)
        data = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        p.wait(timeout=120)
        os.close(master)
        assert p.returncode == 0, p.stderr.read()
        return data.decode()

    assert "\x1b[" in on_a_terminal({"NO_COLOR": ""})  # a terminal gets colour...
    plain = on_a_terminal({"NO_COLOR": "1"})
    assert "\x1b[" not in plain and "OK" in plain  # ...unless NO_COLOR: no colour, no bold


def test_a_closed_stdout_pipe_exits_quietly(bundles):
    if not ZKML.exists():
        pytest.skip("no venv console script")
    r, w = os.pipe()
    os.close(r)  # the reader is gone before zkml writes a byte
    p = subprocess.run([str(ZKML), "inspect", str(bundles / "pub")], stdout=w, stderr=subprocess.PIPE,
                       text=True, timeout=300)
    os.close(w)
    assert p.returncode == 141 and p.stderr == ""
    res = subprocess.run(f"set -o pipefail; '{ZKML}' inspect '{bundles / 'pub'}' | head -1", shell=True,
                         executable="/bin/bash", capture_output=True, text=True, timeout=300)
    assert res.stdout.count("\n") == 1 and "Traceback" not in res.stderr and "Error" not in res.stderr
    assert res.returncode in (0, 141)  # 0 when inspect finished writing before head left


if sys.platform != "linux":  # pragma: no cover
    pytestmark = pytest.mark.skip("mount, pty and signals as on Linux")


# --- evaluation keys, attestations, verifier: each set lands whole -------------------------


def test_attest_evaluate_writes_keys_and_documents_whole(bundles, tmp_path, monkeypatch):
    import numpy as np

    import zkml.attest.document as document
    import zkml.formats.snarkjs_json as sj

    b = fresh(bundles, tmp_path, "pub")
    np.savez(tmp_path / "d.npz", x=np.array([[0.5, -0.5, 0.25], [1.0, 0.5, -1.0]]), y=np.array([0, 1]))
    evaluate = ("attest", "evaluate", b, "-d", tmp_path / "d.npz")

    def full(path, *a):
        raise ENOSPC

    monkeypatch.setattr(sj, "write_vk", full)
    one_line_error(invoke(*evaluate, "-o", tmp_path / "a.json"), str(b / "evaluations" / "n2" / "verification_key.json"))
    assert [p for p in (b / "evaluations").rglob("*") if p.is_file()] == []  # no r1cs or zkey without the rest
    monkeypatch.undo()

    res = invoke(*evaluate, "-o", tmp_path / "a.json")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "a.json").exists() and (tmp_path / "a.opening.json").exists()
    keys = b / "evaluations" / "n2"
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in keys.iterdir()}
    assert sorted(before) == ["circuit.r1cs", "circuit.zkey", "keys.json", "phase1_dev.ptau", "verification_key.json"]

    monkeypatch.setattr(document, "write", full)
    res = invoke(*evaluate, "-o", tmp_path / "b.json")
    one_line_error(res, str(tmp_path / "b.json"), "ENOSPC")
    assert "reusing the evaluation keys" in res.stderr
    assert not (tmp_path / "b.json").exists() and not (tmp_path / "b.opening.json").exists()  # neither without the other
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in keys.iterdir()} == before  # reused, untouched
    monkeypatch.undo()

    one_line_error(invoke(*evaluate, "-o", b / "a.json"), "inside")
    one_line_error(invoke(*evaluate, "-o", tmp_path / "d.npz"), "also an input")


def test_contract_files_and_manifest_land_together(bundles, tmp_path, monkeypatch):
    import zkml.evm.solc as solc

    def stub(src, name):  # solc takes seconds; what is written around it is under test
        return {"compiler": "stub", "abi": [], "bytecode": "0x00", "deployed_bytecode": "0x6000"}

    b = fresh(bundles, tmp_path, "pub")
    before = snapshot(b)
    monkeypatch.setattr(solc, "compile_contract", stub)
    fail_on_commit(monkeypatch, 3)  # Verifier.sol and verifier.json renamed, then the manifest fails
    one_line_error(invoke("contract", b), str(b / "manifest.json"), "ENOSPC")
    assert snapshot(b) == before
    monkeypatch.undo()
    monkeypatch.setattr(solc, "compile_contract", stub)
    assert invoke("contract", b).exit_code == 0
    files = json.loads((b / "manifest.json").read_text())["files"]
    assert {"Verifier.sol", "verifier.json"} <= set(files)
