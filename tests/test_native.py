"""The ahead-of-time compiled engine module (zkml/engines/cpu/native.py): it computes what the
numba JIT kernels compute, commands that find it import neither numba nor onnx, and a library
that is not this engine's (another key, a damaged file) is never used."""

import subprocess
import sys

import numpy as np
import pytest

from conftest import MODELS, zkml
from zkml.crypto.bn254 import R, ints_to_limbs
from zkml.engines.cpu import native


def _random_fr(rng, n):
    return ints_to_limbs([int(rng.integers(0, 2**62)) * int(rng.integers(0, 2**62)) % R for _ in range(n)])


def test_native_and_jit_kernels_agree():
    k = native.kernels()
    if not k.native:
        pytest.skip("no native library on this machine (run `make install`)")
    jit = native._jit_kernels()
    rng = np.random.default_rng(7)
    a, b = _random_fr(rng, 300), _random_fr(rng, 300)
    for name in ("mul_range", "to_mont_range", "from_mont_range"):
        args = (a, b) if name == "mul_range" else (a,)
        got, want = np.empty_like(a), np.empty_like(a)
        getattr(k, name)(*args, got, 0, len(a))
        getattr(jit, name)(*args, want, 0, len(a))
        assert np.array_equal(got, want), name
    # and a different input gives a different answer (the comparison can fail)
    other = np.empty_like(a)
    k.mul_range(a, a, other, 0, len(a))
    assert not np.array_equal(other, want)


def test_ntt_through_the_native_module_inverts(rng):
    from zkml.engines.cpu.ntt import intt, ntt

    a = _random_fr(np.random.default_rng(3), 1 << 12)
    assert np.array_equal(intt(ntt(a)), a)
    assert not np.array_equal(ntt(a), a)


def test_a_damaged_library_is_refused_by_the_loader(tmp_path):
    bad = tmp_path / "zkml_native.so"
    bad.write_bytes(b"\x7fELF not really a library")
    with pytest.raises((ImportError, OSError)):
        native._import_library(bad)


def test_the_key_names_the_sources_versions_and_cpu(monkeypatch):
    key = native.build_key()
    assert key == native.build_key()
    monkeypatch.setattr(native, "_cpu_features", lambda: "another machine")
    assert native.build_key() != key  # a cache copied from another CPU is not found under our key


@pytest.fixture(scope="module")
def proved(tmp_path_factory):
    d = tmp_path_factory.mktemp("native")
    for args in (("compile", MODELS / "breast_cancer.onnx", "-c", MODELS / "breast_cancer_calibration.npz", "-o", d / "bc"),
                 ("setup", d / "bc")):
        res = zkml(*args)
        assert res.exit_code == 0, res.output
    x = np.load(MODELS / "breast_cancer_test.npz")["x"][:1]
    np.savez(d / "x.npz", x=x)
    res = zkml("prove", d / "bc", "-i", d / "x.npz", "-o", d / "proof.json")
    assert res.exit_code == 0, res.output
    return d


HEAVY = ("onnx", "onnxruntime", "web3", "ray", "numba.cuda", "torch", "scipy")


@pytest.mark.parametrize("command", ["verify", "prove"])
def test_commands_import_only_what_they_use(proved, command):
    if not native.kernels().native:
        pytest.skip("no native library on this machine (run `make install`)")
    argv = (["verify", str(proved / "proof.json")] if command == "verify" else
            ["prove", str(proved / "bc"), "-i", str(proved / "x.npz"), "-o", str(proved / "again.json")])
    code = ("import sys; from zkml.cli import main\n"
            "try: main(sys.argv[1:])\nexcept SystemExit as e: code = e.code\n"
            f"print('LOADED', sorted(m for m in {HEAVY!r} if m in sys.modules), 'numba' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=300)
    loaded = [ln for ln in res.stdout.splitlines() if ln.startswith("LOADED")]
    assert loaded == ["LOADED [] False"], res.stdout + res.stderr  # and no numba: the native module serves


@pytest.mark.slow
def test_a_read_only_cache_folder_builds_into_a_temporary_one(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    ro = tmp_path / "file" / "native"  # unwritable even for root, which ignores file modes
    code = "from zkml.engines.cpu.native import kernels; print('NATIVE', kernels().native)"
    env = {**__import__("os").environ, "ZKML_NATIVE_DIR": str(ro)}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=900)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    assert res.stdout.strip() == "NATIVE True"
    notes = [ln for ln in res.stderr.splitlines() if ln.startswith("note:")]
    assert len(notes) == 1 and str(ro) in notes[0] and "for this process only" in notes[0], res.stderr
    assert (tmp_path / "file").read_text() == "not a folder"


def test_a_failed_build_falls_back_to_the_jit_once(tmp_path, monkeypatch, capsys):
    from zkml.engines.cpu import build_native

    calls = []

    def no_compiler(root, key=None):
        calls.append(root)
        raise RuntimeError("no C compiler")

    monkeypatch.setenv("ZKML_NATIVE_DIR", str(tmp_path / "native"))
    monkeypatch.setattr(build_native, "build", no_compiler)
    monkeypatch.setattr(native, "_loaded", None)
    k = native.kernels()
    assert not k.native and callable(k.mul_range)
    notes = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("note:")]
    assert len(notes) == 1 and "no C compiler" in notes[0]
    monkeypatch.setattr(native, "_loaded", None)  # a later command: no second build attempt
    assert not native.kernels().native and len(calls) == 1
    monkeypatch.setattr(native, "_loaded", None)
