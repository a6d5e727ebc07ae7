"""Multi-scalar multiplication sum_i k_i * P_i on G1 and G2: GLV, then Pippenger with signed
windows.

Each scalar is split by the GLV endomorphism (``glv.py``) into two halves below 2^128, so
every point P becomes P and phi(P) = lambda * P with 128-bit scalars: half the windows, twice
the points. Zero scalars, identity bases and zero halves are dropped first; scalars below
2^127 (0/1 and the small values of ML witnesses) keep a single half and need only as many
windows as their largest bit length. Halves are cut into c-bit signed digits in
[-2^(c-1), 2^(c-1)] (a negative digit adds -P to bucket |d|), which halves the buckets.

Repeated full-size scalars are merged first (``_merge_repeated``): the LogUp inverses of a
lookup circuit are 1/(z - value), one per looked-up limb but only as many distinct ones as the
table has rows, so sum_i k_i P_i is taken as sum_u u (sum_{k_i = u} P_i): one point addition per
term and an MSM over the distinct scalars instead of some 20 windows of additions per term.

The kernels are msm_kernels.py's, reached through the native module. Windows are
independent units of work: a serial GIL-free kernel does the windows [lo, hi) of
one MSM, and ``msm_many`` hands the windows of several MSMs (G2 beside G1) to both cores, the
biggest first, so neither core idles while the other finishes.

Buckets take points in scalar order with batched affine additions (``G_msm_windows``).
Sorting each window's points by bucket first, to sum every bucket as a tree of batched
affine additions without conflicts, was measured slower on this machine (G1, 2^16 points, one
core: 0.37 s against 0.27 s): gathering 64-byte points in bucket order misses the cache more
than the occasional Jacobian fallback of a bucket already in the batch costs.
"""

from __future__ import annotations

import threading

import numpy as np

from zkml.engines.cpu import threads
from zkml.engines.cpu.native import kernels

# per group: jacobian shape, affine shape, relative cost of a point addition
_GROUPS = {
    "g1": ((3, 4), (2, 4), 1.0),
    "g2": ((3, 2, 4), (2, 2, 4), 3.0),
}
_KERNELS = {group: tuple(f"{group}_{k}" for k in ("split", "expand", "msm_windows", "combine_into"))
            for group in _GROUPS}  # names in the native module
_MIN_CHUNK = 2048


