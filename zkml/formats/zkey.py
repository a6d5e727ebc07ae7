"""snarkjs's Groth16 ``.zkey`` (version 1), read into and written from ``ProvingKey``.

Sections: 1 protocol (u32, 1 = Groth16); 2 header (n8q, q, n8r, r, nVars, nPublic, domainSize,
alpha1, beta1, beta2, gamma2, delta1, delta2); 3 IC; 4 coefficients of A and B (u32 count, then
u32 matrix, u32 constraint, u32 signal, 32-byte value); 5 A, 6 B1, 7 B2, 8 C (private signals
only), 9 H; 10 the phase-2 contributions. Points are affine, Montgomery, little-endian (LEM).

Two encodings to know (from snarkjs ``zkey_new.js`` / ``groth16_prove.js``):
- a coefficient c is stored as the standard-form bytes of c * R^2 mod r (R = 2^256), so that a
  Montgomery product with a raw witness value is the Montgomery form of c * w;
- section 9 holds the odd points L^{2n}_{2i+1}(tau) of the 2n-domain Lagrange basis (over delta
  after contributions); the prover pairs them with A*B - C evaluated on the odd coset.

Lookup (two-round) keys are ours, layout version 1: the protocol is ``GROTH16_ROUNDS`` (snarkjs
refuses it by design, its prover would ignore the second delta), sections 1-10 are as above with
nPublic counting the challenge (the last public signal) and section 8 holding the round-1 points
(over delta_round) before the round-2 ones (over delta); then
- section 16 ``ROUNDS``: u32 layout version (1), u32 n_round2 (the last signals, solved after
  the challenge), delta_round in G1 (64 bytes) and G2 (128 bytes), LEM like every point;
- section 17 ``ROUND_CONTRIBUTIONS``: delta_round's contribution records, laid out as section 10.
"""

from __future__ import annotations

import struct
from enum import IntEnum

import numpy as np

from zkml.crypto.bn254 import Q, R, g1_from_array, g1_to_array, g2_from_array, g2_to_array
from zkml.errors import FormatError
from zkml.formats.binfile import Reader, first_not_below, le, read_binfile, section_points, write_binfile
from zkml.groth16.data_structures import Contribution, ProvingKey

_COEF = np.dtype([("matrix", "<u4"), ("constraint", "<u4"), ("signal", "<u4"), ("value", "<u8", (4,))])


def _scale_all(vals: np.ndarray, to_file: bool) -> np.ndarray:
    from zkml.formats.zkey_coefficients import scale_all  # numba: loaded only once the structure is read

    return scale_all(vals, to_file)


class ZkeySection(IntEnum):
    PROTOCOL = 1
    GROTH16_HEADER = 2
    IC = 3
    COEFFICIENTS = 4
    POINTS_A = 5
    POINTS_B1 = 6
    POINTS_B2 = 7
    POINTS_C = 8
    POINTS_H = 9
    CONTRIBUTIONS = 10
    ROUNDS = 16
    ROUND_CONTRIBUTIONS = 17


GROTH16 = 1
GROTH16_ROUNDS = 0x5A4B0001  # zkml's two-round Groth16 (lookup circuits)
ROUNDS_VERSION = 1


ADVICE = "re-run setup or get the key again"


