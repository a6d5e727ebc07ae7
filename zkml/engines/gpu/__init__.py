"""The GPU engine: numba-cuda kernels (field.py, curve.py, msm.py, ntt.py, prover.py).

Without a GPU the same kernels run in numba-cuda's simulator (NUMBA_ENABLE_CUDASIM=1): exact,
slow, and how CI proves them. ``status()`` says whether a device can be used and why not.
"""

from __future__ import annotations

import os

INSTALL_HINT = "install the GPU extra with `pip install 'zkml[gpu]'`"


def simulated() -> bool:
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def status() -> tuple[bool, str]:
    """(usable, description): a real device, the simulator, or what is missing."""
    try:
        from numba import cuda
    except ImportError:
        return False, f"numba-cuda is not installed; {INSTALL_HINT}"
    if simulated():
        return True, "numba-cuda's CUDA simulator (NUMBA_ENABLE_CUDASIM=1): exact but slow"
    try:
        if not cuda.is_available():
            return False, "no CUDA driver or device found (numba-cuda cannot initialise CUDA)"
        dev = cuda.get_current_device()
    except Exception as e:  # driver errors come in many types
        return False, f"CUDA is not usable here ({str(e).splitlines()[0][:120]})"
    name = dev.name.decode() if isinstance(dev.name, bytes) else dev.name
    return True, f"{name} (compute capability {dev.compute_capability[0]}.{dev.compute_capability[1]})"
