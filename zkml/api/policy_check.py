"""``zkml.check``: an attestation against an insurer's policy, PASS/FAIL per rule with the
reason (``zkml check``, which calls this)."""

from __future__ import annotations

from pathlib import Path

from zkml.api.checks import existing_folder, optional_file
from zkml.api.results import Report, Rule


def check(attestation, policy, *, onnx=None, bundle=None, ptau=None, rpc: str | None = None,
          reference: bool | None = None) -> Report:
    """Test ``attestation`` (a file) against ``policy`` (a TOML file, or a read
    ``zkml.attest.policy.Policy``): one ``Rule`` per policy rule. ``onnx`` (and ``bundle``,
    ``ptau``) serve require_key_check; ``rpc`` the chain for require_onchain (default: the
    embedded chain). A rule that cannot be checked raises (``CannotCheck`` and the readers'
    errors; the CLI exits 2 for every one of them): it is never a pass."""
    from zkml.api.proofs import select_verifier
    from zkml.attest import document as D
    from zkml.attest.policy import Policy, check as check_policy, read_policy

    select_verifier(reference)
    attestation = Path(attestation)
    onnx = optional_file(onnx, "--onnx")
    ptau = optional_file(ptau, "--ptau")
    bundle = None if bundle is None else existing_folder(bundle, "--bundle")
    policy = policy if isinstance(policy, Policy) else read_policy(Path(policy))
    doc = D.read(attestation)
    chain = None
    if policy.require_onchain and doc.get("chain"):
        from zkml.evm.chain import connect

        chain = connect(rpc, expect_chain_id=doc["chain"]["chain_id"] if rpc else None, read_only=True)
    results = check_policy(doc, policy, chain, where=str(attestation), onnx_file=onnx, ptau=ptau, bundle=bundle)
    return Report(attestation, [Rule(r, ok, why) for r, ok, why in results])