def read_zkey(path) -> ProvingKey:
    """A proving key with every point checked (canonical, on its curve, G2 in the subgroup) and
    every coefficient below r, so a corrupt key fails here, naming the file and section."""
    f = read_binfile(path, b"zkey", (1,))
    p = f.path
    proto = Reader(f.section(ZkeySection.PROTOCOL, "protocol"), p, "protocol section").u32()
    if proto not in (GROTH16, GROTH16_ROUNDS):
        raise FormatError(f"{p}: protocol {proto} is not Groth16 (1) or zkml's two-round Groth16 "
                          f"({GROTH16_ROUNDS:#x}); PLONK/FFLONK keys are not supported")
    if proto == GROTH16 and f.has(ZkeySection.ROUNDS):
        raise FormatError(f"{p}: a plain Groth16 key (protocol 1) with a rounds section (16); corrupt file, {ADVICE}")
    h = Reader(f.section(ZkeySection.GROTH16_HEADER, "Groth16 header"), p, "Groth16 header")
    h.field(Q, "the base field prime q")
    h.field(R, "the scalar field prime r")
    n_vars, n_public, domain_size = h.u32(), h.u32(), h.u32()
    if not domain_size or domain_size & (domain_size - 1) or n_public + 1 > n_vars:
        raise FormatError(f"{p}: header is inconsistent (domain {domain_size}, {n_vars} signals, {n_public} public)")
    alpha1, beta1 = h.limbs(1, 2)[0], h.limbs(1, 2)[0]
    beta2, gamma2 = h.limbs(1, 4)[0].reshape(2, 2, 4), h.limbs(1, 4)[0].reshape(2, 2, 4)
    delta1, delta2 = h.limbs(1, 2)[0], h.limbs(1, 4)[0].reshape(2, 2, 4)

    def points(kind: ZkeySection, g2: bool, count: int) -> np.ndarray:
        arr = section_points(f.section(kind, kind.name), 4 if g2 else 2, p, f"section {kind.name}")
        if len(arr) != count:
            raise FormatError(f"{p}: section {kind.name} has {len(arr)} points, expected {count}")
        return arr

    c = Reader(f.section(ZkeySection.COEFFICIENTS, "coefficients"), p, "coefficients section")
    n_coefs = c.u32()
    raw = c.take(n_coefs * _COEF.itemsize)
    coefs = np.frombuffer(raw, dtype=_COEF)
    if n_coefs and (coefs["matrix"].max() > 1 or coefs["signal"].max() >= n_vars
                    or coefs["constraint"].max() >= domain_size):
        raise FormatError(f"{p}: a coefficient names a matrix, signal or constraint out of range")
    stored = np.ascontiguousarray(coefs["value"], dtype=np.uint64)
    bad = first_not_below(stored, R)
    if bad >= 0:
        raise FormatError(f"{p}: section COEFFICIENTS, coefficient {bad} is not below the field prime r "
                          f"(corrupt file); {ADVICE}")

    pk = ProvingKey(
        n_vars=n_vars, n_public=n_public, domain_size=domain_size,
        alpha1=alpha1, beta1=beta1, beta2=beta2, gamma2=gamma2, delta1=delta1, delta2=delta2,
        ic=points(ZkeySection.IC, False, n_public + 1),
        coef_matrix=coefs["matrix"].astype(np.uint32),
        coef_constraint=coefs["constraint"].astype(np.uint32),
        coef_signal=coefs["signal"].astype(np.uint32),
        coef_value=_scale_all(stored, False),
        a=points(ZkeySection.POINTS_A, False, n_vars),
        b1=points(ZkeySection.POINTS_B1, False, n_vars),
        b2=points(ZkeySection.POINTS_B2, True, n_vars),
        c=points(ZkeySection.POINTS_C, False, n_vars - n_public - 1),
        h=points(ZkeySection.POINTS_H, False, domain_size),
    )
    from zkml.formats.point_checks import Points, check_points  # numba, once the structure is sound

    header = ZkeySection.GROTH16_HEADER.name
    groups = [
        Points(header, np.stack([alpha1, beta1, delta1]), ("alpha1", "beta1", "delta1"), identity_ok=False),
        Points(header, np.stack([beta2, gamma2, delta2]), ("beta2", "gamma2", "delta2"), identity_ok=False),
        *(Points(k.name, getattr(pk, attr)) for k, attr in (
            (ZkeySection.IC, "ic"), (ZkeySection.POINTS_A, "a"), (ZkeySection.POINTS_B1, "b1"),
            (ZkeySection.POINTS_C, "c"), (ZkeySection.POINTS_H, "h"), (ZkeySection.POINTS_B2, "b2"))),
    ]
    contrib_points = []
    if f.has(ZkeySection.CONTRIBUTIONS):
        pk.csh, pk.contributions, contrib_points = _read_contributions(
            Reader(f.section(ZkeySection.CONTRIBUTIONS, "contributions"), p, "contributions section"))
    if proto == GROTH16_ROUNDS:
        groups += _read_rounds(f, p, pk)
    check_points(p, groups + contrib_points, ADVICE)
    return pk


