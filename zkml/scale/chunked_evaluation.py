"""Evaluation claims over test sets too large for one circuit: chunks proved on Ray, bound by a
Merkle root.

Each chunk of `chunk_size` samples is proved by the evaluation circuit with its index under its
Poseidon commitment and public (public signals [count, index, chunk_size, 0, commitment]). The
test set's commitment is the Merkle root (Poseidon 2-to-1, zero-padded to a power of two) of the
chunk commitments in index order. The claim [correct, N, K, root] holds when every chunk proof
verifies (one batched pairing check), the indices are exactly 0..m-1 once each, the chunk
commitments rebuild the root, m * chunk_size = N, and the counts add up to `correct` >= K.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import numpy as np

from zkml.errors import ZkmlError


def merkle_root(leaves: list[int]) -> int:
    from zkml.crypto.poseidon import poseidon

    level = list(leaves)
    while len(level) & (len(level) - 1):
        level.append(0)
    while len(level) > 1:
        level = [poseidon([level[i], level[i + 1]]) for i in range(0, len(level), 2)]
    return level[0]


def make_chunk_worker(ray):
    @ray.remote(num_cpus=1, max_restarts=2, max_task_retries=2,
                runtime_env={"env_vars": {"NUMBA_NUM_THREADS": "1"}})
    class ChunkProver:
        """Holds the compiled model and the chunk circuit's proving key."""

        def __init__(self, bundle: str, pk):
            from zkml.bundle import store

            self.compiled = store.load_compiled(Path(bundle))
            self.pk = pk

        def prove(self, xs, ys, index: int, salt: int):
            from zkml.bundle.proving import prove_built
            from zkml.compiler.evaluate import build_evaluation
            from zkml.formats.snarkjs_json import proof_to_json

            def values():
                return build_evaluation(self.compiled, xs, ys, 0, salt, emit=False, chunk_index=index)[0]

            proof, public = prove_built(self.pk, values(), what=f"chunk {index}", rebuild=values)
            return {"index": index, **proof_to_json(proof), "public_signals": [str(v) for v in public]}

    return ChunkProver


