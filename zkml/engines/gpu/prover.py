"""Groth16 prover on the GPU engine: ``prove(pk, witness, *, r=None, s=None) -> Proof``, the CPU
engine's signature and, with r and s given, its exact bytes.

The proving key's bases and the A/B matrices (sorted into rows once, on the host) are uploaded
the first time a key is used in a process and stay on the device; per proof only the witness
goes up. From there every step runs on the device: A and B evaluated row by row, C = A*B, the
three odd-coset transforms, H = A*B - C, and the five MSMs; only the five resulting points come
back (as window sums, combined on the host), and the blinding combinations run as small MSMs.
"""

from __future__ import annotations

import secrets
import weakref

import numpy as np
from numba import cuda

from zkml.crypto.bn254 import R, g1_from_array, g2_from_array, ints_to_limbs
from zkml.engines.gpu.field import fr_add, fr_load, fr_mul, fr_store, FR_ZERO
from zkml.engines.gpu.msm import _grid, as_u32, msm, msm_device
from zkml.engines.gpu.ntt import Domain, mul_kernel, mul_sub_from_mont_kernel, to_mont_kernel
from zkml.groth16.data_structures import Proof, ProvingKey


@cuda.jit
def eval_rows_kernel(starts, signals, coefs, w_mont, out):
    """out[row] = sum of coefficient * witness over the row (rows 0..n-1: A, n..2n-1: B)."""
    row = cuda.grid(1)
    if row >= out.shape[0]:
        return
    acc = FR_ZERO
    for t in range(starts[row], starts[row + 1]):
        acc = fr_add(acc, fr_mul(fr_load(coefs, t), fr_load(w_mont, signals[t])))
    fr_store(out, row, acc)


class DeviceKey:
    """A proving key's arrays on the device, uploaded once."""

    def __init__(self, pk: ProvingKey):
        n = pk.domain_size
        key = pk.coef_matrix.astype(np.int64) * n + pk.coef_constraint.astype(np.int64)
        order = np.argsort(key, kind="stable")
        starts = np.zeros(2 * n + 1, np.int64)
        np.cumsum(np.bincount(key, minlength=2 * n), out=starts[1:])
        coefs = cuda.to_device(as_u32(pk.coef_value[order]))
        self.coefs = cuda.device_array_like(coefs)
        to_mont_kernel[_grid(len(order))](coefs, self.coefs)
        self.starts = cuda.to_device(starts)
        self.signals = cuda.to_device(pk.coef_signal[order].astype(np.int64))
        self.a, self.b1, self.c, self.h = (cuda.to_device(as_u32(x)) for x in (pk.a, pk.b1, pk.c, pk.h))
        self.b2 = cuda.to_device(as_u32(pk.b2))
        self.domain = Domain(n)


_resident: dict[int, tuple] = {}


def device_key(pk: ProvingKey) -> DeviceKey:
    entry = _resident.get(id(pk))
    if entry is None or entry[0]() is not pk:
        check_fits(pk)
        _resident.clear()  # one key at a time: device memory is the limit
        entry = (weakref.ref(pk), DeviceKey(pk))
        _resident[id(pk)] = entry
    return entry[1]


def key_bytes(pk: ProvingKey) -> int:
    """Device memory a proof with this key needs: the key, plus working arrays."""
    n = pk.domain_size
    key = sum(x.nbytes for x in (pk.a, pk.b1, pk.b2, pk.c, pk.h, pk.coef_value)) + 8 * 2 * len(pk.coef_signal)
    work = 32 * (8 * n + 2 * pk.n_vars) + 96 * 2 * (1 << 16) * 20  # transforms, witness, MSM buckets
    return key + work


def check_fits(pk: ProvingKey) -> None:
    from zkml.errors import ZkmlError

    if cuda.is_available() and not getattr(cuda, "simulator_enabled", False):
        free, total = cuda.current_context().get_memory_info()
        need = key_bytes(pk)
        if need > free:
            raise ZkmlError(f"the proving key needs about {need / 2**30:.1f} GiB of device memory, the GPU has "
                            f"{free / 2**30:.1f} GiB free of {total / 2**30:.1f} GiB; use --device cpu")


