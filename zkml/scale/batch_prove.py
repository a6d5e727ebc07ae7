"""`zkml prove-batch`: one inference proof per input row, proved by Ray actors that each load the
bundle's proving key once (it is put in the object store once, not sent per task).

Each proof is written atomically by its worker to ``OUT/<input hash>.proof.json`` as soon as it is
done, so an interrupted run leaves only whole files and a re-run skips inputs whose proof is
already there and consistent with this bundle. A worker that dies costs only its task, which Ray
retries on a restarted actor; a task that fails for good (out of memory, say) is reported with its
reason while the rest go on.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from zkml.errors import ZkmlError

SUFFIX = ".proof.json"


def input_name(x: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(x, np.float64).tobytes()).hexdigest()[:24]


def check_inputs(compiled, xs: np.ndarray, path: Path) -> None:
    """Every row quantizes (shape, finiteness, calibrated per-feature range, envelope) before any
    work is scheduled."""
    from zkml.compiler.compile import quantize_input

    for i, x in enumerate(xs):
        quantize_input(compiled, x, f"{path}, row {i}", in_range=True)


def existing_proofs(out: Path, bundle: Path, manifest: dict, vk_sha256: str) -> set[str]:
    """Names of the valid proofs already in OUT for this bundle (checked in one batch); a proof
    of another bundle is refused, naming the file."""
    from zkml.bundle.claims import _load_proof, verify_many

    ours = []
    for f in sorted(out.glob(f"*{SUFFIX}")):
        try:
            c = _load_proof(f)["claim"]
        except ZkmlError:
            continue  # unreadable: proved again and replaced
        if c.get("model_sha256") != manifest["model"]["sha256"] or c.get("vk_sha256") != vk_sha256:
            raise ZkmlError(f"{f}: is a proof for another bundle or key; use another --output folder")
        ours.append(f)
    if not ours:
        return set()
    good, _ = verify_many(ours, bundle)
    return {f.name.removesuffix(SUFFIX) for f in good}


@dataclass
class BatchResult:
    total: int
    skipped: int
    proved: list = field(default_factory=list)  # (name, seconds)
    failed: list = field(default_factory=list)  # (row, reason)
    seconds: float = 0.0


def make_worker_class(ray, device: str):
    @ray.remote(num_cpus=1, num_gpus=1 if device == "gpu" else 0, max_restarts=2, max_task_retries=2,
                runtime_env={"env_vars": {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}})
    class ProverWorker:
        """Holds one bundle's compiled program and proving key for its lifetime."""

        def __init__(self, bundle: str, pk):
            from zkml.bundle.claims import Prover

            self.prover = Prover(Path(bundle), pk=pk)
            self.device = device

        def prove(self, x, out_path: str, what: str) -> float:
            from zkml.bundle.claims import prove_inference

            t0 = time.perf_counter()
            prove_inference(self.prover.bundle, x, Path(out_path), self.device, what, prover=self.prover)
            return time.perf_counter() - t0

    return ProverWorker


def prove_batch(bundle: Path, xs: np.ndarray, out: Path, *, workers: int = 2, address: str | None = None,
                device: str = "cpu", source: str = "inputs", progress=None) -> BatchResult:
    from zkml.bundle.claims import Prover
    from zkml.scale.cluster import check_reachable, ray_session

    if address:
        check_reachable(address)
    bundle, out = Path(bundle), Path(out)
    prover = Prover(bundle)
    check_inputs(prover.compiled, xs, Path(source))
    out.mkdir(parents=True, exist_ok=True)
    done = existing_proofs(out, bundle, prover.manifest, prover.vk_sha256)
    todo = [(i, input_name(x)) for i, x in enumerate(xs)]
    todo = [(i, name) for i, name in todo if name not in done]
    todo = list({name: (i, name) for i, name in todo}.values())  # identical rows: one proof
    result = BatchResult(total=len(xs), skipped=len(xs) - len(todo))
    t0 = time.perf_counter()
    if not todo:
        return result
    with ray_session(address, workers) as ray:
        pk_ref = ray.put(prover.pk)
        Worker = make_worker_class(ray, device)
        actors = [Worker.remote(str(bundle.resolve()), pk_ref) for _ in range(min(workers, len(todo)))]
        pending = {}
        queue = list(todo)
        for k, actor in enumerate(actors):  # two tasks in flight per actor keeps it busy
            for _ in range(2):
                if queue:
                    i, name = queue.pop(0)
                    pending[actor.prove.remote(xs[i], str(out / (name + SUFFIX)), f"{source}, row {i}")] = (i, name, actor)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            ref = ready[0]
            i, name, actor = pending.pop(ref)
            try:
                result.proved.append((name, ray.get(ref)))
            except Exception as e:  # a task that failed for good: say why, go on
                reason = str(e).strip().splitlines()[-1][:200] if str(e).strip() else type(e).__name__
                result.failed.append((i, reason))
            if queue:
                j, nm = queue.pop(0)
                pending[actor.prove.remote(xs[j], str(out / (nm + SUFFIX)), f"{source}, row {j}")] = (j, nm, actor)
            if progress:
                progress(len(result.proved) + len(result.failed), len(todo), time.perf_counter() - t0)
    result.seconds = time.perf_counter() - t0
    return result