def window_bits(m: int, bits: int = 128) -> int:
    """Window size c minimising windows * (points + bucket-reduction cost) for m scalars of at
    most ``bits`` bits (signed digits need bits // c + 1 windows)."""
    if m <= 1:
        return 2
    best, best_cost = 2, None
    for c in range(2, 17):
        cost = (bits // c + 1) * (m + 3 * (1 << (c - 1)))
        if best_cost is None or cost < best_cost:
            best, best_cost = c, cost
    return best


class _Job:
    """One MSM after the GLV split: expanded points, digits, and the window sums to fill."""

    def __init__(self, group, pts, digits, c):
        self.group, self.pts, self.digits, self.c = group, pts, digits, c
        self.out = np.zeros((digits.shape[0],) + _GROUPS[group][0], np.uint64)


MERGE_MIN_TERMS = 4096  # below this many full-size scalars, merging saves too little to pay for its sort
MERGE_MAX_DISTINCT = 0.5  # merge when the distinct full-size scalars are at most this share of them
MERGE_PROBE = 1024  # full-size scalars looked at for a repeat before the whole sort


def _merge_repeated(group: str, bases: np.ndarray, scalars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bases, scalars) with the same sum, the points of each repeated full-size scalar (at or
    above 2^128, where windows cost the most) added together first; unchanged when few repeat."""
    big = np.flatnonzero((scalars[:, 2] | scalars[:, 3]) != 0)
    if len(big) < MERGE_MIN_TERMS:
        return bases, scalars
    # a cheap look first: random scalars (H's) have no repeat among 1024 of them, while n terms
    # over d <= n / 2 values show about 1024^2 / 2d repeats there
    probe = scalars[big[:: max(1, len(big) // MERGE_PROBE)], 0]
    if len(np.unique(probe)) == len(probe):
        return bases, scalars
    values = scalars[big]
    # group by the low limb (a sort of 8-byte keys), then confirm that each group's scalars agree
    # in every limb; a collision of low limbs alone falls back to grouping whole scalars
    _, first, group_of = np.unique(values[:, 0], return_index=True, return_inverse=True)
    if len(first) > MERGE_MAX_DISTINCT * len(big):
        return bases, scalars
    group_of = group_of.ravel()
    distinct = values[first]
    if not np.array_equal(distinct[group_of], values):
        rows = np.ascontiguousarray(values).view(np.dtype((np.void, 32))).ravel()
        _, first, group_of = np.unique(rows, return_index=True, return_inverse=True)
        group_of, distinct = group_of.ravel(), values[first]
    sums = _group_sums(group, bases, big, group_of, len(distinct))
    keep = np.ones(len(scalars), np.bool_)
    keep[big] = False
    return (np.concatenate([bases[keep], sums]), np.concatenate([scalars[keep], distinct]))


def _group_sums(group: str, bases: np.ndarray, rows: np.ndarray, group_of: np.ndarray, n_groups: int) -> np.ndarray:
    """Affine sums of bases[rows[t]] per group_of[t]; the threads take ranges of groups holding
    about equal numbers of terms."""
    order = np.ascontiguousarray(rows[np.argsort(group_of, kind="stable")], np.int64)
    starts = np.zeros(n_groups + 1, np.int64)
    np.cumsum(np.bincount(group_of, minlength=n_groups), out=starts[1:])
    out = np.empty((n_groups,) + _GROUPS[group][1], np.uint64)
    kernel = getattr(kernels(), f"{group}_group_sums")
    parts = max(1, min(threads.n_threads(), len(rows) // _MIN_CHUNK))
    cuts = sorted({0, n_groups, *(int(np.searchsorted(starts, i * len(rows) // parts)) for i in range(1, parts))})
    threads.run_tasks([(lambda lo, hi: lambda: kernel(bases, order, starts, out, lo, hi))(lo, hi)
                       for lo, hi in zip(cuts, cuts[1:]) if hi > lo])
    return out


def _prepare(group: str, bases: np.ndarray, scalars: np.ndarray) -> _Job | None:
    """None when the sum is the identity without any work (no non-zero term)."""
    if len(bases) != len(scalars):
        raise ValueError(f"MSM needs as many scalars as bases: {len(scalars)} != {len(bases)}")
    if len(bases) == 0:
        return None
    bases = np.ascontiguousarray(bases, np.uint64)
    scalars = np.ascontiguousarray(scalars, np.uint64)
    bases, scalars = _merge_repeated(group, bases, scalars)
    n = len(bases)
    k = kernels()
    split, expand = (getattr(k, name) for name in _KERNELS[group][:2])
    halves = np.empty((n, 2, 2), np.uint64)
    negs = np.empty((n, 2), np.bool_)
    count = np.empty(n, np.int64)
    threads.run_ranges(split, n, bases, scalars, halves, negs, count, min_chunk=_MIN_CHUNK)
    pos = np.zeros(n + 1, np.int64)
    np.cumsum(count, out=pos[1:])
    m = int(pos[-1])
    if m == 0:  # no term: zero scalars (or multiples of r), identity bases
        return None
    pts = np.empty((m,) + _GROUPS[group][1], np.uint64)
    sc = np.empty((m, 2), np.uint64)
    threads.run_ranges(expand, n, bases, halves, negs, pos, pts, sc, min_chunk=_MIN_CHUNK)
    top = int(sc[:, 1].max())
    bits = 64 + top.bit_length() if top else int(sc[:, 0].max()).bit_length()
    c = window_bits(m, bits)
    digits = np.empty((bits // c + 1, m), np.int32)
    threads.run_ranges(k.signed_digits, m, sc, c, digits, min_chunk=_MIN_CHUNK)
    return _Job(group, pts, digits, c)


def _run_windows(jobs: list[_Job]) -> None:
    """Every window of every job, on all threads, the most expensive first."""
    units = []
    for job in jobs:
        weight = _GROUPS[job.group][2]
        nnz = np.count_nonzero(job.digits, axis=1)
        for w in range(job.digits.shape[0]):
            units.append((weight * (nnz[w] + 3 * (1 << (job.c - 1))), job, w))
    units.sort(key=lambda u: -u[0])
    take = iter(units)
    lock = threading.Lock()
    windows = {g: getattr(kernels(), names[2]) for g, names in _KERNELS.items()}

    def worker():
        while True:
            with lock:
                unit = next(take, None)
            if unit is None:
                return
            _, job, w = unit
            windows[job.group](job.pts, job.digits, job.c, job.out, w, w + 1)

    n = min(threads.n_threads(), len(units))
    threads.run_tasks([worker] * max(n, 1))


def _finish(group: str, job: _Job | None) -> np.ndarray:
    jac_shape, affine_shape, _ = _GROUPS[group]
    if job is None:
        return np.zeros(affine_shape, np.uint64)
    res = np.zeros(affine_shape, np.uint64)
    getattr(kernels(), _KERNELS[group][3])(job.out, job.c, res)
    return res


def msm_many(jobs) -> list[np.ndarray]:
    """``[msm_g1 or msm_g2 of (bases, scalars) for (group, bases, scalars) in jobs]``, their
    windows spread over both cores together (call it from the main thread, not a pool one)."""
    prepared = [_prepare(g, b, s) for g, b, s in jobs]
    _run_windows([j for j in prepared if j is not None])
    return [_finish(g, j) for (g, _, _), j in zip(jobs, prepared)]


def msm_g1(bases: np.ndarray, scalars: np.ndarray) -> np.ndarray:
    """sum_i scalars[i] * bases[i] in G1; bases (n, 2, 4) Montgomery affine, scalars (n, 4) < r."""
    return msm_many([("g1", bases, scalars)])[0]


def msm_g2(bases: np.ndarray, scalars: np.ndarray) -> np.ndarray:
    """sum_i scalars[i] * bases[i] in G2; bases (n, 2, 2, 4) Montgomery affine."""
    return msm_many([("g2", bases, scalars)])[0]

