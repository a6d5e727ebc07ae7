"""Inference claims: "this committed model, on this input, produced this output".

The proof file carries the claim in readable form (model, weights and verifying-key hashes, the
input values or commitment, the dequantized outputs and their argmax) next to the Groth16 proof
and its public signals. It names its bundle only by the verifying key's hash (zkml.bundle.locate
finds it). The verifier compares every field with the bundle's manifest (zkml.bundle.claim_fields)
and recomputes the public signals from the readable values, so a claim whose text disagrees with
what was proved is rejected.

Verdicts: a field that disagrees with the bundle, or a malformed file, is an ``error:`` line
naming the field (exit 1); a well-formed claim that the proof does not establish is ``INVALID``
with the reason (exit 1); a proof whose bundle cannot be found cannot be checked (exit 2).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zkml.circuit import fixedpoint
from zkml.bundle import store
from zkml.bundle.claim_fields import (PROOF_VERSION, check_claim, claim_vk_sha256, groth16_proof, input_part,
                                      load_proof, output_parts, public_signals, weights_part)
from zkml.crypto.bn254 import R, ints_to_limbs
from zkml.errors import FormatError, ZkmlError
from zkml.formats.atomic import OutputSet
from zkml.formats.snarkjs_json import proof_to_json

__all__ = ["PROOF_VERSION", "Prover", "Verdict", "check_inference", "expected_public", "load_proof",
           "prove_inference", "verify_inference", "verify_many"]


class Prover:
    """A bundle's compiled program and proving key, loaded once: what a worker keeps between
    proofs (``zkml prove-batch``). ``pk`` may be given when it is already in memory."""

    def __init__(self, bundle: Path, pk=None, weights: Path | None = None):
        from zkml.formats.zkey import read_zkey

        self.bundle = Path(bundle)
        self.manifest = store.read_manifest(self.bundle)
        self.compiled = store.load_compiled(self.bundle, self.manifest)
        store.load_private_weights(self.bundle, self.manifest, self.compiled, weights)  # --weights committed only
        zkey = store.check_file(self.bundle, self.manifest, store.ZKEY_FILE)
        self.vk_sha256 = store.sha256_file(store.check_file(self.bundle, self.manifest, store.VK_FILE))
        self.pk = pk if pk is not None else read_zkey(zkey)


def prove_inference(bundle: Path, x: np.ndarray, out_path: Path, device: str = "cpu", what: str = "input",
                    prover: Prover | None = None, weights: Path | None = None) -> dict:
    from zkml.groth16.prover import prove

    prover = prover or Prover(bundle, weights=weights)
    bundle, manifest, compiled, pk = prover.bundle, prover.manifest, prover.compiled, prover.pk
    committed = compiled.config.input_visibility == "committed"
    salt = secrets.randbelow(R) if committed else 0
    from zkml.compiler.compile import witness_rounds

    w, complete, outs = witness_rounds(compiled, x, what, salt)
    proof, public = prove(pk, ints_to_limbs(w), device=device, witness_name=what,
                          complete=complete if pk.has_lookups else None)
    outputs = []
    for (name, shape, frac), q, meta in zip(compiled.outputs, outs, manifest["outputs"]):
        vals = fixedpoint.dequantize(q, frac)
        outputs.append({"name": name, "shape": list(shape), "values": vals.ravel().tolist(),
                        "argmax": int(np.argmax(vals)), "transform": meta.get("transform")})
    doc = {
        "zkml_proof_version": PROOF_VERSION,
        "claim": {
            "kind": "inference",
            "model_sha256": manifest["model"]["sha256"],
            "weights_sha256": manifest["model"]["weights_sha256"],
            "vk_sha256": prover.vk_sha256,
            "input": _input_claim(compiled, x, _commitment(compiled, x, salt) if committed else None, committed),
            "outputs": outputs,
        },
        "proof": proof_to_json(proof),
        "public_signals": [str(v) for v in public],
    }
    with OutputSet() as outs:  # the proof and its opening appear together or not at all
        if committed:  # the opening stays with the prover: input and salt reproduce the commitment
            opening = {"input": np.asarray(x, np.float64).ravel().tolist(), "salt": str(salt),
                       "commitment": doc["claim"]["input"]["commitment"]}
            outs.text(Path(str(out_path) + ".opening.json"), json.dumps(opening) + "\n")
        outs.text(out_path, json.dumps(doc, indent=1) + "\n")
    return doc


def _input_claim(compiled, x, commitment, committed: bool) -> dict:
    from zkml.compiler.compile import quantize_input

    claim = {"name": compiled.input_name, "shape": list(compiled.input_shape),
             "visibility": compiled.config.input_visibility}
    if committed:
        claim["commitment"] = str(commitment)  # Poseidon(quantized input, salt), circomlib parameters
    else:  # dequantized: exactly the values the circuit took, so a verifier can demand the grid
        claim["values"] = fixedpoint.dequantize(quantize_input(compiled, x), compiled.input_frac).ravel().tolist()
    return claim


def _commitment(compiled, x, salt: int) -> int:
    from zkml.circuit.gadgets.poseidon import commitment_value
    from zkml.compiler.compile import quantize_input

    return commitment_value(quantize_input(compiled, x).ravel().tolist(), salt)


_load_proof = load_proof  # the old name, kept for zkml.scale.batch_prove


def expected_public(manifest: dict, claim: dict, where) -> list[int]:
    """Public signals implied by a readable claim (a proof file's, or an attestation's, which
    carries fewer output fields): outputs, then the input (its packed values or its
    commitment); in "hash" mode the one Poseidon hash of those."""
    where = str(where)
    outputs, inp = claim.get("outputs"), claim.get("input")
    if not isinstance(outputs, list) or not isinstance(inp, dict):
        raise FormatError(f"{where}: an inference claim holds 'input' (an object) and 'outputs' (a list)")
    parts = output_parts(manifest, outputs, where, exact=False)
    parts.append(input_part(manifest["input"], inp, where, exact=False))
    parts += weights_part(manifest, claim)
    return _combine(manifest, parts)


def _combine(manifest: dict, parts) -> list[int]:
    signals = [s for _, sig in parts for s in sig]
    if manifest["config"].get("public_signals", "packed") == "hash":
        from zkml.circuit.gadgets.poseidon import chain_value

        return [chain_value(signals)]
    return signals


def _mismatch(manifest: dict, parts, public: list[int], where: str) -> str | None:
    """None when the public signals are the claim's; else which claim field differs."""
    expected = _combine(manifest, parts)
    if len(public) != len(expected):
        raise FormatError(f"{where}: public_signals holds {len(public)} values, the bundle's circuit has {len(expected)}")
    if public == expected:
        return None
    if manifest["config"].get("public_signals", "packed") == "hash":
        return "the claim's outputs and input do not hash to public_signals[0]: the proof is for other values"
    at = 0
    for name, sig in parts:
        if public[at:at + len(sig)] != sig:
            return f"{name} do not match public_signals[{at}:{at + len(sig)}]: the proof is for other values"
        at += len(sig)
    return "the claim does not match its public signals"  # not reached: some part differs


