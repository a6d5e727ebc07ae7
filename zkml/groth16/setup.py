"""Groth16 setup: circuit keys from phase-1 powers of tau (a snarkjs ``.ptau`` or a development
tau made here) and an R1CS, following snarkjs's ``zkey new`` so the keys interoperate.

The QAP uses the Lagrange basis on the domain of size n = 2^ceil(log2(constraints + public + 1));
every public signal i (and the constant one) gets an extra A-row ``A[n_cons + i][i] = 1`` so
its polynomial is independent. With tau known (development tau) every key point is a scalar
times a generator; from a ``.ptau`` they are sums of its Lagrange points. In both cases gamma
starts at 1 and delta is set by the first contribution (``contribute.py``), as in snarkjs.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import numpy as np

from zkml.crypto.bn254 import (
    G1_GENERATOR,
    G2_GENERATOR,
    R,
    g1_from_array,
    g1_to_array,
    g2_to_array,
    ints_to_limbs,
    root_of_unity,
)
from zkml.engines.cpu import batch
from zkml.errors import ZkmlError
from zkml.groth16.data_structures import ProvingKey
from zkml.r1cs import R1CS

DEV_TAU_WARNING = (
    "WARNING: development powers of tau generated on this machine; anyone who saw its memory "
    "can forge proofs. Not for production: use a ceremony .ptau (--ptau)."
)


@dataclass
class DevTau:
    """The secrets of a development phase 1; never written anywhere."""

    tau: int
    alpha: int
    beta: int

    @classmethod
    def random(cls) -> "DevTau":
        return cls(*(1 + secrets.randbelow(R - 1) for _ in range(3)))


def domain_size(r1cs: R1CS) -> int:
    need = r1cs.n_constraints + r1cs.n_public + 1
    return 1 << max(0, (need - 1).bit_length())


def qap_coefficients(r1cs: R1CS):
    """A (with the public-input rows), B and C as (rows, cols, values), values (nnz, 4) limbs.

    The order matches snarkjs's zkey section 4: A then B terms constraint by constraint, then
    the public rows.
    """
    n_pub = r1cs.n_public
    ones = np.zeros((n_pub + 1, 4), np.uint64)
    ones[:, 0] = 1
    a_rows = np.concatenate([r1cs.a.rows, r1cs.n_constraints + np.arange(n_pub + 1, dtype=np.uint32)])
    a_cols = np.concatenate([r1cs.a.cols, np.arange(n_pub + 1, dtype=np.uint32)])
    a_vals = np.concatenate([np.asarray(r1cs.a.values, np.uint64).reshape(-1, 4), ones])
    return tuple(
        (np.ascontiguousarray(rows, np.uint32), np.ascontiguousarray(cols, np.uint32),
         np.ascontiguousarray(np.asarray(vals, np.uint64).reshape(-1, 4)))
        for rows, cols, vals in ((a_rows, a_cols, a_vals), (r1cs.b.rows, r1cs.b.cols, r1cs.b.values),
                                 (r1cs.c.rows, r1cs.c.cols, r1cs.c.values)))


def _batch_inverse(values: list[int]) -> list[int]:
    prefix = [1] * len(values)
    acc = 1
    for i, v in enumerate(values):
        prefix[i] = acc
        acc = acc * v % R
    inv = pow(acc, -1, R)
    out = [0] * len(values)
    for i in range(len(values) - 1, -1, -1):
        out[i] = inv * prefix[i] % R
        inv = inv * values[i] % R
    return out


def lagrange_at(tau: int, n: int) -> list[int]:
    """L_i(tau) for the Lagrange basis on the n-th roots of unity: w^i (tau^n - 1) / (n (tau - w^i)).

    The readable reference (Python ints); setup uses the compiled ``lagrange_limbs``."""
    w = root_of_unity(n)
    roots = [1] * n
    for i in range(1, n):
        roots[i] = roots[i - 1] * w % R
    z = (pow(tau, n, R) - 1) * pow(n, -1, R) % R
    inv = _batch_inverse([(tau - x) % R for x in roots])
    return [x * z % R * d % R for x, d in zip(roots, inv)]


def _limbs(values: list[int], mont: bool) -> np.ndarray:
    return ints_to_limbs([(v << 256) % R if mont else v % R for v in values])


def _scaled_inverses(tau: int, coset: int, n: int, c: int, mont: bool) -> np.ndarray:
    """c x_i / (tau - x_i) at x_i = coset w^i for the n-th roots of unity w^i, (n, 4) limbs in
    Montgomery or standard form, compiled; zero where tau = x_i (never met for a random tau)."""
    from zkml.engines.cpu import qap_eval, threads

    consts = np.concatenate([_limbs([tau, coset, root_of_unity(n)], True), _limbs([c], mont)])
    out = np.empty((n, 4), np.uint64)
    threads.run_ranges(qap_eval.lagrange_range, n, consts, out, min_chunk=1 << 12)
    return out


def lagrange_limbs(tau: int, n: int, mont: bool = False) -> np.ndarray:
    """``lagrange_at`` compiled, as (n, 4) limbs (Montgomery form if ``mont``)."""
    return _scaled_inverses(tau, 1, n, (pow(tau, n, R) - 1) * pow(n, -1, R) % R, mont)


def h_scalars(tau: int, n: int, delta_inv: int) -> np.ndarray:
    """L^{2n}_{2i+1}(tau) / delta for i < n, standard-form limbs: the odd points x = g w^i
    (g a primitive 2n-th root of unity) of the 2n-domain Lagrange basis, as snarkjs's H."""
    c = (pow(tau, 2 * n, R) - 1) * pow(2 * n, -1, R) * delta_inv % R
    return _scaled_inverses(tau, root_of_unity(2 * n), n, c, False)


