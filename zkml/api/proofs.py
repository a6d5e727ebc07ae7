"""``zkml.prove`` and ``zkml.verify``: inference proofs of a bundle's model, and their check
(in Python, or on an EVM chain). The names and defaults are the CLI's; the CLI calls these."""

from __future__ import annotations

import time
from pathlib import Path

from zkml.api.checks import choice, existing_folder, optional_file
from zkml.api.results import BatchVerification, Proof, Verification, usage
from zkml.errors import ZkmlError


def select_verifier(reference: bool | None) -> None:
    """--reference: py_ecc (the independent reference) instead of the engine's pairing; None
    leaves the current choice (the CLI's option sets it before the command runs)."""
    if reference is not None:
        from zkml.groth16.verifying import ENGINE, REFERENCE, select

        select(REFERENCE if reference else ENGINE)


def _input_tensor(value, manifest: dict):
    """(tensor in the input's shape, the name errors use) from a file (.npz, .npy, .json) or an array."""
    from zkml.formats.tensors import finite, fits, load_input, shape_error

    inp = manifest["input"]
    if isinstance(value, (str, Path)):
        from zkml.api.checks import existing_file

        path = existing_file(value, "--input")
        return load_input(path, inp["shape"], inp["name"]), str(path), path
    import numpy as np

    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ZkmlError(f"input: not an array of numbers ({e})") from None
    if not fits(arr.shape, inp["shape"]):
        raise shape_error("input array", inp["name"], arr.shape, inp["shape"])
    return finite(arr, "input array").reshape(tuple(inp["shape"])), "input array", None


def prove(bundle, input, *, output="proof.json", device: str = "cpu", weights=None,  # noqa: A002
          reference: bool | None = None) -> Proof:
    """Prove an inference of ``bundle``'s model on ``input`` (a file, or an array of the input's
    shape); writes the claim and proof to ``output`` (and, for a committed input, its opening
    beside it). The proof is checked before it is written. ``weights``: a committed-weights
    bundle's private weights file (default BUNDLE/private/weights.npz)."""
    from zkml.bundle import store
    from zkml.compiler.input_range import check_input_range

    t0 = time.perf_counter()
    select_verifier(reference)
    bundle = existing_folder(bundle, "BUNDLE")
    choice(device, "--device", ("cpu", "gpu", "auto"))
    out = Path(output)
    manifest = store.read_manifest(bundle)  # manifest and input are checked before anything heavy is imported
    x, what, input_file = _input_tensor(input, manifest)
    check_input_range(manifest["input"].get("range"), x, what)
    from zkml.bundle.claims import prove_inference

    refuse_prove_overlap(bundle, input_file, out)
    doc = prove_inference(bundle, x, out, device, what=what, weights=weights)
    c = doc["claim"]
    opening = [Path(str(out) + ".opening.json")] if c["input"].get("visibility") == "committed" else []
    return Proof(out, bundle, what, c["model_sha256"], c["vk_sha256"], c["outputs"], [out] + opening, doc, *usage(t0))


def refuse_prove_overlap(bundle: Path, input_file: Path | None, proof: Path) -> None:
    """The proof (and a committed input's opening beside it) may be neither the input nor inside the bundle."""
    from zkml.bundle import store
    from zkml.formats.atomic import refuse_overlap

    committed = store.read_manifest(bundle)["input"].get("visibility") == "committed"
    refuse_overlap([proof, Path(str(proof) + ".opening.json") if committed else None], [bundle, input_file])


def verify(proof, *, batch: bool = False, bundle=None, onchain: bool = False, address: str | None = None,
           rpc: str | None = None, private_key_file=None, reference: bool | None = None):
    """Check an inference proof file against its bundle's verifying key (the bundle found by the
    key's hash beside the proof, in its parent folder or in circuits/, unless given), and with
    ``onchain`` with the Solidity verifier on an EVM chain. Returns a ``Verification`` (``valid``
    False, with the reason, for a claim the proof does not establish); a malformed or mislabelled
    file raises ``FormatError``/``ZkmlError``, one that cannot be checked ``CannotCheck``/``Unreadable``.
    A folder (or ``batch``) is checked as a batch: ``BatchVerification``."""
    select_verifier(reference)
    proof = Path(proof)
    if not proof.exists():
        from zkml.errors import Unreadable

        raise Unreadable(f"{proof}: no such file (PROOF_FILE)")
    bundle = None if bundle is None else existing_folder(bundle, "--bundle")
    if batch or proof.is_dir():
        return verify_batch(proof, bundle)
    private_key_file = optional_file(private_key_file, "--private-key-file")
    if onchain:
        from zkml.evm.onchain import verify_onchain

        r = verify_onchain(proof, bundle, rpc, private_key_file, address)
        ok = r["onchain"] and r["local"]
        reason = r["reason"] if not r["local"] or r["onchain"] else "the on-chain verifier returns false"
        return Verification(ok, proof, reason, r["bundle"], local=r["local"],
                            onchain={k: r[k] for k in ("chain_id", "rpc", "address")} | {
                                "valid": r["onchain"], "gas_used": r["gas"], "gas_source": r["gas_source"]})
    from zkml.bundle.claims import check_inference

    v = check_inference(proof, bundle)
    c = v.claim
    return Verification(v.ok, proof, v.reason, v.bundle, c["model_sha256"], c["vk_sha256"], c["outputs"], claim=c)


def verify_batch(proof: Path, bundle: Path | None = None) -> BatchVerification:
    """Every proof file in a folder (or the one file) of one bundle, in one batched pairing check;
    the bad ones named, those that cannot be read apart."""
    from zkml.bundle.claims import verify_many

    files = batch_files(proof)
    t0 = time.perf_counter()
    good, bad = verify_many(files, bundle)
    unread = [(p, why) for p, why in bad if _unreadable(p)]
    invalid = [(p, why) for p, why in bad if (p, why) not in unread]
    return BatchVerification(len(files), good, invalid, unread, bad, *usage(t0))


def batch_files(proof) -> list[Path]:
    """The proof files a batch check reads: a folder's *.proof.json, or the one file."""
    from zkml.scale.batch_prove import SUFFIX

    proof = Path(proof)
    return sorted(proof.glob(f"*{SUFFIX}")) if proof.is_dir() else [proof]


def _unreadable(path: Path) -> bool:
    """Whether a proof file batch verification refused is one that cannot be read at all (the
    batch reports reasons only; the one file is read again to tell)."""
    from zkml.bundle.claim_fields import PROOF_MAX_BYTES
    from zkml.errors import Unreadable
    from zkml.formats.jsonfile import read_json

    try:
        read_json(path, max_bytes=PROOF_MAX_BYTES)
    except Unreadable:
        return True
    except ZkmlError:
        pass
    return False
