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
"""

from __future__ import annotations

import struct
from enum import IntEnum

import numpy as np

from zkml.crypto.bn254 import Q, R, g1_from_array, g1_to_array, g2_from_array, g2_to_array, ints_to_limbs, limbs_to_ints
from zkml.errors import FormatError
from zkml.formats.binfile import Reader, le, read_binfile, section_points, write_binfile
from zkml.groth16.data_structures import Contribution, ProvingKey

_R2 = pow(2, 512, R)
_R2_INV = pow(_R2, -1, R)
_COEF = np.dtype([("matrix", "<u4"), ("constraint", "<u4"), ("signal", "<u4"), ("value", "<u8", (4,))])


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


GROTH16 = 1


def read_zkey(path) -> ProvingKey:
    f = read_binfile(path, b"zkey", (1,))
    p = f.path
    proto = Reader(f.section(ZkeySection.PROTOCOL, "protocol"), p, "protocol section").u32()
    if proto != GROTH16:
        raise FormatError(f"{p}: protocol {proto} is not Groth16 (1); PLONK/FFLONK keys are not supported")
    h = Reader(f.section(ZkeySection.GROTH16_HEADER, "Groth16 header"), p, "Groth16 header")
    h.field(Q, "the base field prime q")
    h.field(R, "the scalar field prime r")
    n_vars, n_public, domain_size = h.u32(), h.u32(), h.u32()
    if domain_size & (domain_size - 1) or n_public + 1 > n_vars:
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
    values = [v * _R2_INV % R for v in limbs_to_ints(np.ascontiguousarray(coefs["value"]))]

    pk = ProvingKey(
        n_vars=n_vars, n_public=n_public, domain_size=domain_size,
        alpha1=alpha1, beta1=beta1, beta2=beta2, gamma2=gamma2, delta1=delta1, delta2=delta2,
        ic=points(ZkeySection.IC, False, n_public + 1),
        coef_matrix=coefs["matrix"].astype(np.uint32),
        coef_constraint=coefs["constraint"].astype(np.uint32),
        coef_signal=coefs["signal"].astype(np.uint32),
        coef_value=ints_to_limbs(values),
        a=points(ZkeySection.POINTS_A, False, n_vars),
        b1=points(ZkeySection.POINTS_B1, False, n_vars),
        b2=points(ZkeySection.POINTS_B2, True, n_vars),
        c=points(ZkeySection.POINTS_C, False, n_vars - n_public - 1),
        h=points(ZkeySection.POINTS_H, False, domain_size),
    )
    if f.has(ZkeySection.CONTRIBUTIONS):
        pk.csh, pk.contributions = _read_contributions(
            Reader(f.section(ZkeySection.CONTRIBUTIONS, "contributions"), p, "contributions section"))
    return pk


def _read_contributions(r: Reader):
    csh = bytes(r.take(64))
    out = []
    for _ in range(r.u32()):
        delta_after = g1_from_array(r.limbs(1, 2)[0])
        g1_s = g1_from_array(r.limbs(1, 2)[0])
        g1_sx = g1_from_array(r.limbs(1, 2)[0])
        g2_spx = g2_from_array(r.limbs(1, 4)[0])
        transcript = bytes(r.take(64))
        kind = r.u32()
        raw_params = bytes(r.take(r.u32()))
        out.append(Contribution(delta_after, g1_s, g1_sx, g2_spx, transcript, kind,
                                {"raw": raw_params, **_decode_params(raw_params)}))
    return csh, out


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


def _arr(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a, dtype="<u8").tobytes()


def write_zkey(path, pk: ProvingKey) -> None:
    header = (
        struct.pack("<I", 32) + le(Q) + struct.pack("<I", 32) + le(R)
        + struct.pack("<III", pk.n_vars, pk.n_public, pk.domain_size)
        + _arr(pk.alpha1) + _arr(pk.beta1) + _arr(pk.beta2) + _arr(pk.gamma2)
        + _arr(pk.delta1) + _arr(pk.delta2)
    )
    coefs = np.empty(len(pk.coef_matrix), dtype=_COEF)
    coefs["matrix"] = pk.coef_matrix
    coefs["constraint"] = pk.coef_constraint
    coefs["signal"] = pk.coef_signal
    coefs["value"] = ints_to_limbs([v * _R2 % R for v in limbs_to_ints(pk.coef_value)]) if len(coefs) else np.zeros((0, 4), np.uint64)
    contrib = bytearray(pk.csh) + struct.pack("<I", len(pk.contributions))
    for c in pk.contributions:
        params = _encode_params(c)
        contrib += (_g1(c.delta_after) + _g1(c.g1_s) + _g1(c.g1_sx) + _g2(c.g2_spx) + c.transcript
                    + struct.pack("<II", c.type, len(params)) + params)
    write_binfile(path, b"zkey", 1, [
        (ZkeySection.PROTOCOL, struct.pack("<I", GROTH16)),
        (ZkeySection.GROTH16_HEADER, header),
        (ZkeySection.IC, _arr(pk.ic)),
        (ZkeySection.COEFFICIENTS, struct.pack("<I", len(coefs)) + coefs.tobytes()),
        (ZkeySection.POINTS_A, _arr(pk.a)),
        (ZkeySection.POINTS_B1, _arr(pk.b1)),
        (ZkeySection.POINTS_B2, _arr(pk.b2)),
        (ZkeySection.POINTS_C, _arr(pk.c)),
        (ZkeySection.POINTS_H, _arr(pk.h)),
        (ZkeySection.CONTRIBUTIONS, bytes(contrib)),
    ])
