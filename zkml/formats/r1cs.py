"""circom's ``.r1cs`` (version 1): header, constraints, wire-to-label map.

Section 1 header: u32 n8, prime, u32 nWires, nPubOut, nPubIn, nPrvIn, u64 nLabels,
u32 mConstraints. Section 2: per constraint, for A, B and C: u32 nTerms then (u32 wire,
n8-byte coefficient, standard form) per term. Section 3: u64 label per wire.

Ours, for lookup circuits only: section 16 (``ROUNDS``): u32 layout version (1), u32 n_round2,
the number of signals (the last ones) solved in the second round, after the challenge (the
last public input). circom's readers skip sections they do not know.
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
    ROUNDS = 16  # zkml: the two-round (lookup) layout


ROUNDS_VERSION = 1


def _parse_constraints(raw: bytes, n_constraints: int, p) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per matrix, the constraint index and the (wire, coefficient) record of every term, in
    file order. Only the term counts are walked one by one (each says where the next block
    starts); the terms are then cut out of the section in one piece."""
    words = memoryview(raw)[: len(raw) // 4 * 4].cast("I") if len(raw) >= 4 else memoryview(b"").cast("I")
    n_words = len(words)
    n_blocks = 3 * n_constraints
    heads: list[int] = []  # word offset of each block's count
    append = heads.append
    pos = 0
    try:
        for _ in range(min(n_constraints, n_words)):  # A, B, C: every block takes at least one word
            append(pos)
            pos += 1 + 9 * words[pos]
            append(pos)
            pos += 1 + 9 * words[pos]
            append(pos)
            pos += 1 + 9 * words[pos]
    except IndexError:  # a count past the end of the section
        heads.pop()
    done = len(heads)
    if done < n_blocks or pos > n_words:  # a count past the end, or the last block runs over it
        failed = done if pos <= n_words else done - 1
        raise FormatError(f"{p}: constraints section is truncated (in constraint {failed // 3})")
    if 4 * pos != len(raw):
        raise FormatError(f"{p}: constraints section has {len(raw) - 4 * pos} bytes left over")
    all_words = np.frombuffer(raw, "<u4", count=n_words)
    heads = np.array(heads, np.int64)
    counts = all_words[heads].astype(np.int64)
    is_term = np.ones(n_words, bool)
    is_term[heads] = False
    records = all_words[is_term].view(_TERM)
    block_of = np.repeat(np.arange(n_blocks, dtype=np.int64), counts)
    rows, terms = [], []
    for m in range(3):
        pick = block_of % 3 == m
        rows.append((block_of[pick] // 3).astype(np.uint32))
        terms.append(records[pick])
    return rows, terms


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
    rows, terms = _parse_constraints(bytes(buf), n_constraints, p)
    mats = []
    for m, name in enumerate("ABC"):
        t = terms[m]
        mat = SparseMatrix(rows[m], t["wire"].astype(np.uint32), np.ascontiguousarray(t["coef"], dtype=np.uint64))
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
    n_round2 = 0
    if f.has(R1csSection.ROUNDS):
        rd = Reader(f.section(R1csSection.ROUNDS, "rounds"), p, "rounds section")
        version, n_round2 = rd.u32(), rd.u32()
        if version != ROUNDS_VERSION:
            raise FormatError(f"{p}: rounds section has layout version {version}; this zkml reads version "
                              f"{ROUNDS_VERSION} (compile the model again with this zkml)")
        if n_round2 == 0 or n_pub_in == 0 or 1 + n_pub_out + n_pub_in + n_round2 > n_wires:
            raise FormatError(f"{p}: rounds section names {n_round2} second-round signals, inconsistent "
                              f"with the header ({n_wires} wires, {n_pub_in} public inputs)")
    # circom2 writes the constraints before the header; keep the order so files round-trip.
    order = [int(k) for k in f.sections]
    return R1CS(n_round2=n_round2, n_wires=n_wires, n_pub_out=n_pub_out, n_pub_in=n_pub_in, n_prv_in=n_prv_in,
                n_constraints=n_constraints, a=mats[0], b=mats[1], c=mats[2],
                n_labels=n_labels, wire_to_label=labels, custom={"section_order": order})


def _constraints_section(r1cs: R1CS) -> np.ndarray:
    """Section 2 as bytes (a uint8 array), built without a Python loop per constraint: the terms
    of A, B and C sorted by (constraint, matrix), their input order kept within each, as u32
    words (36-byte terms stay 4-aligned), with each block's u32 term count placed before it."""
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
    # block b's count lands after the 9-word terms of the blocks before it and their b counts
    header = 9 * (np.cumsum(counts, dtype=np.int64) - counts) + np.arange(len(counts))
    out = np.empty(len(header) + 9 * len(terms), "<u4")
    is_header = np.zeros(len(out), bool)
    is_header[header] = True
    out[is_header] = counts
    out[~is_header] = terms.view("<u4")
    return out.view(np.uint8)


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
    if r1cs.n_round2:
        sections[R1csSection.ROUNDS] = struct.pack("<II", ROUNDS_VERSION, r1cs.n_round2)
    order = list(r1cs.custom.get("section_order", list(sections)))
    order += [k for k in sections if k not in order]
    write_binfile(path, b"r1cs", 1, [(k, sections[R1csSection(k)]) for k in order if k in sections])
