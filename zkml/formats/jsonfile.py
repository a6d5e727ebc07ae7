"""The one JSON reader every command uses: size, UTF-8, depth and number limits checked before
the document reaches ``json.loads``, and typed field access that names the field.

Why a depth scan of our own: py_ecc raises the interpreter's recursion limit to 100,000 when it
is imported, after which ``json.loads`` of a document nested that deep overflows the C stack
(a segfault, not an exception). Counting brackets first keeps every reader safe whatever was
imported before it.
"""

from __future__ import annotations

import json
from pathlib import Path

from zkml.errors import FormatError, Unreadable, ZkmlError

MAX_BYTES = 256 << 20  # a verifying key of 2^20 public signals is ~200 MB; nothing we read is larger
MAX_DEPTH = 64  # our deepest document (an attestation holding a G2 point) nests 7 levels
MAX_DIGITS = 100  # field elements have 78 decimal digits

_KEEP = b'[]{}"\\'
_DROP = bytes(b for b in range(256) if b not in _KEEP)


class _NumberTooLong(ValueError):
    pass


def _parse_int(s: str) -> int:
    if len(s.lstrip("-")) > MAX_DIGITS:
        raise _NumberTooLong(f"an integer of {len(s)} digits (at most {MAX_DIGITS})")
    return int(s)


def _parse_constant(s: str):
    raise ValueError(f"{s} is not a JSON number")


def nesting_depth(raw: bytes) -> int:
    """Deepest bracket nesting of a JSON text, brackets inside strings ignored; linear, no recursion."""
    marks = raw.translate(None, _DROP)
    if marks.count(b"[") + marks.count(b"{") <= MAX_DEPTH and b'"' not in marks:
        return marks.count(b"[") + marks.count(b"{")
    depth = deepest = 0
    in_string = escaped = False
    for c in marks:
        if in_string:
            if escaped:
                escaped = False
            elif c == 0x5C:  # backslash
                escaped = True
            elif c == 0x22:
                in_string = False
        elif c == 0x22:
            in_string = True
        elif c in (0x5B, 0x7B):
            depth += 1
            if depth > deepest:
                deepest = depth
        elif c in (0x5D, 0x7D):
            depth -= 1
    return deepest


def parse_json(raw: bytes, where: str, *, max_depth: int = MAX_DEPTH, error: type[ZkmlError] = Unreadable):
    """Decode a JSON text held in memory; every failure is one ``error`` naming ``where``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(f"{where}: not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start})") from None
    depth = nesting_depth(raw)
    if depth > max_depth:
        raise error(f"{where}: JSON nested {depth} levels deep (at most {max_depth}); not a zkml file")
    try:
        return json.loads(text, parse_int=_parse_int, parse_constant=_parse_constant)
    except _NumberTooLong as e:
        raise error(f"{where}: holds {e}; not a zkml file") from None
    except json.JSONDecodeError as e:
        raise error(f"{where}: not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None
    except (ValueError, RecursionError) as e:
        raise error(f"{where}: not valid JSON ({e})") from None


def read_json(path, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH,
              error: type[ZkmlError] = Unreadable):
    """Read and decode the JSON file ``path``; errors name the file."""
    raw = read_limited(path, max_bytes, error)
    return parse_json(raw, str(path), max_depth=max_depth, error=error)


def read_limited(path, max_bytes: int = MAX_BYTES, error: type[ZkmlError] = Unreadable) -> bytes:
    """A file's bytes, refused before reading when it is larger than ``max_bytes``."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise error(f"{path}: {size:,} bytes, more than the {max_bytes:,} a file of this kind may hold")
        return path.read_bytes()
    except IsADirectoryError:
        raise error(f"{path}: is a folder, expected a file") from None
    except OSError as e:
        raise error(f"{path}: cannot read ({e.strerror})") from None


_TYPE_NAMES = {dict: "an object", list: "a list", str: "a string", int: "an integer", float: "a number",
               bool: "true or false", type(None): "null"}


def type_name(v) -> str:
    return _TYPE_NAMES.get(type(v), type(v).__name__)


def field(obj, name: str, types, where: str, *, error: type[ZkmlError] = FormatError):
    """``obj[name]`` checked to be one of ``types``; ``name`` may be dotted ("claim.input.name").

    Booleans are never accepted as numbers (JSON true is not 1)."""
    types = types if isinstance(types, tuple) else (types,)
    cur, seen = obj, []
    for part in name.split("."):
        if not isinstance(cur, dict):
            at = ".".join(seen) or "the document"
            raise error(f"{where}: {at} must be an object, got {type_name(cur)}")
        seen.append(part)
        if part not in cur:
            raise error(f"{where}: field '{'.'.join(seen)}' is missing")
        cur = cur[part]
    if isinstance(cur, bool) and bool not in types or not isinstance(cur, types):
        want = " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)
        raise error(f"{where}: field '{name}' must be {want}, got {type_name(cur)}")
    return cur


def decimal(v, name: str, where: str, *, below: int | None = None, error: type[ZkmlError] = FormatError) -> int:
    """A non-negative decimal string (or JSON integer) as an int, optionally checked < ``below``."""
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        raise error(f"{where}: {name} must be a decimal string, got {type_name(v)}")
    if isinstance(v, str):
        s = v.strip()
        if not s.isdigit() or not s.isascii():
            raise error(f"{where}: {name} is not a decimal number: {v[:40]!r}")
        if len(s) > MAX_DIGITS:
            raise error(f"{where}: {name} has {len(s)} digits (at most {MAX_DIGITS})")
        v = int(s)
    if v < 0:
        raise error(f"{where}: {name} is negative")
    if below is not None and v >= below:
        raise error(f"{where}: {name} is not below the field modulus")
    return v
