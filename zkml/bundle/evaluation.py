"""Evaluation claims on a bundle: "this model gets at least K of these N committed samples
right, and at least K_c of class c", with every class's true positives, false negatives and
false positives, proved in one circuit (zkml/compiler/evaluate.py).

The circuit depends on the model and on N only, never on the data, so its keys are made once
per N and kept in ``BUNDLE/evaluations/n<N>/`` (circuit.r1cs, circuit.zkey,
verification_key.json, keys.json). They are reused while the freshly built R1CS hashes the same.
The dataset's salt stays with the prover in an opening file, as for committed inputs.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import numpy as np

from zkml.bundle import store
from zkml.errors import FormatError, ZkmlError
from zkml.formats.atomic import OutputSet
from zkml.formats.jsonfile import read_json
from zkml.formats.tensors import load_labelled

KEYS_FILE = "keys.json"


def _keys(bundle: Path, n: int, r1cs, ptau: Path | None, log, kind: str = "n") -> tuple[Path, Path]:
    """(zkey, vk) for the evaluation circuit of n samples (kind "chunk": one chunk of n), made or reused."""
    from zkml.formats.r1cs import write_r1cs
    from zkml.formats.snarkjs_json import write_vk
    from zkml.formats.zkey import write_zkey

    from zkml.errors import FormatError
    from zkml.formats.jsonfile import read_json

    folder = Path(bundle) / "evaluations" / f"{kind}{n}"
    r1cs_path, zkey, vk = folder / store.R1CS_FILE, folder / store.ZKEY_FILE, folder / store.VK_FILE
    with OutputSet() as outs:  # the four files change together; reused keys leave the folder untouched
        staged_r1cs = outs.stage(r1cs_path)
        write_r1cs(staged_r1cs, r1cs)
        r1cs_hash = store.sha256_file(staged_r1cs)
        try:  # a missing or unreadable record only means the keys are made again
            rec = read_json(folder / KEYS_FILE) if (folder / KEYS_FILE).exists() else {}
        except FormatError:
            rec = {}
        rec = rec if isinstance(rec, dict) else {}
        if (rec.get("r1cs_sha256") == r1cs_hash and zkey.is_file() and vk.is_file()
                and rec.get("zkey_sha256") == store.sha256_file(zkey) and rec.get("vk_sha256") == store.sha256_file(vk)):
            log(f"reusing the evaluation keys in {folder}")
            outs.discard()
            return zkey, vk
        log(f"making keys for the evaluation circuit ({r1cs.n_constraints:,} constraints) in {folder}"
            + ("" if ptau else "; development tau: insecure, for tests and demos only"))
        extra = {}
        if ptau:
            pk = store.make_keys(r1cs, ptau)
            extra["ptau_sha256"] = store.sha256_file(ptau)
        else:  # the development ptau is kept beside the keys, so `zkml audit --onnx` can check them
            from zkml.bundle.key_binding import DEV_PTAU_FILE

            pk, write_ptau = store.make_dev_keys(r1cs)
            staged_ptau = outs.stage(folder / DEV_PTAU_FILE)
            write_ptau(staged_ptau)
            del write_ptau
            extra = {"ptau_file": DEV_PTAU_FILE, "ptau_sha256": store.sha256_file(staged_ptau)}
        staged_zkey = outs.stage(zkey)
        write_zkey(staged_zkey, pk)
        staged_vk = outs.stage(vk)
        write_vk(staged_vk, pk.verifying_key())
        outs.text(folder / KEYS_FILE, json.dumps({
            "n": n, "r1cs_sha256": r1cs_hash, "zkey_sha256": store.sha256_file(staged_zkey),
            "vk_sha256": store.sha256_file(staged_vk), "phase1": str(ptau) if ptau else "development tau (insecure)",
            **extra}, indent=1) + "\n")
    return zkey, vk


def metric(counts, k: int, class_k, class_names=None) -> dict:
    """The claim's metric section: what the evaluation circuit proves, readable."""
    per_class = {"tp": list(counts.tp), "fn": list(counts.fn), "fp": list(counts.fp), "k": [int(v) for v in class_k]}
    if class_names is not None:
        per_class["names"] = list(class_names)
    return {"name": "top1", "n": counts.n, "k": int(k), "correct": counts.correct, "per_class": per_class}


def class_thresholds(class_k, counts_tp: list[int]) -> list[int]:
    """Per-class thresholds: the given ones, or (None) what the model gets (the strongest true claim)."""
    return list(counts_tp) if class_k is None else [int(v) for v in class_k]


