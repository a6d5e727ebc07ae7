"""Fuzzing the shared JSON reader and the staged writer: whatever the bytes, a reader raises one
FormatError naming the file (never another exception, never a crash), and a writer that fails
leaves nothing behind."""

from __future__ import annotations

import errno
import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zkml.errors import FormatError, ZkmlError
from zkml.formats import atomic
from zkml.formats.jsonfile import MAX_DEPTH, decimal, field, nesting_depth, parse_json, read_json

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_are_parsed_or_refused_in_one_line(raw):
    try:
        parse_json(raw, "fuzz.json")
    except FormatError as e:
        assert str(e).startswith("fuzz.json: ") and "\n" not in str(e)


@FUZZ
@given(json_values, st.data())
def test_mutated_documents_are_parsed_or_refused(value, data):
    raw = bytearray(json.dumps(value).encode())
    for _ in range(data.draw(st.integers(0, 4))):
        kind = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if kind == "flip" and raw:
            i = data.draw(st.integers(0, len(raw) - 1))
            raw[i] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "cut" and raw:
            del raw[data.draw(st.integers(0, len(raw) - 1)):]
        else:
            raw[data.draw(st.integers(0, len(raw))):0] = data.draw(st.sampled_from([b"[", b"{", b'"', b"\xff", b"9" * 300]))
    try:
        parse_json(bytes(raw), "m.json")
    except FormatError as e:
        assert str(e).startswith("m.json: ")


@FUZZ
@given(json_values)
def test_valid_documents_round_trip(value):
    raw = json.dumps(value).encode()
    if nesting_depth(raw) <= MAX_DEPTH and "9" * 101 not in raw.decode():
        assert parse_json(raw, "ok.json") == json.loads(raw)


@given(st.text(alphabet='[]{}"\\ab', max_size=60))
def test_depth_scan_ignores_brackets_inside_strings(s):
    doc = json.dumps({"k": s, "l": [[s]]}).encode()
    assert nesting_depth(doc) == 3


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
def test_deep_nesting_is_refused_even_after_py_ecc_raised_the_recursion_limit(tmp_path, depth):
    """py_ecc sets the recursion limit to 100000; json.loads of such a document then overflows
    the C stack. The reader must refuse it first, in a process that imported py_ecc."""
    p = tmp_path / "deep.json"
    p.write_text("[" * depth + "]" * depth)
    code = ("import py_ecc.optimized_bn128, sys\n"
            "from zkml.formats.jsonfile import read_json\n"
            "from zkml.errors import FormatError\n"
            f"try:\n    read_json({str(p)!r})\nexcept FormatError as e:\n    print(e); sys.exit(3)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 3, r.stderr
    assert "nested" in r.stdout and str(p) in r.stdout


def test_limits_and_encodings(tmp_path):
    p = tmp_path / "x.json"
    p.write_bytes(b'{"a": "\xd8"}')
    with pytest.raises(FormatError, match="not UTF-8"):
        read_json(p)
    p.write_text("[" + "1" * 5000 + "]")
    with pytest.raises(FormatError, match="5000 digits"):
        read_json(p)
    p.write_text("[NaN]")
    with pytest.raises(FormatError, match="NaN"):
        read_json(p)
    p.write_text("[1]" + " " * 100)
    with pytest.raises(FormatError, match="bytes, more than"):
        read_json(p, max_bytes=50)
    with pytest.raises(FormatError, match="cannot read"):
        read_json(tmp_path / "missing.json")
    with pytest.raises(FormatError, match="is a folder"):
        read_json(tmp_path)


def test_typed_fields_name_the_field():
    doc = {"claim": {"input": {"name": "x", "shape": [1, 2]}, "n": True}}
    assert field(doc, "claim.input.name", str, "p.json") == "x"
    with pytest.raises(FormatError, match=r"p.json: field 'claim.input.shape' must be a string, got a list"):
        field(doc, "claim.input.shape", str, "p.json")
    with pytest.raises(FormatError, match=r"field 'claim.output' is missing"):
        field(doc, "claim.output", dict, "p.json")
    with pytest.raises(FormatError, match=r"claim.input.name must be an object"):
        field(doc, "claim.input.name.x", str, "p.json")
    with pytest.raises(FormatError, match=r"must be an integer, got true or false"):
        field(doc, "claim.n", int, "p.json")  # JSON true is not 1


@pytest.mark.parametrize("v, msg", [("abc", "not a decimal"), ("", "not a decimal"), (None, "got null"),
                                    (1.5, "got a number"), (True, "got true or false"), ("-3", "not a decimal"),
                                    ("9" * 101, "101 digits"), (str(2**254), "not below"), ("٣", "not a decimal")])
def test_decimal_refuses(v, msg):
    with pytest.raises(FormatError, match=msg):
        decimal(v, "public_signals[0]", "p.json", below=2**254 - 1)


def test_decimal_accepts_canonical_values():
    assert decimal("12", "s", "p") == 12 and decimal(7, "s", "p") == 7 and decimal(" 5 ", "s", "p") == 5


# --- the staged writer ----------------------------------------------------------------------


def test_output_set_renames_all_or_nothing(tmp_path, monkeypatch):
    a, b = tmp_path / "proof.json", tmp_path / "public.json"
    with atomic.OutputSet() as outs:
        outs.text(a, "A")
        outs.text(b, "B")
    assert a.read_text() == "A" and b.read_text() == "B"

    real_open = open

    def full_disk(path, *args, **kw):
        if str(path).startswith(str(tmp_path / ".public.json")):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_open(path, *args, **kw)

    monkeypatch.setattr("builtins.open", full_disk)
    with pytest.raises(atomic.OutputError, match=r"public.json: cannot write \(No space left on device, ENOSPC\)"):
        with atomic.OutputSet() as outs:
            outs.text(a, "A2")
            outs.text(b, "B2")
    monkeypatch.undo()
    assert a.read_text() == "A" and b.read_text() == "B"  # the old results stand, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proof.json", "public.json"]  # no temp files


def test_output_set_discards_on_interrupt(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic.OutputSet() as outs:
            outs.text(tmp_path / "a.json", "A")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_overlapping_outputs_are_refused(tmp_path):
    f = tmp_path / "in.json"
    f.write_text("x")
    with pytest.raises(ZkmlError, match="is also an input"):
        atomic.refuse_overlap([tmp_path / "." / "in.json"], [f])
    with pytest.raises(ZkmlError, match="two outputs"):
        atomic.refuse_overlap([tmp_path / "o.json", tmp_path / "o.json"], [f])
    atomic.refuse_overlap([tmp_path / "o.json"], [f])  # distinct paths pass
