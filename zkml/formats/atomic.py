"""Whole results or nothing: a command's output files are staged beside their destinations and
renamed into place together, only after every one of them was written.

A writer receives the staging path from ``OutputSet.stage`` and writes there with the format's
ordinary writer; ``commit`` then renames all staged files. An error (a full disk, Ctrl-C)
before the commit removes every staged file, so no reader ever sees a proof without its public
signals or a key the manifest does not list. Stage the file that makes the others count (a
manifest) last. A rename that fails part-way through the commit puts the earlier ones back.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import signal
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

from zkml.errors import ZkmlError

# Every output this process renamed into place: what an interrupted command says it wrote.
WRITTEN: list[Path] = []


class OutputError(ZkmlError):
    """An output could not be written (disk full, no permission): names the path."""


_HINTS = {errno.ENOSPC: "; free some space or write elsewhere",
          errno.EDQUOT: "; free some space or write elsewhere",
          errno.EACCES: "; check the folder's permissions",
          errno.EPERM: "; check the folder's permissions",
          errno.EROFS: "; the file system is read-only, write elsewhere"}


def os_error_message(e: OSError, path=None, verb: str | None = "cannot write") -> str:
    """One line for an OSError: the path, what failed, errno's name, and what to do."""
    where = path or e.filename or "an output file"
    name = errno.errorcode.get(e.errno, "") if e.errno else ""
    reason = f"{e.strerror or e}{f', {name}' if name else ''}"
    return f"{where}: {f'{verb} ({reason})' if verb else reason}{_HINTS.get(e.errno, '')}"


def same_file(a, b) -> bool:
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def _inside(inner: Path, outer: Path) -> bool:
    try:
        return outer.is_dir() and inner.resolve().is_relative_to(outer.resolve())
    except OSError:
        return False


def refuse_overlap(outputs, inputs, hint: str = "choose another output path") -> None:
    """Refuse, before any work, an output that is also an input, lies inside an input folder
    (a bundle), holds an input (a folder it would replace), or is given for two outputs."""
    outputs = [Path(p) for p in outputs if p is not None]
    inputs = [Path(p) for p in inputs if p is not None]
    for i, o in enumerate(outputs):
        for p in inputs:
            if same_file(o, p):
                raise ZkmlError(f"{o}: is also an input of this command ({p}); {hint}")
            if _inside(o, p):
                raise ZkmlError(f"{o}: is inside {p}, an input of this command; write it elsewhere")
            if _inside(p, o):
                raise ZkmlError(f"{o}: holds {p}, an input of this command, and would replace it; "
                                "choose another output folder")
        for o2 in outputs[i + 1:]:
            if same_file(o, o2):
                raise ZkmlError(f"{o}: given for two outputs; choose a different path for each")


@contextmanager
def interrupts_deferred():
    """Hold Ctrl-C back (it arrives right after) while a few renames must happen together."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _backup_name(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.old")


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

    def text(self, dest, text: str) -> Path:
        tmp = self.stage(dest)
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as e:
            raise OutputError(os_error_message(e, dest)) from None
        return tmp

    def commit(self) -> list[Path]:
        """Flush every staged file to disk, then rename them all; on any failure the files
        already renamed get their old content back (or are removed) and nothing is left staged."""
        for tmp, dest in self._staged:  # a late write error (quota, NFS) shows here, before any rename
            try:
                fd = os.open(tmp, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as e:
                raise OutputError(os_error_message(e, dest)) from None
        done: list[tuple[Path, Path | None]] = []
        with interrupts_deferred():
            try:
                for tmp, dest in self._staged:
                    backup = None
                    try:
                        backup = self._keep_old(dest)
                        os.replace(tmp, dest)
                    except OSError as e:
                        if backup is not None:
                            backup.unlink(missing_ok=True)
                        raise OutputError(os_error_message(e, dest)) from None
                    done.append((dest, backup))
            except BaseException:
                self._roll_back(done)
                raise
        for dest, backup in done:
            if backup is not None:
                backup.unlink(missing_ok=True)
            self.written.append(dest)
            WRITTEN.append(dest)
        self._staged = []
        return self.written

    @staticmethod
    def _keep_old(dest: Path) -> Path | None:
        """A second name for the file ``dest`` holds now, so a failed commit can restore it."""
        if not dest.is_file():
            return None
        backup = _backup_name(dest)
        try:
            os.link(dest, backup)
        except OSError:  # no hard links here (some network or FAT file systems): copy
            shutil.copy2(dest, backup)
        return backup

    def _roll_back(self, done) -> None:
        for dest, backup in reversed(done):
            try:
                if backup is not None:
                    os.replace(backup, dest)
                else:
                    dest.unlink(missing_ok=True)
            except OSError:
                pass
        self.discard()

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
        being_written = self._staged[-1][1] if self._staged else None
        self.discard()
        if isinstance(value, OSError):  # a format writer ran out of space writing the last staged file
            raise OutputError(os_error_message(value, being_written)) from None
        return False


def replace_folder(tmp: Path, dest: Path) -> None:
    """Rename a fully written folder ``tmp`` onto ``dest``, replacing an old ``dest`` only once
    the new one is in place (the old one comes back if the rename fails)."""
    old = None
    with interrupts_deferred():
        if dest.exists():
            old = _backup_name(dest)
            os.replace(dest, old)
        try:
            os.replace(tmp, dest)
        except BaseException:
            if old is not None:
                os.replace(old, dest)
            raise
    WRITTEN.append(dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
