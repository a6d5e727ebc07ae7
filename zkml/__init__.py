"""zkml: zero-knowledge proofs about machine-learning models (Groth16 over BN254).

The Python API (README, "Python API"): ``zkml.compile``, ``zkml.setup``, ``zkml.prove``,
``zkml.verify``, ``zkml.attest.evaluate``, ``zkml.check``; errors are ``zkml.errors`` types.
Everything is imported on first use: ``import zkml`` loads no compiler, prover or ONNX.
"""

__version__ = "0.1.0"

_API = ("compile", "setup", "prove", "verify", "check", "Bundle", "Keys", "Proof", "Verification",
        "BatchVerification", "Evaluation", "Report", "Rule")
_SUBMODULES = ("api", "attest", "errors")

__all__ = ["__version__", *_API, *_SUBMODULES]


def __getattr__(name: str):
    import importlib

    if name in _API:
        return getattr(importlib.import_module("zkml.api"), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"zkml.{name}")
    raise AttributeError(f"module 'zkml' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
