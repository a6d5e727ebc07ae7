"""Argument checks for the Python API: what click's types check for the CLI (a file exists, a
choice is one of its values), with the option's CLI name in the message."""

from __future__ import annotations

from pathlib import Path

from zkml.errors import Unreadable, ZkmlError


def existing_file(path, option: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise Unreadable(f"{p}: no such file ({option})")
    if p.is_dir():
        raise Unreadable(f"{p}: a folder, not a file ({option})")
    return p


def existing_folder(path, option: str) -> Path:
    p = Path(path)
    if not p.is_dir():
        raise Unreadable(f"{p}: no such folder ({option})" if not p.exists() else f"{p}: a file, not a folder ({option})")
    return p


def optional_file(path, option: str) -> Path | None:
    return None if path is None else existing_file(path, option)


def choice(value, option: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ZkmlError(f"{option} {value!r}: expected one of {', '.join(choices)}")
    return value


def at_least(value, option: str, low: int, optional: bool = True):
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ZkmlError(f"{option} {value!r}: expected an integer of at least {low}")
    return value
