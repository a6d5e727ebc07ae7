"""circom's ``.r1cs`` (version 1): header, constraints, wire-to-label map.

Section 1 header: u32 n8, prime, u32 nWires, nPubOut, nPubIn, nPrvIn, u64 nLabels,
u32 mConstraints. Section 2: per constraint, for A, B and C: u32 nTerms then (u32 wire,
n8-byte coefficient, standard form) per term. Section 3: u64 label per wire.
"""

from __future__ import annotations

import struct
from enum import IntEnum

import numpy as np

from zkml.crypto.bn254 import R
from zkml.errors import FormatError
from zkml.formats.binfile import Reader, first_not_below, le, read_binfile, write_binfile
from zkml.r1cs import R1CS, SparseMatrix

_TERM = np.dtype([("wire", "<u4"), ("coef", "<u8", (4,))])  # 36 bytes, packed


class R1csSection(IntEnum):
    HEADER = 1
    CONSTRAINTS = 2
    WIRE_TO_LABEL = 3


def read_r1cs(path) -> R1CS:
    f = read_binfile(path, b"r1cs", (1,))
    p = f.path
    h = Reader(f.section(R1csSection.HEADER, "header"), p, "header")
    h.field(R, "the field prime")
    n_wires, n_pub_out, n_pub_in, n_prv_in = h.u32(), h.u32(), h.u32(), h.u32()
    n_labels, n_constraints = h.u64(), h.u32()
    if 1 + n_pub_out + n_pub_in + n_prv_in > n_wires:
        raise FormatError(f"{p}: header counts more inputs and outputs than the {n_wires} wires")
    if len(h.buf) != h.pos:
        raise FormatError(f"{p}: header section has {len(h.buf) - h.pos} bytes more than its fields")

    from zkml.formats.r1cs_scan import scan_constraints  # numba: once the header is sound

    raw = f.section(R1csSection.CONSTRAINTS, "constraints")
    terms, end = scan_constraints(raw, n_constraints)
    if terms is None:
        raise FormatError(f"{p}: constraints section is truncated (in constraint {-1 - end})")
    if end != len(raw):
        raise FormatError(f"{p}: constraints section has {len(raw) - end} bytes left over")

    mats = []
    for (rows, wires, coefs), name in zip(terms, "ABC"):
        mat = SparseMatrix(rows, wires, coefs) if len(rows) else SparseMatrix.empty()
        if mat.nnz and int(mat.cols.max()) >= n_wires:
            t = int(np.argmax(mat.cols >= n_wires))
            raise FormatError(f"{p}: constraint {int(mat.rows[t])}, matrix {name} names wire "
                              f"{int(mat.cols[t])}; the header has {n_wires} wires (corrupt file)")
        bad = first_not_below(mat.values, R)
        if bad >= 0:
            raise FormatError(f"{p}: constraint {int(mat.rows[bad])}, matrix {name}: the coefficient of wire "
                              f"{int(mat.cols[bad])} is not below the field prime r (corrupt file); "
                              "compile the circuit again")
        mats.append(mat)

    labels = None
    if f.has(R1csSection.WIRE_TO_LABEL):
        lab = f.section(R1csSection.WIRE_TO_LABEL, "wire to label")
        if len(lab) != 8 * n_wires:
            raise FormatError(f"{p}: wire-to-label section has {len(lab)} bytes, expected {8 * n_wires}")
        labels = np.frombuffer(lab, dtype="<u8").astype(np.uint64)
        if n_wires and int(labels.max()) >= max(n_labels, n_wires):
            w = int(np.argmax(labels >= max(n_labels, n_wires)))
            raise FormatError(f"{p}: wire {w} has label {int(labels[w])}, the header counts {n_labels} labels")
    # circom2 writes the constraints before the header; keep the order so files round-trip.
    order = [int(k) for k in f.sections]
    return R1CS(n_wires=n_wires, n_pub_out=n_pub_out, n_pub_in=n_pub_in, n_prv_in=n_prv_in,
                n_constraints=n_constraints, a=mats[0], b=mats[1], c=mats[2],
                n_labels=n_labels, wire_to_label=labels, custom={"section_order": order})


def write_r1cs(path, r1cs: R1CS) -> None:
    header = struct.pack("<I", 32) + le(R) + struct.pack(
        "<IIIIQI", r1cs.n_wires, r1cs.n_pub_out, r1cs.n_pub_in, r1cs.n_prv_in,
        r1cs.n_labels or r1cs.n_wires, r1cs.n_constraints)
    per = []
    for m in (r1cs.a, r1cs.b, r1cs.c):
        order = np.argsort(m.rows, kind="stable")
        t = np.empty(m.nnz, dtype=_TERM)
        t["wire"] = m.cols[order]
        t["coef"] = m.values[order]
        counts = np.bincount(m.rows, minlength=r1cs.n_constraints)
        starts = np.concatenate([[0], np.cumsum(counts)])
        per.append((t, counts, starts))
    out = bytearray()
    for c in range(r1cs.n_constraints):
        for t, counts, starts in per:
            out += struct.pack("<I", int(counts[c]))
            out += t[starts[c] : starts[c + 1]].tobytes()
    labels = r1cs.wire_to_label
    if labels is None:
        labels = np.arange(r1cs.n_wires, dtype=np.uint64)
    sections = {
        R1csSection.HEADER: header,
        R1csSection.CONSTRAINTS: bytes(out),
        R1csSection.WIRE_TO_LABEL: np.asarray(labels, "<u8").tobytes(),
    }
    order = r1cs.custom.get("section_order", list(sections))
    write_binfile(path, b"r1cs", 1, [(k, sections[R1csSection(k)]) for k in order if k in sections])
