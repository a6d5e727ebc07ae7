"""Evaluation claims on a bundle: "this model gets at least K of these N committed samples
right", proved in one circuit (zkml/compiler/evaluate.py).

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
from zkml.errors import ZkmlError
from zkml.formats.binfile import write_atomic_text

KEYS_FILE = "keys.json"


def load_labelled(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(samples, integer labels) from an .npz holding 'x' and 'y' (or 'labels')."""
    path = Path(path)
    try:
        data = np.load(path)
        xs = data["x"]
        ys = data["y"] if "y" in data else data["labels"]
    except (OSError, ValueError) as e:
        raise ZkmlError(f"{path}: cannot read the test set ({e})") from None
    except KeyError:
        raise ZkmlError(f"{path}: a test set needs arrays 'x' (samples) and 'y' (integer labels)") from None
    if len(xs) != len(ys):
        raise ZkmlError(f"{path}: {len(xs)} samples but {len(ys)} labels")
    if ys.dtype.kind not in "iu" and not np.array_equal(ys, np.round(ys)):
        raise ZkmlError(f"{path}: labels 'y' must be integers (class indices)")
    return np.asarray(xs, np.float64), np.asarray(ys, np.int64)


def _keys(bundle: Path, n: int, r1cs, ptau: Path | None, log, kind: str = "n") -> tuple[Path, Path]:
    """(zkey, vk) for the evaluation circuit of n samples (kind "chunk": one chunk of n), made or reused."""
    from zkml.formats.r1cs import write_r1cs
    from zkml.formats.snarkjs_json import write_vk
    from zkml.formats.zkey import write_zkey

    folder = Path(bundle) / "evaluations" / f"{kind}{n}"
    folder.mkdir(parents=True, exist_ok=True)
    r1cs_path, zkey, vk = folder / store.R1CS_FILE, folder / store.ZKEY_FILE, folder / store.VK_FILE
    write_r1cs(r1cs_path, r1cs)
    r1cs_hash = store.sha256_file(r1cs_path)
    try:
        rec = json.loads((folder / KEYS_FILE).read_text())
    except (OSError, ValueError):
        rec = {}
    if (rec.get("r1cs_sha256") == r1cs_hash and zkey.exists() and vk.exists()
            and rec.get("zkey_sha256") == store.sha256_file(zkey) and rec.get("vk_sha256") == store.sha256_file(vk)):
        log(f"reusing the evaluation keys in {folder}")
        return zkey, vk
    log(f"making keys for the evaluation circuit ({r1cs.n_constraints:,} constraints) in {folder}"
        + ("" if ptau else "; development tau: insecure, for tests and demos only"))
    pk = store.make_keys(r1cs, ptau)
    write_zkey(zkey, pk)
    write_vk(vk, pk.verifying_key())
    write_atomic_text(folder / KEYS_FILE, json.dumps({
        "n": n, "r1cs_sha256": r1cs_hash, "zkey_sha256": store.sha256_file(zkey), "vk_sha256": store.sha256_file(vk),
        "phase1": str(ptau) if ptau else "development tau (insecure)"}, indent=1) + "\n")
    return zkey, vk


def prove_evaluation(bundle: Path, data: Path, k: int | None, *, samples: int | None = None, ptau: Path | None = None,
                     device: str = "cpu", log=print) -> tuple[dict, dict]:
    """(proof, opening) for "at least k (default: as many as it gets) of the first `samples` rows
    of `data` are classified right"; the proof is checked before it is returned. The proof dict holds the claim, the
    snarkjs proof, the public signals and the verifying key (JSON and path)."""
    from zkml.compiler.evaluate import build_evaluation
    from zkml.crypto.bn254 import R, ints_to_limbs
    from zkml.formats.zkey import read_zkey
    from zkml.formats.snarkjs_json import proof_to_json
    from zkml.groth16.prover import prove

    bundle = Path(bundle)
    manifest = store.read_manifest(bundle)
    compiled = store.load_compiled(bundle, manifest)
    xs, ys = load_labelled(data)
    if samples is not None:
        if not 1 <= samples <= len(xs):
            raise ZkmlError(f"--samples {samples}: {data} has {len(xs)} samples")
        xs, ys = xs[:samples], ys[:samples]
    n = len(xs)
    if k is None:  # the strongest true claim: as many as the circuit's arithmetic gets right
        from zkml.compiler.compile import forward

        k = sum(int(np.argmax(forward(compiled, x)[0]) == y) for x, y in zip(xs, ys))
        log(f"K = {k} (what the model gets right)")
    salt = secrets.randbelow(R)
    log(f"building the evaluation circuit over {n} samples")
    b, count, commitment = build_evaluation(compiled, xs, ys, k, salt, emit=True)
    if count < k:
        raise ZkmlError(f"the model gets {count} of {n} right, fewer than K = {k}: the claim is false and cannot be proved")
    r1cs = b.r1cs()
    zkey, vk_path = _keys(bundle, n, r1cs, ptau, log)
    log(f"proving {r1cs.n_constraints:,} constraints")
    proof, public = prove(read_zkey(zkey), ints_to_limbs(b.witness()), device=device, witness_name=f"evaluation of {data}")
    vk_json = json.loads(vk_path.read_text())
    m = manifest["model"]
    claim = {"model_sha256": m["sha256"], "weights_sha256": m["weights_sha256"], "bundle": str(bundle),
             "dataset": {"commitment": str(commitment), "n": n, "source": str(data)},
             "metric": {"name": "top1", "n": n, "k": k, "correct": count}}
    result = {"claim": claim, "proof": proof_to_json(proof), "public_signals": [str(v) for v in public],
              "verifying_key": vk_json, "vk_path": str(vk_path.resolve())}
    opening = {"dataset": str(data), "dataset_sha256": store.sha256_file(data), "samples": n, "salt": str(salt),
               "commitment": str(commitment)}
    return result, opening
