"""Whole results or nothing: a command's output files are staged beside their destinations and
renamed into place together, only after every one of them was written.

A writer receives the staging path from ``OutputSet.stage`` and writes there with the format's
ordinary writer; ``commit`` then renames all staged files. An error (a full disk, Ctrl-C)
before the commit removes every staged file, so no reader ever sees a proof without its public
signals or a key the manifest does not list.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from zkml.errors import ZkmlError


class OutputError(ZkmlError):
    """An output could not be written (disk full, no permission): names the path."""


def os_error_message(e: OSError, path=None) -> str:
    where = path or e.filename or "an output file"
    name = errno.errorcode.get(e.errno, "") if e.errno else ""
    hint = {errno.ENOSPC: "; free some space or write elsewhere",
            errno.EDQUOT: "; free some space or write elsewhere",
            errno.EACCES: "; check the folder's permissions",
            errno.EROFS: "; the file system is read-only, write elsewhere"}.get(e.errno, "")
    return f"{where}: cannot write ({e.strerror or e}{f', {name}' if name else ''}){hint}"


def same_file(a, b) -> bool:
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def refuse_overlap(outputs, inputs) -> None:
    """Refuse, before any work, an output that is also an input or another output."""
    outputs = [Path(p) for p in outputs if p is not None]
    inputs = [Path(p) for p in inputs if p is not None]
    for i, o in enumerate(outputs):
        for p in inputs:
            if same_file(o, p):
                raise ZkmlError(f"{o}: is also an input of this command ({p}); choose another output path")
        for o2 in outputs[i + 1:]:
            if same_file(o, o2):
                raise ZkmlError(f"{o}: given for two outputs; choose a different path for each")


class OutputSet:
    """Stage files, then rename them into place together (``with OutputSet() as out: ...``)."""

    def __init__(self):
        self._staged: list[tuple[Path, Path]] = []
        self.written: list[Path] = []

    def stage(self, dest) -> Path:
        """A fresh temporary path in ``dest``'s folder (same file system, so the rename is atomic)."""
        dest = Path(dest)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
            os.close(fd)
        except OSError as e:
            raise OutputError(os_error_message(e, dest)) from None
        self._staged.append((Path(tmp), dest))
        return Path(tmp)

    def text(self, dest, text: str) -> None:
        tmp = self.stage(dest)
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise OutputError(os_error_message(e, dest)) from None

    def commit(self) -> list[Path]:
        for tmp, dest in self._staged:
            try:
                os.replace(tmp, dest)
            except OSError as e:
                raise OutputError(os_error_message(e, dest)) from None
            self.written.append(dest)
        self._staged = []
        return self.written

    def discard(self) -> None:
        for tmp, _ in self._staged:
            try:
                tmp.unlink()
            except OSError:
                pass
        self._staged = []

    def __enter__(self) -> "OutputSet":
        return self

    def __exit__(self, kind, value, tb) -> bool:
        if kind is None:
            self.commit()
            return False
        self.discard()
        if isinstance(value, OSError):
            raise OutputError(os_error_message(value)) from None
        return False