def _read_rounds(f, p, pk: ProvingKey) -> list:
    """Sections 16 and 17 of a lookup key into ``pk``; returns their points for checking."""
    from zkml.formats.point_checks import Points

    r = Reader(f.section(ZkeySection.ROUNDS, "rounds (a two-round key must have one)"), p, "rounds section")
    version = r.u32()
    if version != ROUNDS_VERSION:
        raise FormatError(f"{p}: two-round zkey layout version {version}; this zkml reads version "
                          f"{ROUNDS_VERSION} (run setup again with this zkml)")
    n_round2 = r.u32()
    if n_round2 == 0 or pk.n_public < 1 or pk.n_public + 1 + n_round2 > pk.n_vars:
        raise FormatError(f"{p}: rounds section names {n_round2} second-round signals, inconsistent with "
                          f"the header ({pk.n_vars} signals, {pk.n_public} public)")
    pk.n_round2 = n_round2
    pk.delta_round1 = r.limbs(1, 2)[0]
    pk.delta_round2 = r.limbs(1, 4)[0].reshape(2, 2, 4)
    if len(r.buf) != r.pos:
        raise FormatError(f"{p}: rounds section has {len(r.buf) - r.pos} bytes more than its fields")
    groups = [Points("ROUNDS", pk.delta_round1[None], ("delta_round1",), identity_ok=False),
              Points("ROUNDS", pk.delta_round2[None], ("delta_round2",), identity_ok=False)]
    if f.has(ZkeySection.ROUND_CONTRIBUTIONS):
        _, pk.round_contributions, more = _read_contributions(
            Reader(f.section(ZkeySection.ROUND_CONTRIBUTIONS, "round contributions"), p,
                   "round contributions section"), ZkeySection.ROUND_CONTRIBUTIONS.name)
        groups += more
    return groups


def _read_contributions(r: Reader, sec: str = ZkeySection.CONTRIBUTIONS.name):
    """(csh, contributions, their points for the caller to check with the rest of the key)."""
    csh = bytes(r.take(64))
    records, g1s, g2s = [], [], []
    for _ in range(r.u32()):
        g1 = r.limbs(3, 2)  # delta after, s, s * x
        g2 = r.limbs(1, 4)[0].reshape(2, 2, 4)  # s' * x
        transcript = bytes(r.take(64))
        kind = r.u32()
        raw_params = bytes(r.take(r.u32()))
        records.append((g1, g2, transcript, kind, raw_params))
        g1s.append(g1)
        g2s.append(g2)
    names1 = tuple(f"contribution {i + 1} {n}" for i in range(len(records))
                   for n in ("delta_after", "g1_s", "g1_sx"))
    names2 = tuple(f"contribution {i + 1} g2_spx" for i in range(len(records)))
    from zkml.formats.point_checks import Points

    groups = [Points(sec, np.concatenate(g1s), names1, identity_ok=False),
              Points(sec, np.stack(g2s), names2, identity_ok=False)] if records else []
    out = [Contribution(*(g1_from_array(pt) for pt in g1), g2_from_array(g2), transcript, kind,
                        {"raw": raw, **_decode_params(raw)})
           for g1, g2, transcript, kind, raw in records]
    return csh, out, groups


