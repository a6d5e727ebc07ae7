"""This machine's own record of expensive checks a file's contents already passed.

A record is an empty-ish file named by the sha256 of exactly the bytes that were checked (and
of the check's name and version), under ``$XDG_CACHE_HOME/zkml/checked/`` (default
``~/.cache/zkml/checked/``). Only this folder is ever consulted, never a record that came with
a bundle or a key, and only while it belongs to the current user and nobody else can write to
it. A folder that cannot be created, read or written means "not cached": the check runs again;
caching never turns into an error.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from pathlib import Path


def folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "zkml" / "checked"


def digest(check: str, chunks) -> str:
    """The record's name: sha256 over the check's name and the checked bytes, in order."""
    h = hashlib.sha256(check.encode() + b"\0")
    for c in chunks:
        h.update(c)
    return h.hexdigest()


def _trusted(path: Path) -> bool:
    try:
        st = path.stat()
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o022


def passed(name: str) -> bool:
    """True iff this machine recorded that the bytes behind ``name`` passed the check."""
    d = folder()
    try:
        return _trusted(d) and (d / name).is_file()
    except OSError:
        return False


def remember(name: str) -> None:
    """Record a passed check; silently does nothing where the cache folder is not usable."""
    d = folder()
    try:
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not _trusted(d):
            return
        fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=d)
        try:
            with os.fdopen(fd, "w") as f:
                f.write("passed\n")
            os.replace(tmp, d / name)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass
