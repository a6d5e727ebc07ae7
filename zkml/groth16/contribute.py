"""Phase-2 contributions: multiply delta by a secret x, divide the C and H points by x.

After any one honest contribution nobody knows delta, so nobody can forge proofs; that is what
a ceremony buys. Each contribution is recorded (delta after it, and a proof of knowledge of x:
s, x*s in G1 and x*sp in G2 with sp derived from the transcript) in the zkey's section 10 as
snarkjs lays it out. The transcript hash and sp use blake2b over our own encoding, so
``snarkjs zkey verify`` does not recognise our records; ``verify_contributions`` checks them.
"""

from __future__ import annotations

import hashlib
import secrets

from py_ecc import optimized_bn128 as bn

from zkml.crypto.bn254 import (
    G1_GENERATOR,
    R,
    g1_from_array,
    g1_from_pyecc,
    g1_to_pyecc,
    g2_from_pyecc,
    g2_to_pyecc,
)
from zkml.engines.cpu import batch
from zkml.groth16.data_structures import Contribution, ProvingKey


def _transcript(pk: ProvingKey, g1_s, g1_sx, round_delta: bool = False) -> bytes:
    h = hashlib.blake2b(digest_size=64)
    h.update(pk.csh)
    if round_delta:  # a record of one delta never passes for one of the other
        h.update(b"zkml-delta-round")
    for c in (pk.round_contributions if round_delta else pk.contributions):
        for p in (c.delta_after, c.g1_s, c.g1_sx):
            h.update(repr(p).encode())
        h.update(repr(c.g2_spx).encode())
        h.update(c.transcript)
    h.update(repr((g1_s, g1_sx)).encode())
    return h.digest()


def _g2_sp(transcript: bytes):
    k = int.from_bytes(hashlib.blake2b(b"zkml-g2sp" + transcript).digest(), "little") % R
    return bn.multiply(bn.G2, k or 1)


def secret_from_entropy(entropy: bytes | None = None) -> int:
    """A contribution secret from OS randomness mixed with optional user entropy."""
    seed = (entropy or b"") + secrets.token_bytes(64)
    return int.from_bytes(hashlib.blake2b(seed).digest(), "little") % R or 1


def record(pk: ProvingKey, x: int, delta_after, name: str = "", round_delta: bool = False) -> Contribution:
    """The section-10 record proving knowledge of x for a contribution on top of pk (of its
    delta_round with ``round_delta``: our section 17)."""
    s = 1 + secrets.randbelow(R - 1)
    g1_s = g1_from_pyecc(bn.multiply(bn.G1, s))
    g1_sx = g1_from_pyecc(bn.multiply(bn.G1, s * x % R))
    transcript = _transcript(pk, g1_s, g1_sx, round_delta)
    g2_spx = g2_from_pyecc(bn.multiply(_g2_sp(transcript), x))
    return Contribution(delta_after=delta_after, g1_s=g1_s, g1_sx=g1_sx, g2_spx=g2_spx,
                        transcript=transcript, params={"name": name} if name else {})


def record_round(pk: ProvingKey, y: int, delta_after, name: str = "") -> Contribution:
    return record(pk, y, delta_after, name, round_delta=True)


def contribute(pk: ProvingKey, entropy: bytes | None = None, name: str = "") -> ProvingKey:
    """A new key with delta multiplied by a fresh secret x (and a lookup key's delta_round by
    another, y); the secrets are dropped afterwards."""
    import numpy as np

    x = secret_from_entropy(entropy)
    x_inv = pow(x, -1, R)
    delta1 = batch.mul_all("g1", pk.delta1[None], x)[0]
    delta2 = batch.mul_all("g2", pk.delta2[None], x)[0]
    new = ProvingKey(**{**pk.__dict__})
    n1 = pk.n_round1
    if pk.has_lookups:
        y = secret_from_entropy(entropy + b"round" if entropy else None)
        y_inv = pow(y, -1, R)
        first = batch.mul_all("g1", pk.c[:n1], y_inv) if n1 else pk.c[:0]
        rest = batch.mul_all("g1", pk.c[n1:], x_inv) if len(pk.c) > n1 else pk.c[n1:]
        c = np.concatenate([first, rest])
        new.delta_round1 = batch.mul_all("g1", pk.delta_round1[None], y)[0]
        new.delta_round2 = batch.mul_all("g2", pk.delta_round2[None], y)[0]
        new.round_contributions = list(pk.round_contributions) + [
            record_round(pk, y, g1_from_array(new.delta_round1), name)]
    else:
        c = batch.mul_all("g1", pk.c, x_inv) if len(pk.c) else pk.c
    h = batch.mul_all("g1", pk.h, x_inv)
    new.delta1, new.delta2, new.c, new.h = delta1, delta2, c, h
    new.contributions = list(pk.contributions) + [record(pk, x, g1_from_array(delta1), name)]
    return new


def verify_contributions(pk: ProvingKey) -> list[str]:
    """Problems found in the contribution chain (empty when every record checks out); a lookup
    key's delta_round chain too."""
    problems = _verify_chain(pk.contributions, g1_from_array(pk.delta1), "")
    if pk.has_lookups:
        problems += _verify_chain(pk.round_contributions, g1_from_array(pk.delta_round1), "delta_round ")
    return problems


def _verify_chain(records, delta_now, what: str) -> list[str]:
    problems = []
    prev = G1_GENERATOR
    for i, c in enumerate(records):
        sp = _g2_sp(c.transcript)
        # x * s over s must match x * sp over sp, and delta_after over delta_before.
        lhs = bn.pairing(g2_to_pyecc(c.g2_spx), g1_to_pyecc(c.g1_s))
        rhs = bn.pairing(sp, g1_to_pyecc(c.g1_sx))
        if lhs != rhs:
            problems.append(f"{what}contribution {i + 1}: proof of knowledge does not check")
        if bn.pairing(g2_to_pyecc(c.g2_spx), g1_to_pyecc(prev)) != bn.pairing(
            sp, g1_to_pyecc(c.delta_after)
        ):
            problems.append(f"{what}contribution {i + 1}: delta does not follow from the previous one")
        prev = c.delta_after
    if records and delta_now != prev:
        problems.append(f"{what or 'delta '}in the key is not the last contribution's delta")
    if not records and delta_now == G1_GENERATOR:
        problems.append(f"no contribution: {what or 'delta '}is 1, anyone can forge proofs for this key")
    return problems
