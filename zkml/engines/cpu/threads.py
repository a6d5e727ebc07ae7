"""Parallel loops for the CPU engine's kernels without numba's threading layer.

numba's ``prange`` needs its threading layer at run time, which the ahead-of-time compiled
engine module does not carry, and loading it costs a JIT-using process a good part of a
second. Kernels are therefore serial, take the half-open range ``[lo, hi)`` of the work they
do as their last two arguments, and release the GIL (``nogil=True``, or the native module's
GIL-free wrappers); ``run_ranges`` cuts the work into one range per thread and runs them on a
pool of Python threads that lives as long as the process.

``ZKML_THREADS`` (or numba's ``NUMBA_NUM_THREADS``, which Ray workers set to 1) caps the
thread count; the default is the number of cores this process may run on.
"""

from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager
from concurrent.futures import ThreadPoolExecutor

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def n_threads() -> int:
    for var in ("ZKML_THREADS", "NUMBA_NUM_THREADS"):
        v = os.environ.get(var, "")
        if v.isdigit() and int(v) > 0:
            return int(v)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=n_threads(), thread_name_prefix="zkml-engine")
        return _pool


@contextmanager
def _interrupts_held():
    """Ctrl-C held back (it arrives right after) while the main thread hands out work and runs
    its own share: a KeyboardInterrupt raised inside ``submit`` leaves a new worker unknown to
    the executor's exit hook (the process then waits for it forever at exit), and one raised
    inside numba's dispatcher (loading a cached kernel) can leave llvmlite's lock taken while a
    worker waits for it. The kernels are GIL-free native loops, which a signal cannot interrupt
    anyway, so holding it adds no delay; workers started here inherit SIGINT blocked."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _in_pool() -> bool:
    """True in one of the pool's threads: work started there (a run_tasks task that calls
    run_ranges) runs in that thread, so no pool thread ever waits on the pool."""
    return threading.current_thread().name.startswith("zkml-engine")


def split(n: int, parts: int, min_chunk: int = 1) -> list[tuple[int, int]]:
    """``range(n)`` as at most ``parts`` contiguous ranges of at least ``min_chunk`` items
    (the last may be shorter), sizes differing by at most one chunk."""
    if n <= 0:
        return []
    parts = max(1, min(parts, (n + min_chunk - 1) // min_chunk))
    step, extra = divmod(n, parts)
    out, lo = [], 0
    for p in range(parts):
        hi = lo + step + (1 if p < extra else 0)
        out.append((lo, hi))
        lo = hi
    return out


def run_ranges(kernel, n: int, *args, min_chunk: int = 1, parts: int | None = None) -> None:
    """``kernel(*args, lo, hi)`` over a partition of ``range(n)``, one range per thread.

    Ranges must write disjoint outputs. A single range (one thread, or little work) runs in
    the calling thread; an exception in any range is raised here after all have finished."""
    with _interrupts_held():
        _run_ranges(kernel, n, args, min_chunk, parts)


def _run_ranges(kernel, n: int, args, min_chunk: int, parts: int | None) -> None:
    ranges = split(n, 1 if _in_pool() else parts or n_threads(), min_chunk)
    if len(ranges) <= 1:
        for lo, hi in ranges:
            kernel(*args, lo, hi)
        return
    futures = [_executor().submit(kernel, *args, lo, hi) for lo, hi in ranges[1:]]
    first_error = None
    try:
        kernel(*args, *ranges[0])
    except BaseException as e:  # noqa: BLE001 (re-raised below, after the others finish)
        first_error = e
    for f in futures:
        try:
            f.result()
        except BaseException as e:  # noqa: BLE001
            first_error = first_error or e
    if first_error is not None:
        raise first_error


def run_tasks(tasks) -> list:
    """Run independent zero-argument callables on the pool (the first in this thread) and
    return their results in order: for work of different kinds that can overlap, such as the
    G2 MSM beside the G1 ones."""
    with _interrupts_held():
        return _run_tasks(list(tasks))


def _run_tasks(tasks: list) -> list:
    if not tasks:
        return []
    if n_threads() <= 1 or len(tasks) == 1 or _in_pool():
        return [t() for t in tasks]
    futures = [_executor().submit(t) for t in tasks[1:]]
    results, first_error = [None] * len(tasks), None
    try:
        results[0] = tasks[0]()
    except BaseException as e:  # noqa: BLE001
        first_error = e
    for i, f in enumerate(futures, 1):
        try:
            results[i] = f.result()
        except BaseException as e:  # noqa: BLE001
            first_error = first_error or e
    if first_error is not None:
        raise first_error
    return results
