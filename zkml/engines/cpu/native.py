"""The CPU engine's kernels as one ahead-of-time compiled module, so a command pays neither
numba's import nor its cache loading (about 0.7 s of every prove and verify).

``make install`` runs ``python -m zkml.engines.cpu.build_native``, which compiles every kernel
in ``EXPORTS`` with numba's pycc into a shared library under the user's cache folder. The
library's folder is named by a key over the engine's sources, the Python, numpy and numba
versions and this CPU's features, so an edited engine, an upgraded numba or a cache copied from
another machine is simply not found and is rebuilt, never loaded. ``kernels()`` returns the
module when it is there; otherwise it builds it once (one progress line), and where it cannot be
built (no C compiler) it falls back to the numba JIT dispatchers of the same functions.

This module imports nothing heavy: it must stay cheap for commands that find the library.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

MODULE_NAME = "zkml_native"

# name in the module -> (defining module, function, numba signature). Arrays are C-contiguous
# uint64 limb arrays: (n, 4) field elements, (n, 2, 4) affine G1, (n, 2, 2, 4) affine G2.
_F = "uint64[:, ::1]"
_G1 = "uint64[:, :, ::1]"
_G2 = "uint64[:, :, :, ::1]"
_V = "uint64[::1]"  # one field element
_U32 = "uint32[::1]"
_R = "int64, int64"  # lo, hi
_FK = "zkml.engines.cpu.fr_kernels"
_MK = "zkml.engines.cpu.msm_kernels"
EXPORTS: dict[str, tuple[str, str, str]] = {
    # prove: QAP evaluation, NTTs, pointwise products (zkml.engines.cpu.prover, .ntt), zkey coefficients
    "to_mont_range": (_FK, "to_mont_range", f"void({_F}, {_F}, {_R})"),
    "from_mont_range": (_FK, "from_mont_range", f"void({_F}, {_F}, {_R})"),
    "mul_range": (_FK, "mul_range", f"void({_F}, {_F}, {_F}, {_R})"),
    "mul_sub_range": (_FK, "mul_sub_range", f"void({_F}, {_F}, {_F}, {_F}, {_R})"),
    "scale_range": (_FK, "scale_range", f"void({_F}, {_V}, {_R})"),
    "zkey_scale_range": (_FK, "zkey_scale_range", f"void({_F}, {_F}, boolean, {_R})"),
    "evaluate_ab": (_FK, "evaluate_ab", f"void({_U32}, {_U32}, {_U32}, {_F}, {_F}, {_F}, {_F})"),
    "fill_powers": (_FK, "fill_powers", f"void({_F}, {_V}, {_V})"),
    "bit_reverse": (_FK, "bit_reverse", f"void({_F}, int64)"),
    "ntt_blocks_range": (_FK, "ntt_blocks_range", f"void({_F}, {_F}, int64, {_R})"),
    "ntt_stage_range": (_FK, "ntt_stage_range", f"void({_F}, {_F}, int64, {_R})"),
    "scale_by_powers_range": (_FK, "scale_by_powers_range", f"void({_F}, {_F}, {_V}, {_R})"),
    # MSM (zkml.engines.cpu.msm): G1 and G2 instances of one template
    "signed_digits": (_MK, "signed_digits", f"void(uint64[:, ::1], int64, int32[:, ::1], {_R})"),
    **{f"{g}_{name}": (_MK, f"{g}_{name}", sig.format(P=P, J=J))
       for g, P, J in (("g1", _G1, _G1), ("g2", _G2, _G2))
       for name, sig in (
           ("split", "void({P}, uint64[:, ::1], uint64[:, :, ::1], boolean[:, ::1], int64[::1], int64, int64)"),
           ("expand", "void({P}, uint64[:, :, ::1], boolean[:, ::1], int64[::1], {P}, uint64[:, ::1], int64, int64)"),
           ("msm_windows", "void({P}, int32[:, ::1], int64, {J}, int64, int64)"),
           ("combine_into", "void({J}, int64, " + ("uint64[:, ::1]" if g == "g1" else _G1) + ")"),
           ("group_sums", "void({P}, int64[::1], int64[::1], {P}, int64, int64)"))},
    # key files' points (zkml.formats.point_checks)
    "g1_status": ("zkml.engines.cpu.point_kernels", "g1_status", f"void({_G1}, uint8[::1])"),
    "g2_status": ("zkml.engines.cpu.point_kernels", "g2_status", f"void({_G2}, uint8[::1])"),
    "g2_subgroup_status_range": ("zkml.engines.cpu.point_kernels", "g2_subgroup_status_range",
                                 f"void({_G2}, uint8[::1], {_R})"),
    # verification (zkml.groth16.fast_verify)
    "pairing_product_is_one": ("zkml.engines.cpu.pairing", "pairing_product_is_one", f"boolean({_G1}, {_G2})"),
    "pairing_product_into": ("zkml.engines.cpu.pairing", "pairing_product_into", f"void({_G1}, {_G2}, {_G2}, boolean)"),
    "g1_lincomb": ("zkml.engines.cpu.pairing", "g1_lincomb", f"void({_G1}, {_F}, {_G1})"),
    "g1_mul_each": ("zkml.engines.cpu.pairing", "g1_mul_each", f"void({_G1}, {_F}, {_G1})"),
    "g2_subgroup_check_into": ("zkml.engines.cpu.pairing", "g2_subgroup_check_into", f"void({_G2}, boolean[::1])"),
}

# what the key covers besides the versions: every source the kernels are compiled from
_SOURCES = ("zkml/engines/cpu", "zkml/crypto/bn254.py", "zkml/formats/zkey_coefficients.py")
_ROOT = Path(__file__).resolve().parents[3]

_loaded: SimpleNamespace | None = None


def _cpu_features() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("flags", "Features", "model name")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.machine() + platform.processor()


def build_key() -> str:
    """sha256 over what the compiled code depends on; it names the library's folder."""
    from importlib.metadata import version

    h = hashlib.sha256()
    for part in (sys.version, version("numpy"), version("numba"), _cpu_features(), repr(sorted(EXPORTS.items()))):
        h.update(part.encode() + b"\0")
    for src in _SOURCES:
        p = _ROOT / src
        for f in sorted(p.glob("*.py")) if p.is_dir() else [p]:
            h.update(f.relative_to(_ROOT).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:24]


