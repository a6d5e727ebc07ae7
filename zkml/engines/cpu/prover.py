"""Groth16 prover on the CPU engine: ``prove(pk, witness, *, r=None, s=None) -> Proof``.

Follows snarkjs's ``groth16_prove`` so it proves from snarkjs-made zkeys: the A and B matrices
are evaluated on the domain from the zkey's coefficients, C = A*B pointwise, and each of A, B, C
is moved to the odd coset (interpolate, multiply coefficient j by w_2n^j, evaluate) where
A*B - C is paired with the zkey's H points. Then five MSMs and the blinding with r and s.

A lookup (two-round) key is proved in two calls: ``commit`` gives D, the round-1 signals' MSM
over delta_round blinded by rho * delta, before the challenge exists; ``prove`` with the same
rho and D then takes the completed witness, and C carries -rho * delta_round so the blinding
cancels in e(D, delta_round) e(C, delta).
"""

from __future__ import annotations

import secrets

import numpy as np

from zkml.crypto.bn254 import R, g1_from_array, g2_from_array, ints_to_limbs, root_of_unity
from zkml.engines.cpu import threads
from zkml.engines.cpu.msm import msm_g1, msm_g2, msm_many
from zkml.engines.cpu.native import kernels
from zkml.engines.cpu.ntt import intt, ntt, scale_by_powers
from zkml.groth16.data_structures import Proof, ProvingKey

_MIN_CHUNK = 1 << 12


def _pointwise(kernel, *arrays) -> np.ndarray:
    out = np.empty_like(arrays[0])
    threads.run_ranges(kernel, len(out), *arrays, out, min_chunk=_MIN_CHUNK)
    return out


def h_evaluations(pk: ProvingKey, witness: np.ndarray) -> np.ndarray:
    """A*B - C on the odd coset of the 2n-domain, standard form: the scalars for pk.h."""
    k = kernels()
    n = pk.domain_size
    w_mont = _pointwise(k.to_mont_range, np.ascontiguousarray(witness, np.uint64))
    coef_mont = _pointwise(k.to_mont_range, np.ascontiguousarray(pk.coef_value, np.uint64))
    a = np.zeros((n, 4), np.uint64)
    b = np.zeros((n, 4), np.uint64)
    k.evaluate_ab(np.ascontiguousarray(pk.coef_matrix, np.uint32), np.ascontiguousarray(pk.coef_constraint, np.uint32),
                  np.ascontiguousarray(pk.coef_signal, np.uint32), coef_mont, w_mont, a, b)
    c = _pointwise(k.mul_range, a, b)
    shift = root_of_unity(2 * n)
    odd = [ntt(scale_by_powers(intt(v), shift)) for v in (a, b, c)]
    return _pointwise(k.from_mont_range, _pointwise(k.mul_sub_range, *odd))


def _points(*pts: np.ndarray) -> np.ndarray:
    return np.stack(pts)


def commit(pk: ProvingKey, witness: np.ndarray, rho: int):
    """D = sum of the round-1 private signals times their points (over delta_round) + rho delta,
    as a G1 point (ints). ``witness`` needs only its first n_public + 1 + n_round1 rows."""
    if not pk.has_lookups:
        raise ValueError("a plain Groth16 key has no round-1 commitment")
    lo = pk.n_public + 1
    w1 = np.ascontiguousarray(witness[lo: lo + pk.n_round1], np.uint64)
    if len(w1) != pk.n_round1:
        raise ValueError(f"round-1 witness has {len(w1)} private values, the key expects {pk.n_round1}")
    (d,) = msm_many([("g1", pk.c[: pk.n_round1], w1)])
    return g1_from_array(msm_g1(_points(d, pk.delta1), ints_to_limbs([1, rho % R])))


def prove(pk: ProvingKey, witness: np.ndarray, *, r: int | None = None,
          s: int | None = None, rho: int | None = None, d=None) -> Proof:
    """A Groth16 proof for ``witness`` ((n_vars, 4) uint64, standard form, < r).

    ``r`` and ``s`` blind the proof; they are drawn fresh when not given, so two proofs of one
    witness differ. Passing them makes the proof deterministic (CPU/GPU bit-exactness tests).
    A lookup key needs the ``rho`` and ``d`` of ``commit`` (the witness completed with the
    challenge that D gave).
    """
    witness = np.ascontiguousarray(witness, np.uint64)
    if witness.shape != (pk.n_vars, 4):
        raise ValueError(f"witness has {len(witness)} values, proving key expects {pk.n_vars}")
    if pk.has_lookups and (rho is None or d is None):
        raise ValueError("a lookup key is proved with the rho and D of commit()")
    r = secrets.randbelow(R) if r is None else r % R
    s = secrets.randbelow(R) if s is None else s % R
    first = pk.n_public + 1 + pk.n_round1  # C's MSM: the private signals not in D

    h = h_evaluations(pk, witness)
    # one call, so the G2 MSM's windows run on one core while G1 windows fill the other
    a, b1, b2, c, hh = msm_many([("g1", pk.a, witness), ("g1", pk.b1, witness),
                                 ("g2", pk.b2, witness),
                                 ("g1", pk.c[pk.n_round1:], witness[first:]), ("g1", pk.h, h)])

    one = 1
    pi_a = msm_g1(_points(pk.alpha1, a, pk.delta1), ints_to_limbs([one, one, r]))
    pi_b1 = msm_g1(_points(pk.beta1, b1, pk.delta1), ints_to_limbs([one, one, s]))
    pi_b = msm_g2(_points(pk.beta2, b2, pk.delta2), ints_to_limbs([one, one, s]))
    pts, ks = [c, hh, pi_a, pi_b1, pk.delta1], [one, one, s, r, (-r * s) % R]
    if pk.has_lookups:
        pts.append(pk.delta_round1)
        ks.append((-rho) % R)
    pi_c = msm_g1(_points(*pts), ints_to_limbs(ks))
    return Proof(a=g1_from_array(pi_a), b=g2_from_array(pi_b), c=g1_from_array(pi_c),
                 d=d if pk.has_lookups else None)
