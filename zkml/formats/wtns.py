"""circom's ``.wtns`` (version 2): section 1 (u32 n8, prime, u32 count), section 2 the values,
little-endian, standard form, signal 0 = the constant 1."""

from __future__ import annotations

import struct
from enum import IntEnum

import numpy as np

from zkml.crypto.bn254 import R
from zkml.errors import FormatError
from zkml.formats.binfile import Reader, first_not_below, le, read_binfile, write_binfile


class WtnsSection(IntEnum):
    HEADER = 1
    VALUES = 2


def read_wtns(path) -> np.ndarray:
    """The witness as an (n, 4) uint64 array of standard-form values < r."""
    f = read_binfile(path, b"wtns", (2,))
    h = Reader(f.section(WtnsSection.HEADER, "header"), f.path, "header")
    h.field(R, "the field prime")
    n = h.u32()
    if len(h.buf) != h.pos:
        raise FormatError(f"{f.path}: header section has {len(h.buf) - h.pos} bytes more than its fields")
    values = f.section(WtnsSection.VALUES, "values")
    if len(values) != 32 * n:
        raise FormatError(f"{f.path}: header says {n} values, the values section holds {len(values) / 32:g}")
    arr = np.frombuffer(values, dtype="<u8").reshape(n, 4).astype(np.uint64)
    bad = first_not_below(arr, R)
    if bad >= 0:
        raise FormatError(f"{f.path}: section VALUES, witness value {bad} is not below the field prime r "
                          "(corrupt file); compute the witness again")
    return arr


def write_wtns(path, witness: np.ndarray) -> None:
    witness = np.ascontiguousarray(witness, dtype="<u8").reshape(-1, 4)
    header = struct.pack("<I", 32) + le(R) + struct.pack("<I", len(witness))
    write_binfile(path, b"wtns", 2, [(WtnsSection.HEADER, header), (WtnsSection.VALUES, witness.tobytes())])