def _decode_params(raw: bytes) -> dict:
    params, i = {}, 0
    try:
        while i < len(raw):
            tag = raw[i]
            if tag == 1:
                n = raw[i + 1]
                params["name"] = raw[i + 2 : i + 2 + n].decode("utf-8", "replace")
                i += 2 + n
            elif tag == 2:
                params["num_iterations_exp"] = raw[i + 1]
                i += 2
            elif tag == 3:
                n = raw[i + 1]
                params["beacon_hash"] = raw[i + 2 : i + 2 + n].hex()
                i += 2 + n
            else:
                break
    except IndexError:
        pass
    return params


def _encode_params(c: Contribution) -> bytes:
    if "raw" in c.params:
        return c.params["raw"]
    name = c.params.get("name", "")
    if not name:
        return b""
    data = name[:64].encode("utf-8")
    return bytes([1, len(data)]) + data


def _g1(p) -> bytes:
    return g1_to_array(p).astype("<u8").tobytes()


def _g2(p) -> bytes:
    return g2_to_array(p).astype("<u8").tobytes()


def _arr(a: np.ndarray) -> memoryview:
    """The bytes of a point or limb array, without a copy when it is already little-endian."""
    return memoryview(np.ascontiguousarray(a, dtype="<u8")).cast("B")


def _coefficients(pk: ProvingKey) -> memoryview:
    """Section 4 (u32 count, then the records) built in one buffer."""
    n = len(pk.coef_matrix)
    buf = np.empty(4 + n * _COEF.itemsize, np.uint8)
    buf[:4] = np.frombuffer(struct.pack("<I", n), np.uint8)
    coefs = buf[4:].view(_COEF)
    coefs["matrix"] = pk.coef_matrix
    coefs["constraint"] = pk.coef_constraint
    coefs["signal"] = pk.coef_signal
    from zkml.formats.zkey_coefficients import scale_all

    scale_all(pk.coef_value, True, out=coefs["value"])
    return memoryview(buf)


def _contributions(csh: bytes, records) -> bytes:
    out = bytearray(csh) + struct.pack("<I", len(records))
    for c in records:
        params = _encode_params(c)
        out += (_g1(c.delta_after) + _g1(c.g1_s) + _g1(c.g1_sx) + _g2(c.g2_spx) + c.transcript
                + struct.pack("<II", c.type, len(params)) + params)
    return bytes(out)


def write_zkey(path, pk: ProvingKey) -> None:
    header = (
        struct.pack("<I", 32) + le(Q) + struct.pack("<I", 32) + le(R)
        + struct.pack("<III", pk.n_vars, pk.n_public, pk.domain_size)
        + b"".join(_arr(a) for a in (pk.alpha1, pk.beta1, pk.beta2, pk.gamma2, pk.delta1, pk.delta2))
    )
    rounds = []
    if pk.has_lookups:
        rounds = [(ZkeySection.ROUNDS, struct.pack("<II", ROUNDS_VERSION, pk.n_round2)
                   + bytes(_arr(pk.delta_round1)) + bytes(_arr(pk.delta_round2))),
                  (ZkeySection.ROUND_CONTRIBUTIONS, _contributions(pk.csh, pk.round_contributions))]
    write_binfile(path, b"zkey", 1, [
        (ZkeySection.PROTOCOL, struct.pack("<I", GROTH16_ROUNDS if pk.has_lookups else GROTH16)),
        (ZkeySection.GROTH16_HEADER, header),
        (ZkeySection.IC, _arr(pk.ic)),
        (ZkeySection.COEFFICIENTS, _coefficients(pk)),
        (ZkeySection.POINTS_A, _arr(pk.a)),
        (ZkeySection.POINTS_B1, _arr(pk.b1)),
        (ZkeySection.POINTS_B2, _arr(pk.b2)),
        (ZkeySection.POINTS_C, _arr(pk.c)),
        (ZkeySection.POINTS_H, _arr(pk.h)),
        (ZkeySection.CONTRIBUTIONS, _contributions(pk.csh, pk.contributions)),
        *rounds,
    ])