def prove_chunked(bundle: Path, data: Path, k: int | None, chunk_size: int, *, samples: int | None = None,
                  ptau: Path | None = None, workers: int = 2, address: str | None = None, log=print) -> tuple[dict, dict]:
    """(result, opening) like ``prove_evaluation``'s, with ``result["chunks"]`` the chunk proofs."""
    from zkml.bundle import store
    from zkml.bundle.evaluation import _keys
    from zkml.compiler.compile import forward
    from zkml.compiler.evaluate import build_evaluation, commitment_of
    from zkml.crypto.bn254 import R
    from zkml.formats.tensors import load_labelled
    from zkml.formats.zkey import read_zkey
    from zkml.scale.cluster import check_reachable, ray_session

    if address:
        check_reachable(address)
    bundle = Path(bundle)
    manifest = store.read_manifest(bundle)
    xs, ys = load_labelled(data, manifest["input"]["shape"], manifest["input"]["name"])  # checked before the model loads
    compiled = store.load_compiled(bundle, manifest)
    n = samples or len(xs)
    if n > len(xs):
        raise ZkmlError(f"--samples {n}: {data} has {len(xs)} samples")
    if chunk_size < 1 or n % chunk_size:
        raise ZkmlError(f"{n} samples do not split into chunks of {chunk_size}; choose --samples as a multiple of --chunk-size")
    xs, ys = xs[:n], ys[:n]
    n_classes = int(np.prod(manifest["outputs"][0]["shape"]))
    for i, y in enumerate(ys):
        if not 0 <= y < n_classes:
            raise ZkmlError(f"{data}, row {i}: label {y} is not a class of the model's {n_classes} outputs")
    correct = sum(int(np.argmax(forward(compiled, x)[0]) == y) for x, y in zip(xs, ys))
    k = correct if k is None else k
    if correct < k:
        raise ZkmlError(f"the model gets {correct} of {n} right, fewer than K = {k}: the claim is false and cannot be proved")
    m = n // chunk_size
    b, _, _ = build_evaluation(compiled, xs[:chunk_size], ys[:chunk_size], 0, 0, emit=True, chunk_index=0)
    zkey, vk_path = _keys(bundle, chunk_size, b.r1cs(), ptau, log, kind="chunk")
    salts = [secrets.randbelow(R) for _ in range(m)]
    pk = read_zkey(zkey)
    chunks = []
    t0 = time.perf_counter()
    with ray_session(address, workers) as ray:
        pk_ref = ray.put(pk)
        Worker = make_chunk_worker(ray)
        actors = [Worker.remote(str(bundle.resolve()), pk_ref) for _ in range(min(workers, m))]
        refs = [actors[i % len(actors)].prove.remote(xs[i * chunk_size:(i + 1) * chunk_size],
                                                     ys[i * chunk_size:(i + 1) * chunk_size], i, salts[i])
                for i in range(m)]
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            chunks.append(ray.get(ready[0]))
            done = len(chunks)
            rate = done / (time.perf_counter() - t0)
            log(f"{done}/{m} chunks, ETA {(m - done) / rate:.0f} s")
    chunks.sort(key=lambda ch: ch["index"])
    leaves = [int(ch["public_signals"][4]) for ch in chunks]
    for i in (0, m - 1):  # the workers committed to what the driver holds
        sl = slice(i * chunk_size, (i + 1) * chunk_size)
        if commitment_of(compiled, xs[sl], ys[sl], n_classes, salts[i], chunk_index=i) != leaves[i]:
            raise ZkmlError(f"chunk {i}: its commitment differs from the data's; nothing written")
    root = merkle_root(leaves)
    from zkml.formats.jsonfile import read_json

    vk_json = read_json(vk_path)
    claim = {"model_sha256": manifest["model"]["sha256"], "weights_sha256": manifest["model"]["weights_sha256"],
             "dataset": {"commitment": str(root), "n": n, "source": Path(data).name,
                                                "chunks": m, "chunk_size": chunk_size},
             "metric": {"name": "top1", "n": n, "k": k, "correct": correct}}
    result = {"claim": claim, "proof": {"chunks": chunks}, "public_signals": [str(correct), str(n), str(k), str(root)],
              "verifying_key": vk_json, "vk_path": str(vk_path.resolve()), "bundle_path": str(Path(bundle).resolve())}
    opening = {"dataset": str(data), "dataset_sha256": store.sha256_file(data), "samples": n, "chunk_size": chunk_size,
               "salts": [str(s) for s in salts], "commitment": str(root)}
    return result, opening


def check_chunks(doc: dict, where: str) -> tuple[bool, str]:
    """(valid, reason) for a chunked evaluation document (see the module docstring)."""
    from zkml.formats.snarkjs_json import proof_from_json, vk_from_json
    from zkml.groth16.verifying import verify_batch

    c = doc["claim"]
    d, m = c["dataset"], c["metric"]
    chunks = doc["proof"]["chunks"]
    size, count = d["chunk_size"], d["chunks"]
    indices = [ch.get("index") for ch in chunks]
    if sorted(indices) != list(range(count)) or len(chunks) != count:
        missing = sorted(set(range(count)) - set(indices))
        dup = sorted({i for i in indices if indices.count(i) > 1})
        return False, f"chunks missing {missing} or repeated {dup} (expected each of 0..{count - 1} once)"
    if count * size != m["n"]:
        return False, f"{count} chunks of {size} are not n = {m['n']} samples"
    items, leaves, total = [], {}, 0
    for ch in chunks:
        pub = [int(v) for v in ch["public_signals"]]
        if len(pub) != 5 or pub[1] != ch["index"] or pub[2] != size or pub[3] != 0:
            return False, f"chunk {ch['index']}: its public signals are not [count, {ch['index']}, {size}, 0, commitment]"
        total += pub[0]
        leaves[ch["index"]] = pub[4]
        items.append((pub, proof_from_json(ch, where, f"chunk {ch['index']} ")))
    if total != m["correct"]:
        return False, f"the chunk counts add up to {total}, the claim says {m['correct']}"
    if merkle_root([leaves[i] for i in range(count)]) != int(d["commitment"]):
        return False, "the chunk commitments do not rebuild the dataset's Merkle root"
    ok, bad = verify_batch(vk_from_json(doc["circuit"]["verifying_key"], where), items)
    if not ok:
        return False, f"chunk proof(s) {[chunks[i]['index'] for i in bad]} do not verify"
    return True, f"{count} chunk proofs verify and rebuild the dataset root"
