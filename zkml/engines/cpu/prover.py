"""Groth16 prover on the CPU engine: ``prove(pk, witness, *, r=None, s=None) -> Proof``.

Follows snarkjs's ``groth16_prove`` so it proves from snarkjs-made zkeys: the A and B matrices
are evaluated on the domain from the zkey's coefficients, C = A*B pointwise, and each of A, B, C
is moved to the odd coset (interpolate, multiply coefficient j by w_2n^j, evaluate) where
A*B - C is paired with the zkey's H points. Then five MSMs and the blinding with r and s.
"""

from __future__ import annotations

import secrets

import numpy as np
from numba import njit, prange

from zkml.crypto.bn254 import R, g1_from_array, g2_from_array, ints_to_limbs, root_of_unity
from zkml.engines.cpu.field import (
    _JIT,
    fr_add,
    fr_from_mont,
    fr_load,
    fr_mul,
    fr_store,
    fr_sub,
    fr_to_mont,
)
from zkml.engines.cpu.msm import msm_g1, msm_g2, msm_many
from zkml.engines.cpu.ntt import intt, ntt, scale_by_powers
from zkml.groth16.data_structures import Proof, ProvingKey

_JITP = dict(cache=True, nogil=True, parallel=True)


@njit(**_JITP)
def _to_mont_all(a):
    out = np.empty_like(a)
    for i in prange(a.shape[0]):
        fr_store(out, i, fr_to_mont(fr_load(a, i)))
    return out


@njit(**_JITP)
def _from_mont_all(a):
    out = np.empty_like(a)
    for i in prange(a.shape[0]):
        fr_store(out, i, fr_from_mont(fr_load(a, i)))
    return out


@njit(**_JIT)
def _evaluate_ab(matrix, constraint, signal, coef_mont, w_mont, out_a, out_b):
    """out_M[c] = sum over coefficients of M: value * w[signal] (Montgomery form)."""
    for t in range(matrix.shape[0]):
        c = constraint[t]
        term = fr_mul(fr_load(coef_mont, t), fr_load(w_mont, signal[t]))
        if matrix[t] == 0:
            fr_store(out_a, c, fr_add(fr_load(out_a, c), term))
        else:
            fr_store(out_b, c, fr_add(fr_load(out_b, c), term))


@njit(**_JITP)
def _mul_pointwise(a, b):
    out = np.empty_like(a)
    for i in prange(a.shape[0]):
        fr_store(out, i, fr_mul(fr_load(a, i), fr_load(b, i)))
    return out


@njit(**_JITP)
def _mul_sub_pointwise(a, b, c):
    out = np.empty_like(a)
    for i in prange(a.shape[0]):
        fr_store(out, i, fr_sub(fr_mul(fr_load(a, i), fr_load(b, i)), fr_load(c, i)))
    return out


def h_evaluations(pk: ProvingKey, witness: np.ndarray) -> np.ndarray:
    """A*B - C on the odd coset of the 2n-domain, standard form: the scalars for pk.h."""
    n = pk.domain_size
    w_mont = _to_mont_all(np.ascontiguousarray(witness, np.uint64))
    coef_mont = _to_mont_all(np.ascontiguousarray(pk.coef_value, np.uint64))
    a = np.zeros((n, 4), np.uint64)
    b = np.zeros((n, 4), np.uint64)
    _evaluate_ab(pk.coef_matrix, pk.coef_constraint, pk.coef_signal, coef_mont, w_mont, a, b)
    c = _mul_pointwise(a, b)
    shift = root_of_unity(2 * n)
    odd = [ntt(scale_by_powers(intt(v), shift)) for v in (a, b, c)]
    return _from_mont_all(_mul_sub_pointwise(*odd))


def _points(*pts: np.ndarray) -> np.ndarray:
    return np.stack(pts)


def prove(pk: ProvingKey, witness: np.ndarray, *, r: int | None = None,
          s: int | None = None) -> Proof:
    """A Groth16 proof for ``witness`` ((n_vars, 4) uint64, standard form, < r).

    ``r`` and ``s`` blind the proof; they are drawn fresh when not given, so two proofs of one
    witness differ. Passing them makes the proof deterministic (CPU/GPU bit-exactness tests).
    """
    witness = np.ascontiguousarray(witness, np.uint64)
    if witness.shape != (pk.n_vars, 4):
        raise ValueError(f"witness has {len(witness)} values, proving key expects {pk.n_vars}")
    r = secrets.randbelow(R) if r is None else r % R
    s = secrets.randbelow(R) if s is None else s % R

    h = h_evaluations(pk, witness)
    # one call, so the G2 MSM's windows run on one core while G1 windows fill the other
    a, b1, b2, c, hh = msm_many([("g1", pk.a, witness), ("g1", pk.b1, witness),
                                 ("g2", pk.b2, witness),
                                 ("g1", pk.c, witness[pk.n_public + 1:]), ("g1", pk.h, h)])

    one = 1
    pi_a = msm_g1(_points(pk.alpha1, a, pk.delta1), ints_to_limbs([one, one, r]))
    pi_b1 = msm_g1(_points(pk.beta1, b1, pk.delta1), ints_to_limbs([one, one, s]))
    pi_b = msm_g2(_points(pk.beta2, b2, pk.delta2), ints_to_limbs([one, one, s]))
    pi_c = msm_g1(
        _points(c, hh, pi_a, pi_b1, pk.delta1),
        ints_to_limbs([one, one, s, r, (-r * s) % R]),
    )
    return Proof(a=g1_from_array(pi_a), b=g2_from_array(pi_b), c=g1_from_array(pi_c))