def qap_at(r1cs: R1CS, basis: np.ndarray, terms=None) -> list[np.ndarray]:
    """u_i(tau), v_i(tau), w_i(tau) for every signal i, standard-form (n_wires, 4) limbs, from
    the Lagrange basis at tau in Montgomery form."""
    from zkml.engines.cpu import qap_eval, threads

    terms = terms or qap_coefficients(r1cs)
    outs = [np.zeros((r1cs.n_wires, 4), np.uint64) for _ in terms]

    def task(t, out):
        rows, cols, vals = t
        return lambda: qap_eval.accumulate_range(rows, cols, vals, basis, out, 0, len(rows))

    threads.run_tasks([task(t, o) for t, o in zip(terms, outs)])
    return outs


def setup_from_secrets(r1cs: R1CS, dev: DevTau, delta: int | None = None,
                       progress=None, delta_round: int | None = None) -> ProvingKey:
    """Circuit keys from known phase-1 secrets (development tau), with a first contribution.

    Knowing delta here, the contribution is folded into the scalars rather than applied to the
    points afterwards, and recorded like any other contribution. A lookup circuit gets a second
    delta for its round-1 signals (``delta_round``). ``progress(message)`` is called as each
    stage starts.
    """
    from zkml.engines.cpu import qap_eval, threads
    from zkml.groth16.contribute import record, record_round, secret_from_entropy

    delta = secret_from_entropy() if delta is None else delta
    rounds = r1cs.n_round2 > 0
    if rounds:
        delta_round = secret_from_entropy() if delta_round is None else delta_round
    n = domain_size(r1cs)
    if n > 1 << 27:
        raise ZkmlError(f"circuit needs a domain of 2^{n.bit_length() - 1}; the maximum is 2^27")
    step = progress or (lambda _msg: None)
    tau, alpha, beta = dev.tau, dev.alpha, dev.beta
    if pow(tau, 2 * n, R) == 1:
        raise ZkmlError("the development tau is a root of unity of the domain; run setup again")
    n_vars, n_pub = r1cs.n_wires, r1cs.n_public
    delta_inv = pow(delta, -1, R)

    step(f"QAP polynomials at tau: domain 2^{n.bit_length() - 1}, "
         f"{r1cs.a.nnz + r1cs.b.nnz + r1cs.c.nnz:,} coefficients")
    terms = qap_coefficients(r1cs)
    u, v, w = qap_at(r1cs, lagrange_limbs(tau, n, mont=True), terms)
    k = np.empty_like(u)
    first_inv = pow(delta_round, -1, R) if rounds else delta_inv
    threads.run_ranges(qap_eval.combine_range, n_vars, u, v, w, _limbs([beta, alpha, first_inv], True),
                       n_pub + 1, k, min_chunk=1 << 12)
    del w
    if rounds:  # round-2 signals over delta_final: times delta_round / delta_final
        from zkml.crypto.bn254 import limbs_to_ints

        f = delta_round * delta_inv % R
        tail = k[n_vars - r1cs.n_round2:]
        tail[:] = ints_to_limbs([x * f % R for x in limbs_to_ints(tail)])
    h = h_scalars(tau, n, delta_inv)

    extra = [delta_round] if rounds else []
    g1_scalars = np.concatenate([u, v, k, h, _limbs([alpha, beta, delta] + extra, False)])
    del u, k, h
    step(f"G1 points: {len(g1_scalars):,} fixed-base multiplications")
    g1 = batch.fixed_base_mul("g1", g1_to_array(G1_GENERATOR), g1_scalars)
    del g1_scalars
    step(f"G2 points: {n_vars + 3:,} fixed-base multiplications")
    g2 = batch.fixed_base_mul("g2", g2_to_array(G2_GENERATOR), np.concatenate([v, _limbs([beta, 1, delta] + extra, False)]))
    del v
    a_pts, b1_pts, k_pts, h_pts, singles1 = np.split(g1, np.cumsum([n_vars, n_vars, n_vars, n]))
    b2_pts, singles2 = g2[:n_vars], g2[n_vars:]

    (ar, ac, av), (br, bc, bv), _ = terms
    pk = ProvingKey(
        n_vars=n_vars,
        n_public=n_pub,
        domain_size=n,
        alpha1=singles1[0],
        beta1=singles1[1],
        beta2=singles2[0],
        gamma2=singles2[1],
        delta1=singles1[2],
        delta2=singles2[2],
        ic=k_pts[: n_pub + 1],
        coef_matrix=np.concatenate([np.zeros(len(ar), np.uint32), np.ones(len(br), np.uint32)]),
        coef_constraint=np.concatenate([ar, br]),
        coef_signal=np.concatenate([ac, bc]),
        coef_value=np.concatenate([av, bv]),
        a=a_pts,
        b1=b1_pts,
        b2=b2_pts,
        c=k_pts[n_pub + 1:],
        h=h_pts,
        csh=circuit_hash(r1cs),
    )
    pk.contributions = [record(pk, delta, g1_from_array(pk.delta1), "development setup")]
    if rounds:
        pk.n_round2, pk.delta_round1, pk.delta_round2 = r1cs.n_round2, singles1[3], singles2[3]
        pk.round_contributions = [record_round(pk, delta_round, g1_from_array(pk.delta_round1),
                                               "development setup")]
    return pk


