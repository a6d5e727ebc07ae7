"""Evaluation claims over test sets too large for one circuit: chunks proved on Ray, bound by a
Merkle root.

Each chunk of `chunk_size` samples is proved by the evaluation circuit with its index under its
Poseidon commitment and public, and zero thresholds (public signals [packed per-class counts,
index, chunk_size, packed zeros, commitment], zkml/compiler/evaluation_signals.py). The test
set's commitment is the Merkle root (Poseidon 2-to-1, zero-padded to a power of two) of the chunk
commitments in index order. The claim (the same signals over N, with the root as commitment and
no index) holds when every chunk proof verifies (one batched pairing check), the indices are
exactly 0..m-1 once each, the chunk commitments rebuild the root, m * chunk_size = N, and every
class's TP, FN and FP, unpacked from the chunks' public counts, add up to the claim's, whose
thresholds K <= sum TP and K_c <= TP_c the document check enforces. With --weights committed
every chunk publishes the weights commitment last, and each must be the claim's.
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

        def __init__(self, bundle: str, pk, weights: str | None = None):
            from zkml.bundle import store

            manifest = store.read_manifest(Path(bundle))
            self.compiled = store.load_compiled(Path(bundle), manifest)
            store.load_private_weights(Path(bundle), manifest, self.compiled, Path(weights) if weights else None)
            self.pk = pk

        def prove(self, xs, ys, index: int, salt: int):  # thresholds 0: the aggregate carries them
            from zkml.bundle.proving import prove_built
            from zkml.compiler.evaluate import build_evaluation
            from zkml.formats.snarkjs_json import proof_to_json

            def values():
                return build_evaluation(self.compiled, xs, ys, 0, salt, emit=False, chunk_index=index)[0]

            proof, public = prove_built(self.pk, values(), what=f"chunk {index}", rebuild=values)
            return {"index": index, **proof_to_json(proof), "public_signals": [str(v) for v in public]}

    return ChunkProver


def prove_chunked(bundle: Path, data: Path, k: int | None, chunk_size: int, *, samples: int | None = None,
                  ptau: Path | None = None, workers: int = 2, address: str | None = None, log=print,
                  class_k=None, class_names=None, salts: list[int] | None = None,
                  weights: Path | None = None) -> tuple[dict, dict]:
    """(result, opening) like ``prove_evaluation``'s, with ``result["chunks"]`` the chunk proofs;
    ``salts`` reuses the chunk commitments' salts (`zkml attest renew`); ``weights`` a
    --weights committed bundle's private weights file (default BUNDLE/private/weights.npz)."""
    from zkml.bundle import store
    from zkml.bundle.evaluation import _keys, check_class_names, class_thresholds, metric
    from zkml.compiler.compile import forward
    from zkml.compiler.evaluate import build_evaluation, commitment_of, counts_of
    from zkml.compiler.evaluation_signals import n_count_elements, public_signals, unpack_counts
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
    store.load_private_weights(bundle, manifest, compiled, weights)  # --weights committed only
    committed = compiled.config.weights == "committed"
    n = samples or len(xs)
    if n > len(xs):
        raise ZkmlError(f"--samples {n}: {data} has {len(xs)} samples")
    if chunk_size < 1 or n % chunk_size:
        raise ZkmlError(f"{n} samples do not split into chunks of {chunk_size}; choose --samples as a multiple of --chunk-size")
    xs, ys = xs[:n], ys[:n]
    n_classes = int(np.prod(manifest["outputs"][0]["shape"]))
    class_names = check_class_names(class_names, n_classes)
    for i, y in enumerate(ys):
        if not 0 <= y < n_classes:
            raise ZkmlError(f"{data}, row {i}: label {y} is not a class of the model's {n_classes} outputs")
    got = counts_of(ys, [int(np.argmax(forward(compiled, x)[0])) for x in xs], n_classes)
    k = got.correct if k is None else k
    if got.correct < k:
        raise ZkmlError(f"the model gets {got.correct} of {n} right, fewer than K = {k}: the claim is false and cannot be proved")
    if class_k is not None and len(class_k) != n_classes:
        raise ZkmlError(f"{len(class_k)} per-class thresholds for a model of {n_classes} classes")
    class_k = class_thresholds(class_k, got.tp)
    for cls, (t, want) in enumerate(zip(got.tp, class_k)):
        if t < want:
            raise ZkmlError(f"class {cls}: the model gets {t} of its samples right, fewer than K_{cls} = {want}: "
                            "the claim is false and cannot be proved")
    m = n // chunk_size
    b, _, _ = build_evaluation(compiled, xs[:chunk_size], ys[:chunk_size], 0, 0, emit=True, chunk_index=0)
    zkey, vk_path = _keys(bundle, chunk_size, b.r1cs(), ptau, log, kind="chunk")
    if salts is not None and len(salts) != m:
        raise ZkmlError(f"the opening holds {len(salts)} salts for {m} chunks")
    salts = [secrets.randbelow(R) for _ in range(m)] if salts is None else [int(s) for s in salts]
    pk = read_zkey(zkey)
    chunks = []
    t0 = time.perf_counter()
    with ray_session(address, workers) as ray:
        pk_ref = ray.put(pk)
        Worker = make_chunk_worker(ray)
        actors = [Worker.remote(str(bundle.resolve()), pk_ref, str(Path(weights).resolve()) if weights else None)
                  for _ in range(min(workers, m))]
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
    leaf = -2 if committed else -1  # the dataset commitment; the weights commitment after it
    leaves = [int(ch["public_signals"][leaf]) for ch in chunks]
    wc = compiled.weights_commitment if committed else None
    if committed and any(int(ch["public_signals"][-1]) != wc for ch in chunks):
        raise ZkmlError("a chunk proof carries another weights commitment than the bundle's; nothing written")
    for i in (0, m - 1):  # the workers committed to what the driver holds
        sl = slice(i * chunk_size, (i + 1) * chunk_size)
        if commitment_of(compiled, xs[sl], ys[sl], n_classes, salts[i], chunk_index=i) != leaves[i]:
            raise ZkmlError(f"chunk {i}: its commitment differs from the data's; nothing written")
    root = merkle_root(leaves)
    from zkml.formats.jsonfile import read_json

    tp, fn, fp = [0] * n_classes, [0] * n_classes, [0] * n_classes
    n_counts = n_count_elements(n_classes, chunk_size)
    for ch in chunks:  # what the chunk proofs say, added up (as the verifier will)
        got_c = unpack_counts([int(v) for v in ch["public_signals"][:n_counts]], n_classes, chunk_size)
        for agg, part in zip((tp, fn, fp), got_c):
            for c in range(n_classes):
                agg[c] += part[c]
    from zkml.compiler.evaluate import Counts

    counts = Counts(tp, fn, fp)
    if counts.tp != got.tp or counts.fn != got.fn or counts.fp != got.fp:
        raise ZkmlError("the chunk proofs' counts differ from the model's predictions; nothing written")
    vk_json = read_json(vk_path)
    claim = {"model_sha256": manifest["model"]["sha256"], "weights_sha256": manifest["model"]["weights_sha256"],
             "dataset": {"commitment": str(root), "n": n, "source": Path(data).name,
                                                "chunks": m, "chunk_size": chunk_size},
             "metric": metric(counts, k, class_k, class_names)}
    if committed:
        claim["weights"] = "committed"
    public = public_signals(counts.tp, counts.fn, counts.fp, k, class_k, n, root, weights_commitment=wc)
    result = {"claim": claim, "proof": {"chunks": chunks}, "public_signals": [str(v) for v in public],
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
    from zkml.compiler.evaluation_signals import n_count_elements, pack_thresholds, unpack_counts

    n_classes = len(m["per_class"]["tp"])
    n_counts = n_count_elements(n_classes, size)
    zeros = pack_thresholds(0, [0] * n_classes, size)
    committed = c.get("weights") == "committed"
    wc = int(c["weights_sha256"], 16) if committed else None
    want_len = n_counts + 3 + len(zeros) + (1 if committed else 0)
    items, leaves = [], {}
    totals = {"tp": [0] * n_classes, "fn": [0] * n_classes, "fp": [0] * n_classes}
    for ch in chunks:
        pub = [int(v) for v in ch["public_signals"]]
        i = ch["index"]
        if (len(pub) != want_len or pub[n_counts] != i or pub[n_counts + 1] != size
                or pub[n_counts + 2:n_counts + 2 + len(zeros)] != zeros):
            return False, (f"chunk {i}: its public signals are not [{n_counts} packed counts, {i}, {size}, "
                           f"{len(zeros)} packed zero thresholds, commitment" + (", weights commitment]" if committed else "]"))
        if committed and pub[-1] != wc:
            return False, f"chunk {i}: proved under another weights commitment than the claim's weights_sha256"
        counts = unpack_counts(pub[:n_counts], n_classes, size)
        if counts is None or any(t + f_n > size for t, f_n in zip(counts[0], counts[1])):
            return False, f"chunk {i}: its public counts are no packing of counts over {size} samples"
        for key, part in zip(("tp", "fn", "fp"), counts):
            totals[key] = [a + b for a, b in zip(totals[key], part)]
        leaves[i] = pub[-2] if committed else pub[-1]
        items.append((pub, proof_from_json(ch, where, f"chunk {i} ")))
    for key in ("tp", "fn", "fp"):  # the aggregate is the chunks' counts, class by class
        if totals[key] != m["per_class"][key]:
            cls = next(c for c in range(n_classes) if totals[key][c] != m["per_class"][key][c])
            return False, (f"the chunk counts add up to {key.upper()} = {totals[key][cls]} for class {cls}, "
                           f"the claim says {m['per_class'][key][cls]}")
    if merkle_root([leaves[i] for i in range(count)]) != int(d["commitment"]):
        return False, "the chunk commitments do not rebuild the dataset's Merkle root"
    ok, bad = verify_batch(vk_from_json(doc["circuit"]["verifying_key"], where), items)
    if not ok:
        return False, f"chunk proof(s) {[chunks[i]['index'] for i in bad]} do not verify"
    return True, f"{count} chunk proofs verify and rebuild the dataset root"
