"""Type checks on a bundle's manifest.json: every field a command reads is checked once, when
the manifest is read, so a hand-edited or corrupted manifest is one line naming the field
instead of a traceback wherever the field happens to be used."""

from __future__ import annotations

import math
import re

from zkml.errors import FormatError
from zkml.formats.jsonfile import field, type_name

_HEX64 = re.compile(r"[0-9a-f]{64}")
VISIBILITIES = ("public", "committed")


def _check(v, name: str, types, where: str):
    types = types if isinstance(types, tuple) else (types,)
    if isinstance(v, bool) and bool not in types or not isinstance(v, types):
        want = " or ".join({int: "an integer", float: "a number", str: "a string", list: "a list",
                            dict: "an object", type(None): "null"}.get(t, t.__name__) for t in types)
        raise FormatError(f"{where}: field '{name}' must be {want}, got {type_name(v)}")
    return v


def _int_list(v, name: str, where: str, *, positive: bool = False) -> list:
    _check(v, name, list, where)
    for i, d in enumerate(v):
        _check(d, f"{name}[{i}]", int, where)
        if positive and d < 1:
            raise FormatError(f"{where}: field '{name}[{i}]' must be a positive integer, got {d}")
    return v


def _number_list(v, name: str, where: str, n: int) -> list:
    _check(v, name, list, where)
    if len(v) != n:
        raise FormatError(f"{where}: field '{name}' has {len(v)} values, expected {n}")
    for i, d in enumerate(v):
        _check(d, f"{name}[{i}]", (int, float), where)
        if not math.isfinite(d):
            raise FormatError(f"{where}: field '{name}[{i}]' is not a finite number")
    return v


def _small_int(v, name: str, where: str, lo: int, hi: int) -> int:
    _check(v, name, int, where)
    if not lo <= v <= hi:
        raise FormatError(f"{where}: field '{name}' = {v} lies outside {lo}..{hi}")
    return v


def check_manifest(m, where: str) -> dict:
    """``m`` itself when every field commands use has its type; else one FormatError naming it."""
    if not isinstance(m, dict):
        raise FormatError(f"{where}: must hold a JSON object, got {type_name(m)}")
    field(m, "name", str, where)
    for k in ("backend", "curve"):
        if k in m:
            field(m, k, str, where)
    for k in ("model.sha256", "model.weights_sha256"):
        field(m, k, str, where)
    _small_int(field(m, "config.frac_bits", int, where), "config.frac_bits", where, 0, 64)
    _small_int(field(m, "config.weight_bits", int, where), "config.weight_bits", where, 1, 64)
    if "public_signals" in m["config"] and field(m, "config.public_signals", str, where) not in ("packed", "hash"):
        raise FormatError(f"{where}: field 'config.public_signals' must be 'packed' or 'hash'")
    if "lookups" in m["config"]:
        field(m, "config.lookups", bool, where)
    if field(m, "config", dict, where).get("weights", "fixed") not in ("fixed", "committed"):
        raise FormatError(f"{where}: field 'config.weights' must be 'fixed' or 'committed'")
    if m["config"].get("weights") == "committed":
        c = field(m, "weights.commitment", str, where)
        if not _HEX64.fullmatch(c) or m["model"]["weights_sha256"] != c:
            raise FormatError(f"{where}: field 'weights.commitment' must be 64 hex digits, equal to model.weights_sha256")
        field(m, "weights.scales", dict, where)
    inp = field(m, "input", dict, where)
    field(m, "input.name", str, where)
    shape = _int_list(field(m, "input.shape", list, where), "input.shape", where, positive=True)
    _small_int(field(m, "input.bits", int, where), "input.bits", where, 2, 62)
    _small_int(field(m, "input.frac", int, where), "input.frac", where, 0, 60)
    if field(m, "input.visibility", str, where) not in VISIBILITIES:
        raise FormatError(f"{where}: field 'input.visibility' must be 'public' or 'committed', got {inp['visibility']!r}")
    for k, v in field(m, "input.tensor_fracs", dict, where).items() if "tensor_fracs" in inp else ():
        _small_int(v, f"input.tensor_fracs.{k}", where, 0, 64)
    if inp.get("range") is not None:
        _check_range(m, shape, where)
    outputs = field(m, "outputs", list, where)
    if not outputs:
        raise FormatError(f"{where}: field 'outputs' is empty")
    for i, o in enumerate(outputs):
        at = f"outputs[{i}]"
        _check(o, at, dict, where)
        for k in ("name", "shape", "frac", "lo", "hi"):
            if k not in o:
                raise FormatError(f"{where}: field '{at}.{k}' is missing")
        _check(o["name"], f"{at}.name", str, where)
        n = math.prod(_int_list(o["shape"], f"{at}.shape", where))
        _small_int(o["frac"], f"{at}.frac", where, 0, 64)
        for k in ("lo", "hi"):
            _int_list(o[k], f"{at}.{k}", where)
            if len(o[k]) != n:
                raise FormatError(f"{where}: field '{at}.{k}' has {len(o[k])} values, expected {n}")
        if o.get("transform") is not None:
            _check(o["transform"], f"{at}.transform", str, where)
    for name, h in field(m, "files", dict, where).items():
        if not isinstance(h, str) or not _HEX64.fullmatch(h):
            raise FormatError(f"{where}: field 'files.{name}' must be a sha256 (64 hex digits)")
        if name.startswith("/") or ".." in name.split("/") or "\\" in name:
            raise FormatError(f"{where}: field 'files' names {name!r}, which is not a file inside the bundle")
    return m


def _check_range(m: dict, shape: list, where: str) -> None:
    per = field(m, "input.range", dict, where).get("per", "element")
    if per not in ("element", "channel") or per == "channel" and len(shape) < 2:
        raise FormatError(f"{where}: field 'input.range.per' must be 'element' or 'channel' (for inputs of rank 2 or more)")
    n = shape[1] if per == "channel" else math.prod(shape)
    lo = _number_list(field(m, "input.range.min", list, where), "input.range.min", where, n)
    hi = _number_list(field(m, "input.range.max", list, where), "input.range.max", where, n)
    if any(a > b for a, b in zip(lo, hi)):
        raise FormatError(f"{where}: field 'input.range' has a min above its max")
    rows = m["input"]["range"].get("token_ids")
    if rows is not None and (not isinstance(rows, int) or isinstance(rows, bool) or rows < 1):
        raise FormatError(f"{where}: field 'input.range.token_ids' must be a positive integer (the embedding's rows)")
    margin = field(m, "input.range.margin", (int, float), where)
    if not (math.isfinite(margin) and margin >= 0):
        raise FormatError(f"{where}: field 'input.range.margin' must be a non-negative number")
