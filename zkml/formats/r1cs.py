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

    buf = f.section(R1csSection.CONSTRAINTS, "constraints")
    raw = bytes(buf)
    rows: list[list[np.ndarray]] = [[], [], []]
    terms: list[list[np.ndarray]] = [[], [], []]
    pos = 0
    try:
        for c in range(n_constraints):
            for m in range(3):
                (k,) = struct.unpack_from("<I", raw, pos)
                pos += 4
                if k:
                    block = np.frombuffer(raw, dtype=_TERM, count=k, offset=pos)
                    pos += 36 * k
                    terms[m].append(block)
                    rows[m].append(np.full(k, c, np.uint32))
    except (struct.error, ValueError):
        raise FormatError(f"{p}: constraints section is truncated (in constraint {c})") from None
    if pos != len(raw):
        raise FormatError(f"{p}: constraints section has {len(raw) - pos} bytes left over")

    mats = []
    for m, name in enumerate("ABC"):
        if terms[m]:
            t = np.concatenate(terms[m])
            mat = SparseMatrix(np.concatenate(rows[m]), t["wire"].astype(np.uint32),
                               np.ascontiguousarray(t["coef"], dtype=np.uint64))
        else:
            mat = SparseMatrix.empty()
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


def _constraints_section(r1cs: R1CS) -> np.ndarray:
    """Section 2 as bytes (a uint8 array), built without a Python loop per constraint: the terms
    of A, B and C sorted by (constraint, matrix), their input order kept within each, as u32
    words (36-byte terms stay 4-aligned), with each block's u32 term count inserted before it."""
    nc = r1cs.n_constraints
    mats = (r1cs.a, r1cs.b, r1cs.c)
    for name, m in zip("ABC", mats):
        if m.nnz and int(m.rows.max()) >= nc:
            raise ValueError(f"matrix {name} names constraint {int(m.rows.max())} of {nc}")
    counts = np.stack([np.bincount(m.rows, minlength=nc) for m in mats], axis=1).astype("<u4").ravel()
    keys = np.concatenate([m.rows.astype(np.int64) * 3 + k for k, m in enumerate(mats)])
    place = np.empty(len(keys), np.int64)  # where each input term lands in the sorted order
    place[np.argsort(keys, kind="stable")] = np.arange(len(keys))
    del keys
    terms = np.empty(len(place), dtype=_TERM)
    start = 0
    for m in mats:
        where = place[start : start + m.nnz]
        terms["wire"][where] = m.cols
        terms["coef"][where] = m.values
        start += m.nnz
    del place
    block_starts = 9 * (np.cumsum(counts, dtype=np.int64) - counts)
    return np.insert(terms.view("<u4"), block_starts, counts).view(np.uint8)  # 9 words per term


def write_r1cs(path, r1cs: R1CS) -> None:
    header = struct.pack("<I", 32) + le(R) + struct.pack(
        "<IIIIQI", r1cs.n_wires, r1cs.n_pub_out, r1cs.n_pub_in, r1cs.n_prv_in,
        r1cs.n_labels or r1cs.n_wires, r1cs.n_constraints)
    constraints = _constraints_section(r1cs)
    labels = r1cs.wire_to_label
    if labels is None:
        labels = np.arange(r1cs.n_wires, dtype=np.uint64)
    sections = {
        R1csSection.HEADER: header,
        R1csSection.CONSTRAINTS: constraints,
        R1csSection.WIRE_TO_LABEL: np.asarray(labels, "<u8").tobytes(),
    }
    order = r1cs.custom.get("section_order", list(sections))
    write_binfile(path, b"r1cs", 1, [(k, sections[R1csSection(k)]) for k in order if k in sections])