def circuit_hash(r1cs: R1CS) -> bytes:
    """blake2b-512 over the constraint matrices: names the circuit in contribution transcripts."""
    h = hashlib.blake2b(digest_size=64)
    for m in (r1cs.a, r1cs.b, r1cs.c):
        for arr in (m.rows, m.cols, m.values):
            h.update(np.ascontiguousarray(arr).tobytes())
    h.update(f"{r1cs.n_wires},{r1cs.n_public},{r1cs.n_constraints}".encode())
    if r1cs.n_round2:
        h.update(f",rounds:{r1cs.n_round2}".encode())
    return h.digest()


def setup_from_ptau(r1cs: R1CS, ptau, source: str = "ptau", progress=None) -> ProvingKey:
    """Circuit keys from a prepared ``.ptau`` (Lagrange sections 12-15), as ``snarkjs zkey new``.

    Gamma and delta are 1 (the generators): the key is not usable until a contribution is
    applied (``contribute``), exactly as with snarkjs. A lookup circuit's delta_round too.
    """
    n = domain_size(r1cs)
    log_n = n.bit_length() - 1
    if log_n + 1 > ptau.power:
        raise ZkmlError(
            f"{source}: circuit needs powers of tau of 2^{log_n + 1} (domain 2^{log_n}, doubled "
            f"for H), the file has 2^{ptau.power}; use a larger .ptau"
        )
    step = progress or (lambda _msg: None)
    n_vars, n_pub = r1cs.n_wires, r1cs.n_public
    (ar, ac, a_vals), (br, bc, b_vals), (cr, cc, c_vals) = qap_coefficients(r1cs)
    step(f"G1 and G2 points from the Lagrange points of {source}")
    lag_g1 = ptau.lagrange_g1(n)

    a_pts = batch.sparse_combine("g1", lag_g1, ar, ac, a_vals, n_vars)
    b1_pts = batch.sparse_combine("g1", lag_g1, br, bc, b_vals, n_vars)
    b2_pts = batch.sparse_combine("g2", ptau.lagrange_g2(n), br, bc, b_vals, n_vars)
    # beta*u_i + alpha*v_i + w_i, from beta*tau, alpha*tau and tau Lagrange points side by side.
    k_points = np.concatenate([ptau.lagrange_beta_g1(n), ptau.lagrange_alpha_g1(n), lag_g1])
    k_pts = batch.sparse_combine(
        "g1",
        k_points,
        np.concatenate([ar, br.astype(np.int64) + n, cr.astype(np.int64) + 2 * n]),
        np.concatenate([ac, bc, cc]),
        np.concatenate([a_vals, b_vals, c_vals]),
        n_vars,
    )
    h_pts = np.ascontiguousarray(ptau.lagrange_g1(2 * n)[1::2])

    g1 = g1_to_array(G1_GENERATOR)
    g2 = g2_to_array(G2_GENERATOR)
    return ProvingKey(
        n_vars=n_vars,
        n_public=n_pub,
        domain_size=n,
        alpha1=ptau.alpha_tau_g1(1)[0],
        beta1=ptau.beta_tau_g1(1)[0],
        beta2=ptau.beta_g2(),
        gamma2=g2,
        delta1=g1,
        delta2=g2,
        ic=k_pts[: n_pub + 1],
        coef_matrix=np.concatenate([np.zeros(len(ar), np.uint32), np.ones(len(br), np.uint32)]),
        coef_constraint=np.concatenate([ar, br]).astype(np.uint32),
        coef_signal=np.concatenate([ac, bc]).astype(np.uint32),
        coef_value=np.concatenate([a_vals, b_vals]),
        a=a_pts,
        b1=b1_pts,
        b2=b2_pts,
        c=k_pts[n_pub + 1:],
        h=h_pts,
        csh=circuit_hash(r1cs),
        **({"n_round2": r1cs.n_round2, "delta_round1": g1, "delta_round2": g2} if r1cs.n_round2 else {}),
    )
