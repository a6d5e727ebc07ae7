"""Attestations: signed, versioned documents that bind a proved claim about a committed model to
its on-chain record, and the checks auditors and insurers run on them."""

# The Python API's attestation functions (zkml/api/attestations.py), loaded on first use:
# ``zkml.attest.evaluate(...)``, ``zkml.attest.keygen(...)``, ``zkml.attest.sign(...)``.
_API = ("evaluate", "keygen", "sign")


def __getattr__(name: str):
    if name in _API:
        from zkml.api import attestations

        return getattr(attestations, name)
    raise AttributeError(f"module 'zkml.attest' has no attribute {name!r}")