@dataclass
class Verdict:
    """What `zkml verify` says about one proof file, and the bundle it was checked against."""

    ok: bool
    claim: dict
    reason: str
    bundle: Path
    doc: dict  # the whole proof file as read (claim, proof, public signals)


def check_inference(path: Path, bundle: Path | None = None) -> Verdict:
    """Every claim field against the bundle (found by its key's hash when not given), the
    public signals against the claim, then the proof. Malformed or mislabelled files raise."""
    from zkml.bundle.locate import find_bundle
    from zkml.formats.snarkjs_json import read_vk
    from zkml.groth16.malformed import MalformedProof
    from zkml.groth16.verifying import verify

    path = Path(path)
    where = str(path)
    doc = load_proof(path)
    vk_sha = claim_vk_sha256(doc, where)
    bundle = Path(bundle) if bundle is not None else find_bundle(path, vk_sha)
    manifest = store.read_manifest(bundle)
    vk_path = store.check_file(bundle, manifest, store.VK_FILE)
    parts = check_claim(doc, manifest, store.sha256_file(vk_path), bundle, where)
    public = public_signals(doc, where)
    proof = groth16_proof(doc, where)
    reason = _mismatch(manifest, parts, public, where)
    if reason:
        return Verdict(False, doc["claim"], reason, bundle, doc)
    vk = read_vk(vk_path)
    try:
        ok = verify(vk, public, proof)
    except MalformedProof as e:  # a point off the curve or outside the subgroup: name the file
        raise FormatError(f"{where}: {e}") from None
    return Verdict(ok, doc["claim"], "the proof verifies" if ok else
                   "the Groth16 proof does not verify for these public signals", bundle, doc)


def verify_inference(path: Path, bundle: Path | None = None) -> tuple[bool, dict]:
    """(valid, claim): ``check_inference`` without the reason."""
    v = check_inference(path, bundle)
    return v.ok, v.claim


def verify_many(paths: list[Path], bundle: Path | None = None) -> tuple[list[Path], list[tuple[Path, str]]]:
    """(valid, [(invalid, reason)]) for proof files of one bundle, with one batched pairing check
    (zkml.groth16.batch_verify) and single checks only to name the bad proofs. The bundle is
    found from the first readable proof when not given; a proof of another key is refused."""
    from zkml.bundle.locate import find_bundle
    from zkml.formats.snarkjs_json import read_vk
    from zkml.groth16.verifying import verify_batch

    if not paths:
        raise ZkmlError("no proof files to verify")
    bad: list[tuple[Path, str]] = []
    items, item_paths = [], []
    manifest = vk_path = vk_sha = None
    for path in paths:
        where = str(path)
        try:
            doc = load_proof(path)
            claim_sha = claim_vk_sha256(doc, where)
        except ZkmlError as e:
            bad.append((path, _reason(e, where)))
            continue
        if manifest is None:
            bundle = Path(bundle) if bundle is not None else find_bundle(path, claim_sha)
            manifest = store.read_manifest(bundle)
            vk_path = store.check_file(bundle, manifest, store.VK_FILE)
            vk_sha = store.sha256_file(vk_path)
        if claim_sha != vk_sha:
            raise ZkmlError(f"{path}: made with another bundle or key than {bundle}; verify each bundle's proofs apart")
        try:
            parts = check_claim(doc, manifest, vk_sha, bundle, where)
            public = public_signals(doc, where)
            proof = groth16_proof(doc, where)
            reason = _mismatch(manifest, parts, public, where)
        except ZkmlError as e:
            bad.append((path, _reason(e, where)))
            continue
        if reason:
            bad.append((path, reason))
            continue
        items.append((public, proof))
        item_paths.append(path)
    if items:
        _, bad_idx = verify_batch(read_vk(vk_path), items)
        bad += [(item_paths[i], "the proof does not verify") for i in bad_idx]
    bad_set = {p for p, _ in bad}
    return [p for p in paths if p not in bad_set], bad


def _reason(e: ZkmlError, where: str) -> str:
    return str(e).removeprefix(f"{where}: ")
