"""The iden3 binary container shared by .r1cs, .wtns, .ptau and .zkey files.

Layout: 4-byte magic, u32 version, u32 section count, then sections of (u32 type, u64 size,
bytes). All integers little-endian. Sections are addressed by type; a type may repeat only
where a format says so (none of ours do).
"""

from __future__ import annotations

import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zkml.crypto.bn254 import LIMBS
from zkml.errors import FormatError


@dataclass
class BinFile:
    path: str
    magic: bytes
    version: int
    data: memoryview
    sections: dict[int, tuple[int, int]]  # type -> (offset, size)

    def section(self, kind: int, name: str) -> memoryview:
        if kind not in self.sections:
            raise FormatError(f"{self.path}: section {kind} ({name}) is missing")
        off, size = self.sections[kind]
        return self.data[off : off + size]

    def has(self, kind: int) -> bool:
        return kind in self.sections


def read_binfile(path, magic: bytes, versions: tuple[int, ...]) -> BinFile:
    """Open ``path`` and index its sections; checks magic, version and section bounds."""
    path = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise FormatError(f"{path}: cannot read ({e.strerror})") from None
    if len(raw) < 12:
        raise FormatError(f"{path}: truncated: {len(raw)} bytes, not a {magic.decode()} file")
    if raw[:4] != magic:
        raise FormatError(
            f"{path}: not a .{magic.decode()} file (starts with {raw[:4]!r}, expected {magic!r})"
        )
    version, n_sections = struct.unpack_from("<II", raw, 4)
    if version not in versions:
        raise FormatError(f"{path}: version {version} is not supported (expected {versions})")
    sections: dict[int, tuple[int, int]] = {}
    pos = 12
    for i in range(n_sections):
        if pos + 12 > len(raw):
            raise FormatError(f"{path}: truncated in the header of section {i + 1} of {n_sections}")
        kind, size = struct.unpack_from("<IQ", raw, pos)
        pos += 12
        if pos + size > len(raw):
            raise FormatError(
                f"{path}: truncated: section {kind} needs {size} bytes, {len(raw) - pos} remain"
            )
        if kind in sections:
            raise FormatError(f"{path}: section {kind} appears twice")
        sections[kind] = (pos, size)
        pos += size
    return BinFile(path, magic, version, memoryview(raw), sections)


class Reader:
    """Sequential little-endian reads inside one section, with bounds checks that name it."""

    def __init__(self, buf: memoryview, path: str, what: str):
        self.buf, self.pos, self.path, self.what = buf, 0, path, what

    def take(self, n: int) -> memoryview:
        if self.pos + n > len(self.buf):
            raise FormatError(f"{self.path}: {self.what} is shorter than its contents say")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def u32(self) -> int:
        return struct.unpack("<I", self.take(4))[0]

    def u64(self) -> int:
        return struct.unpack("<Q", self.take(8))[0]

    def bigint(self, n8: int) -> int:
        return int.from_bytes(self.take(n8), "little")

    def field(self, expected: int, what: str) -> None:
        """Read (u32 n8, n8-byte prime) and check they describe BN254's field ``expected``."""
        n8 = self.u32()
        if n8 != 32:
            raise FormatError(f"{self.path}: field elements of {n8} bytes; BN254 needs 32")
        check_prime(self.path, what, self.bigint(n8), expected)

    def limbs(self, count: int, per_item: int) -> np.ndarray:
        """``count`` items of ``per_item`` 32-byte field elements as a uint64 array."""
        raw = self.take(count * per_item * 32)
        arr = np.frombuffer(raw, dtype="<u8").reshape((count,) + (per_item, LIMBS) if per_item > 1 else (count, LIMBS))
        return arr.astype(np.uint64)


def section_points(buf: memoryview, per_point: int, path: str, what: str) -> np.ndarray:
    """A section holding only points: (n, 2, 4) for G1 (per_point=2), (n, 2, 2, 4) for G2."""
    size = per_point * 32
    if len(buf) % size:
        raise FormatError(f"{path}: {what} has {len(buf)} bytes, not a multiple of {size}")
    arr = np.frombuffer(buf, dtype="<u8").astype(np.uint64)
    return arr.reshape((-1, 2, 4) if per_point == 2 else (-1, 2, 2, 4))


def write_binfile(path, magic: bytes, version: int, sections: list[tuple[int, bytes]]) -> None:
    """Write the container atomically: a temp file beside ``path``, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(magic + struct.pack("<II", version, len(sections)))
            for kind, payload in sections:
                f.write(struct.pack("<IQ", kind, len(payload)))
                f.write(payload)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_atomic_text(path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def first_not_below(arr: np.ndarray, modulus: int) -> int:
    """Index of the first row of an (n, 4) limb array whose value is >= ``modulus``, or -1."""
    arr = np.asarray(arr).reshape(-1, LIMBS)
    m = np.frombuffer(le(modulus), dtype="<u8")
    less = np.zeros(len(arr), bool)
    equal = np.ones(len(arr), bool)
    for k in (3, 2, 1, 0):  # lexicographic, from the top limb down
        less |= equal & (arr[:, k] < m[k])
        equal &= arr[:, k] == m[k]
    bad = np.flatnonzero(~less)
    return int(bad[0]) if len(bad) else -1


def check_prime(path: str, what: str, got: int, expected: int) -> None:
    if got != expected:
        raise FormatError(
            f"{path}: {what} is {got}, not BN254's ({expected}); the file is for another curve"
        )


def le(x: int, n: int = 32) -> bytes:
    return x.to_bytes(n, "little")