def h_evaluations(pk: ProvingKey, witness: np.ndarray, key: DeviceKey | None = None):
    """A*B - C on the odd coset, standard form, as a device array (the scalars for pk.h)."""
    key = key or device_key(pk)
    n = pk.domain_size
    w_std = cuda.to_device(as_u32(witness))
    w_mont = cuda.device_array_like(w_std)
    to_mont_kernel[_grid(pk.n_vars)](w_std, w_mont)
    ab = cuda.device_array((2 * n, 8), np.uint32)
    eval_rows_kernel[_grid(2 * n)](key.starts, key.signals, key.coefs, w_mont, ab)
    a, b = ab[:n], ab[n:]
    c = cuda.device_array((n, 8), np.uint32)
    mul_kernel[_grid(n)](a, b, c)
    A, B, C = (key.domain.to_odd_coset(v) for v in (a, b, c))
    h = cuda.device_array((n, 8), np.uint32)
    mul_sub_from_mont_kernel[_grid(n)](A, B, C, h)
    return h, w_std


def commit(pk: ProvingKey, witness: np.ndarray, rho: int):
    """The round-1 commitment D of a lookup key, as the CPU engine's ``commit`` computes it."""
    if not pk.has_lookups:
        raise ValueError("a plain Groth16 key has no round-1 commitment")
    key = device_key(pk)
    lo, n1 = pk.n_public + 1, pk.n_round1
    w1 = np.ascontiguousarray(witness[lo: lo + n1], np.uint64)
    if len(w1) != n1:
        raise ValueError(f"round-1 witness has {len(w1)} private values, the key expects {n1}")
    d = msm_device("g1", key.c[:n1], cuda.to_device(as_u32(w1)), n1)
    return g1_from_array(msm("g1", np.stack([d, pk.delta1]), ints_to_limbs([1, rho % R])))


def prove(pk: ProvingKey, witness: np.ndarray, *, r: int | None = None, s: int | None = None,
          rho: int | None = None, d=None) -> Proof:
    """A Groth16 proof for ``witness`` ((n_vars, 4) uint64, standard form, < r); a lookup key
    needs the ``rho`` and ``d`` of ``commit``, as on the CPU engine."""
    witness = np.ascontiguousarray(witness, np.uint64)
    if witness.shape != (pk.n_vars, 4):
        raise ValueError(f"witness has {len(witness)} values, proving key expects {pk.n_vars}")
    if pk.has_lookups and (rho is None or d is None):
        raise ValueError("a lookup key is proved with the rho and D of commit()")
    r = secrets.randbelow(R) if r is None else r % R
    s = secrets.randbelow(R) if s is None else s % R
    key = device_key(pk)
    h, w = h_evaluations(pk, witness, key)
    a = msm_device("g1", key.a, w, pk.n_vars)
    b1 = msm_device("g1", key.b1, w, pk.n_vars)
    b2 = msm_device("g2", key.b2, w, pk.n_vars)
    first, n1 = pk.n_public + 1 + pk.n_round1, pk.n_round1
    c = msm_device("g1", key.c[n1:], w[first:], pk.n_vars - first)
    hh = msm_device("g1", key.h, h, pk.domain_size)

    pi_a = msm("g1", np.stack([pk.alpha1, a, pk.delta1]), ints_to_limbs([1, 1, r]))
    pi_b1 = msm("g1", np.stack([pk.beta1, b1, pk.delta1]), ints_to_limbs([1, 1, s]))
    pi_b = msm("g2", np.stack([pk.beta2, b2, pk.delta2]), ints_to_limbs([1, 1, s]))
    pts, ks = [c, hh, pi_a, pi_b1, pk.delta1], [1, 1, s, r, (-r * s) % R]
    if pk.has_lookups:
        pts.append(pk.delta_round1)
        ks.append((-rho) % R)
    pi_c = msm("g1", np.stack(pts), ints_to_limbs(ks))
    return Proof(a=g1_from_array(pi_a), b=g2_from_array(pi_b), c=g1_from_array(pi_c),
                 d=d if pk.has_lookups else None)
