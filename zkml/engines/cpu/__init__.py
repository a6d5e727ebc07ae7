"""CPU engine: BN254 field and curve arithmetic, MSM, NTT and the Groth16 prover in numba.

Compiled kernels are cached on disk. numba only re-checks the source file of the function it
compiled, not of the functions inlined into it, so the cache lives in a folder named by a hash
of this whole package: editing any engine file starts a fresh cache instead of reusing stale
machine code. ``NUMBA_CACHE_DIR`` set by the user wins.
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
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "zkml" / "numba"
    return str(base / h.hexdigest()[:16])


if not os.environ.get("NUMBA_CACHE_DIR"):
    import numba

    numba.config.CACHE_DIR = _engine_cache_dir()