def cache_roots() -> list[Path]:
    """Where libraries are looked for, first match wins: ``ZKML_NATIVE_DIR`` alone when set;
    else a folder beside these sources (a checkout or a user's own install, like numba's
    __pycache__, and independent of a test's private XDG_CACHE_HOME), then the user's cache."""
    if os.environ.get("ZKML_NATIVE_DIR"):
        return [Path(os.environ["ZKML_NATIVE_DIR"])]
    user = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "zkml" / "native"
    return [Path(__file__).resolve().parent / "__native__", user]


def cache_root() -> Path:
    """The folder a build writes to: the first of ``cache_roots`` that is writable (or can be made)."""
    roots = cache_roots()
    for root in roots:
        probe = root if root.exists() else root.parent
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if os.access(probe, os.W_OK):
            return root
    return roots[-1]


def library_path(key: str | None = None, root: Path | None = None) -> Path:
    from importlib.machinery import EXTENSION_SUFFIXES

    return (root or cache_root()) / (key or build_key()) / (MODULE_NAME + EXTENSION_SUFFIXES[0])


def _import_library(path: Path):
    spec = importlib.util.spec_from_file_location(MODULE_NAME, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _jit_kernels() -> SimpleNamespace:
    return SimpleNamespace(**{name: getattr(importlib.import_module(mod), fn) for name, (mod, fn, _) in EXPORTS.items()},
                           native=False)


def _note(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def kernels() -> SimpleNamespace:
    """The engine's kernels by name: the compiled library, built first if this machine has none
    for this engine, or (ZKML_NATIVE=0, or no compiler) numba's JIT dispatchers."""
    global _loaded
    if _loaded is not None:
        return _loaded
    if os.environ.get("ZKML_NATIVE", "1") == "0":
        _loaded = _jit_kernels()
        return _loaded
    key = build_key()
    module = None
    for root in cache_roots():
        path = library_path(key, root)
        if path.is_file():
            try:
                module = _import_library(path)
                break
            except (ImportError, OSError):  # truncated or foreign file under our key: rebuild it
                module = None
    if module is None and not _failed_marker(key).is_file():
        module = _build_here(key, library_path(key))
    if module is None:
        _loaded = _jit_kernels()
        return _loaded
    _loaded = SimpleNamespace(**{name: getattr(module, name) for name in EXPORTS}, native=True)
    return _loaded


def _failed_marker(key: str) -> Path:
    """Written when this machine cannot build the library for ``key`` (no C compiler): later
    commands go straight to the JIT kernels instead of failing the same build again."""
    return cache_root() / f"{key}.failed"


def record_failure(key: str, why: str) -> None:
    try:
        cache_root().mkdir(parents=True, exist_ok=True)
        _failed_marker(key).write_text(why + "\n")
    except OSError:
        pass


def _build_here(key: str, path: Path):
    """Build the library now (a command on a machine where ``make install`` did not), into a
    temporary folder when the cache folder is read-only; None if it cannot be built."""
    from zkml.engines.cpu import build_native

    _note("compiling prover kernels, once per machine (a few minutes; `make install` does it ahead)")
    try:
        return _import_library(build_native.build(path.parent.parent, key))
    except OSError as e:
        where = Path(tempfile.mkdtemp(prefix="zkml-native-"))
        _note(f"note: cannot write {path.parent.parent} ({e.strerror or e}); "
              f"kernels compiled into {where} for this process only (set ZKML_CACHE_DIR to a writable folder)")
        try:
            return _import_library(build_native.build(where, key))
        except Exception as e2:  # noqa: BLE001 (any build failure: the JIT path still works)
            _note(f"note: the native kernels could not be built ({type(e2).__name__}: {e2}); using numba's JIT")
            return None
    except Exception as e:  # noqa: BLE001
        why = f"{type(e).__name__}: {str(e)[:200]}"
        record_failure(key, why)
        _note(f"note: the native kernels could not be built ({why}); using numba's JIT")
        return None
