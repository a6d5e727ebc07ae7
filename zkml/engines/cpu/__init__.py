"""CPU engine: BN254 field and curve arithmetic, MSM, NTT and the Groth16 prover in numba.

Compiled kernels are cached on disk, beside these sources when the folder is writable. numba only re-checks the source file of the function it
compiled, not of the functions inlined into it, so the cache lives in a folder named by a hash
of this whole package: editing any engine file starts a fresh cache instead of reusing stale
machine code. ``NUMBA_CACHE_DIR`` set by the user wins. numba is not imported here: commands
that find the native library (zkml/engines/cpu/native.py) never import it, so the folder is
passed through the environment numba reads when it is imported.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def _engine_cache_dir() -> str:
    here = Path(__file__).parent
    h = hashlib.sha256()
    for f in sorted(here.glob("*.py")):
        h.update(f.name.encode() + f.read_bytes())
    base = here / "__native__" / "numba"  # beside the sources, as the native module: make install's
    if not os.access(here, os.W_OK):  # warm-up then serves every process, whatever its XDG_CACHE_HOME
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "zkml" / "numba"
    return str(base / h.hexdigest()[:16])


if not os.environ.get("NUMBA_CACHE_DIR") or os.environ.get("_ZKML_NUMBA_CACHE_SET"):
    import sys

    os.environ["NUMBA_CACHE_DIR"] = _engine_cache_dir()
    os.environ["_ZKML_NUMBA_CACHE_SET"] = "1"  # ours, not the user's: a child process recomputes it
    if "numba" in sys.modules:
        sys.modules["numba"].config.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]