def check_class_names(names, n_classes: int) -> list[str] | None:
    if names is None:
        return None
    names = [str(x) for x in names]
    if len(names) != n_classes:
        raise ZkmlError(f"{len(names)} class names for a model of {n_classes} classes (outputs)")
    if len(set(names)) != len(names) or any(not x for x in names):
        raise ZkmlError("class names must be distinct and non-empty")
    return names


def prove_evaluation(bundle: Path, data: Path, k: int | None, *, samples: int | None = None, ptau: Path | None = None,
                     device: str = "cpu", log=print, class_k=None, class_names=None,
                     salt: int | None = None, weights: Path | None = None) -> tuple[dict, dict]:
    """(proof, opening) for "at least k (default: as many as it gets) of the first `samples` rows
    of `data` are classified right, and at least class_k[c] (default: as many as it gets) of
    class c"; the proof is checked before it is returned. The proof dict holds the claim, the
    snarkjs proof, the public signals and the verifying key (JSON and path). ``salt`` reuses a
    dataset commitment's salt (`zkml attest renew`). ``weights``: a --weights committed bundle's
    private weights file (default BUNDLE/private/weights.npz); the claim then names the weights
    by their commitment (weights_sha256) and says ``"weights": "committed"``."""
    from zkml.compiler.compile import forward
    from zkml.compiler.evaluate import build_evaluation, counts_of
    from zkml.crypto.bn254 import R
    from zkml.formats.zkey import read_zkey
    from zkml.formats.snarkjs_json import proof_to_json

    bundle = Path(bundle)
    manifest = store.read_manifest(bundle)
    xs, ys = load_labelled(data, manifest["input"]["shape"], manifest["input"]["name"])  # checked before the model loads
    n_classes = int(np.prod(manifest["outputs"][0]["shape"]))
    class_names = check_class_names(class_names, n_classes)
    if class_k is not None and len(class_k) != n_classes:
        raise ZkmlError(f"{len(class_k)} per-class thresholds for a model of {n_classes} classes")
    compiled = store.load_compiled(bundle, manifest)
    store.load_private_weights(bundle, manifest, compiled, weights)  # --weights committed only
    if samples is not None:
        if not 1 <= samples <= len(xs):
            raise ZkmlError(f"--samples {samples}: {data} has {len(xs)} samples")
        xs, ys = xs[:samples], ys[:samples]
    n = len(xs)
    for i, y in enumerate(ys):
        if not 0 <= y < n_classes:
            raise ZkmlError(f"{data}, row {i}: label {y} is not a class of the model's {n_classes} outputs")
    if k is None or class_k is None:  # the strongest true claim: as many as the circuit's arithmetic gets right
        got = counts_of(ys, [int(np.argmax(forward(compiled, x)[0])) for x in xs], n_classes)
        if k is None:
            k = got.correct
            log(f"K = {k} (what the model gets right)")
        class_k = class_thresholds(class_k, got.tp)
    salt = secrets.randbelow(R) if salt is None else int(salt)
    log(f"building the evaluation circuit over {n} samples")
    b, counts, commitment = build_evaluation(compiled, xs, ys, k, salt, emit=True, class_k=class_k)
    r1cs = b.r1cs()
    zkey, vk_path = _keys(bundle, n, r1cs, ptau, log)
    log(f"proving {r1cs.n_constraints:,} constraints")
    from zkml.bundle.proving import prove_built

    del b  # the compile-time builder's round 2 used a stand-in challenge: prove from a values-only one

    def values():
        return build_evaluation(compiled, xs, ys, k, salt, emit=False, class_k=class_k)[0]

    proof, public = prove_built(read_zkey(zkey), values(), device=device, what=f"evaluation of {data}", rebuild=values)
    vk_json = read_json(vk_path)
    m = manifest["model"]
    # no local paths in the claim (it is signed and shared): the data set by file name only, and
    # the bundle's path beside the claim, in the document's circuit section
    claim = {"model_sha256": m["sha256"], "weights_sha256": m["weights_sha256"],
             "dataset": {"commitment": str(commitment), "n": n, "source": Path(data).name},
             "metric": metric(counts, k, class_k, class_names)}
    if compiled.config.weights == "committed":  # the weights commitment is the last public signal
        claim["weights"] = "committed"
    result = {"claim": claim, "proof": proof_to_json(proof), "public_signals": [str(v) for v in public],
              "verifying_key": vk_json, "vk_path": str(vk_path.resolve()), "bundle_path": str(Path(bundle).resolve())}
    opening = {"dataset": str(data), "dataset_sha256": store.sha256_file(data), "samples": n, "salt": str(salt),
               "commitment": str(commitment)}
    return result, opening
