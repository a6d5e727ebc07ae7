"""Compile the engine's kernels (``native.EXPORTS``) into one shared library with numba's pycc.

    python -m zkml.engines.cpu.build_native      (``make install`` runs it)

It also warms numba's on-disk cache for the setup kernels, which stay JIT-compiled.

pycc has no ``parallel=True`` and its wrappers hold the GIL; the kernels are serial over a
``[lo, hi)`` range (zkml/engines/cpu/threads.py) and we compile them with numba's
``release_gil`` flag set, so Python threads run them on every core. The library is built in a
temporary folder and renamed into ``<cache>/<key>/``, so a concurrent or interrupted build never
leaves a half-written library under the key.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from zkml.engines.cpu import native


def _release_gil_flags() -> None:
    """pycc makes its own compiler Flags; a subclass with release_gil on makes every exported
    wrapper drop the GIL around the compiled body."""
    import numba.pycc.compiler as pycc_compiler
    from numba.core.compiler import Flags

    if getattr(pycc_compiler.Flags, "_zkml_nogil", False):
        return

    class NoGilFlags(Flags):
        _zkml_nogil = True

        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self.release_gil = True

    pycc_compiler.Flags = NoGilFlags


def build(root: Path, key: str | None = None) -> Path:
    """Compile every export into ``root/<key>/`` and return the library's path."""
    from numba.pycc import CC

    key = key or native.build_key()
    final = native.library_path(key, root)
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".build-{key}-", dir=root))
    try:
        _release_gil_flags()
        cc = CC(native.MODULE_NAME)
        cc.output_dir = str(work)
        cc.target_cpu = "host"
        cc.verbose = False
        for name, (mod, fn, sig) in native.EXPORTS.items():
            f = getattr(importlib.import_module(mod), fn)
            cc.export(name, sig)(getattr(f, "py_func", f))
        with tempfile.TemporaryDirectory(prefix="zkml-pycc-") as tmp:
            old = os.getcwd()
            os.chdir(tmp)  # pycc leaves object files in the working directory
            try:
                cc.compile()
            finally:
                os.chdir(old)
        built = work / final.name
        if not built.is_file():
            raise RuntimeError(f"pycc wrote no {final.name} in {work}")
        dest = final.parent
        staged = work / "lib"
        staged.mkdir()
        built.rename(staged / final.name)
        try:
            staged.rename(dest)
        except OSError:
            if not final.is_file():  # another process's build landed first: keep that one
                raise
        return final
    finally:
        shutil.rmtree(work, ignore_errors=True)


def prune(root: Path, keep: str) -> None:
    """Remove libraries built for other keys (older engine sources or versions); numba's JIT
    cache (``numba/``, see zkml/engines/cpu/__init__.py) stays."""
    if root.is_dir():
        for d in root.iterdir():
            if d.is_dir() and d.name not in (keep, "numba") and not d.name.startswith(".build-"):
                shutil.rmtree(d, ignore_errors=True)


def warm_setup_kernels() -> None:
    """Setup's and contributions' kernels (batch.py, qap_eval.py) are numba JIT kernels with an
    on-disk cache: one tiny key makes numba compile and cache them now, so no later ``setup``
    or ``contribute`` waits for the compiler."""
    import numpy as np

    from zkml.crypto.bn254 import ints_to_limbs
    from zkml.groth16 import setup
    from zkml.groth16.contribute import contribute
    from zkml.r1cs import R1CS, SparseMatrix

    def one(col):
        return SparseMatrix(np.array([0], np.uint32), np.array([col], np.uint32), ints_to_limbs([1]))

    r1cs = R1CS(n_wires=4, n_pub_out=1, n_pub_in=0, n_prv_in=2, n_constraints=1, a=one(2), b=one(3), c=one(1))
    contribute(setup.setup_from_secrets(r1cs, setup.DevTau.random()), name="warm-up")


def main() -> None:
    key = native.build_key()
    path = native.library_path(key)
    if "--force" in sys.argv:
        native._failed_marker(key).unlink(missing_ok=True)
    if path.is_file() and "--force" not in sys.argv:
        print(f"native kernels up to date: {path}")
        warm_setup_kernels()
        return
    t0 = time.perf_counter()
    print(f"compiling prover kernels, once per machine ({len(native.EXPORTS)} entry points)...", flush=True)
    try:
        path = build(path.parent.parent, key)
    except Exception as e:  # noqa: BLE001 (no C compiler, say: the JIT kernels still work)
        why = f"{type(e).__name__}: {str(e).strip().splitlines()[-1][:200] if str(e).strip() else ''}"
        native.record_failure(key, why)
        print(f"note: the native kernels could not be built ({why}); the engine will use numba's JIT "
              "kernels (slower start-up). Install a C compiler and run this again.", flush=True)
        warm_setup_kernels()
        return
    prune(path.parent.parent, key)
    native._failed_marker(key).unlink(missing_ok=True)
    print(f"wrote {path} in {time.perf_counter() - t0:.0f} s; compiling setup kernels...", flush=True)
    warm_setup_kernels()


if __name__ == "__main__":
    main()
