"""Attestations: signed, versioned documents that bind a proved claim about a committed model to
its on-chain record, and the checks auditors and insurers run on them."""
