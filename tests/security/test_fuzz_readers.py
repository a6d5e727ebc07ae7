"""Fuzzing every reader with hypothesis: files of every kind, truncated, bit-flipped, spliced,
with values swapped for other JSON types, nested deep or holding huge numbers. A reader either
accepts the file or raises one ZkmlError whose single line names the file; any other exception
(a traceback for a user) fails the test. The deterministic cases of the probe are in
test_probe_regression.py; these find the ones nobody thought of. ZKML_FUZZ_EXAMPLES sets the
examples per reader (150 in the default suite)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_probe_regression import base, probe_cache  # noqa: F401  (session fixtures: one bundle, proofs, keys)
from zkml.errors import ZkmlError

FUZZ = settings(max_examples=int(os.environ.get("ZKML_FUZZ_EXAMPLES", "150")), deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@st.composite
def mutated(draw, raw: bytes) -> bytes:
    """A few byte-level edits: bit flips, a cut, an insertion, a stretch overwritten."""
    b = bytearray(raw)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "overwrite"]))
        i = draw(st.integers(0, max(len(b) - 1, 0)))
        if kind == "flip" and b:
            b[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del b[i:]
        elif kind == "insert":
            b[i:i] = draw(st.binary(min_size=1, max_size=16))
        elif b:
            chunk = draw(st.sampled_from([b"\xff" * 8, b"\x00" * 8, b"9" * 40, b'[[[[', b"\xd8"]))
            b[i:i + len(chunk)] = chunk
    return bytes(b)


json_leaf = (st.none() | st.booleans() | st.integers(-2**300, 2**300) | st.floats(allow_nan=False)
             | st.text(max_size=8) | st.just("9" * 5000) | st.just([[[[[]]]]]) | st.just({}))


def _paths(v, prefix=()):
    yield prefix
    if isinstance(v, dict):
        for k, x in v.items():
            yield from _paths(x, prefix + (k,))
    elif isinstance(v, list):
        for i, x in enumerate(v[:6]):
            yield from _paths(x, prefix + (i,))


@st.composite
def type_swapped(draw, doc) -> bytes:
    """The document with one value (or a key's whole subtree) replaced by another JSON type, or
    a key dropped, or a deep array spliced in."""
    doc = json.loads(json.dumps(doc))
    paths = [p for p in _paths(doc) if p]
    path = draw(st.sampled_from(paths))
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    action = draw(st.sampled_from(["swap", "drop", "deep"]))
    if action == "drop" and isinstance(parent, dict):
        del parent[path[-1]]
    elif action == "deep":
        parent[path[-1]] = json.loads("[" * 60 + "]" * 60)
        return json.dumps(doc).replace("[" * 60 + "]" * 60, "[" * 100000 + "]" * 100000).encode()
    else:
        parent[path[-1]] = draw(json_leaf)
    return json.dumps(doc).encode()


def _assert_reader(read, path: Path, raw: bytes) -> None:
    path.write_bytes(raw)
    try:
        read(path)
    except ZkmlError as e:
        msg = str(e)
        assert "\n" not in msg.strip(), msg
        assert path.name in msg, f"the error names no file: {msg}"


def _binary_readers(base: Path):
    from zkml.formats.ptau import read_ptau
    from zkml.formats.r1cs import read_r1cs
    from zkml.formats.wtns import read_wtns
    from zkml.formats.zkey import read_zkey

    def ptau_points(p):
        t = read_ptau(p)
        t.tau_g1(4), t.tau_g2(2), t.lagrange_g1(2)

    return {"m.r1cs": read_r1cs, "m.wtns": read_wtns, "m.zkey": read_zkey, "pot4.ptau": ptau_points}


@pytest.mark.parametrize("name", ["m.r1cs", "m.wtns", "m.zkey", "pot4.ptau"])
def test_binary_files(name, base, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    raw, read = (base / name).read_bytes(), _binary_readers(base)[name]

    @FUZZ
    @given(mutated(raw))
    def run(bad):
        _assert_reader(read, tmp_path / name, bad)

    run()


def _json_readers():
    from zkml.attest import document as D
    from zkml.attest.policy import read_policy
    from zkml.formats.snarkjs_json import read_proof, read_public, read_vk

    return {"m.vk.json": read_vk, "m.proof.json": read_proof, "m.public.json": read_public, "inf.json": D.read,
            "policy.toml": read_policy}


@pytest.mark.parametrize("name", ["m.vk.json", "m.proof.json", "m.public.json", "inf.json"])
def test_json_documents(name, base, tmp_path):  # noqa: F811
    doc, read = json.loads((base / name).read_text()), _json_readers()[name]

    @FUZZ
    @given(st.one_of(type_swapped(doc), mutated(json.dumps(doc).encode())))
    def run(bad):
        _assert_reader(read, tmp_path / name, bad)

    run()


def test_policy(base, tmp_path):  # noqa: F811
    raw, read = (base / "policy.toml").read_bytes(), _json_readers()["policy.toml"]

    @FUZZ
    @given(mutated(raw))
    def run(bad):
        _assert_reader(read, tmp_path / "policy.toml", bad)

    run()


def test_manifest(base, tmp_path):  # noqa: F811
    from zkml.bundle.store import read_manifest

    bundle = tmp_path / "bc"
    shutil.copytree(base / "bc", bundle)
    doc = json.loads((bundle / "manifest.json").read_text())

    @FUZZ
    @given(st.one_of(type_swapped(doc), mutated(json.dumps(doc).encode())))
    def run(bad):
        _assert_reader(lambda p: read_manifest(p.parent), bundle / "manifest.json", bad)

    run()


@pytest.mark.parametrize("name", ["in.npz", "in.json"])
def test_inputs(name, base, tmp_path):  # noqa: F811
    from zkml.formats.tensors import load_input

    raw = (base / name).read_bytes()

    @FUZZ
    @given(mutated(raw))
    def run(bad):
        _assert_reader(lambda p: load_input(p, (1, 30)), tmp_path / name, bad)

    run()


def test_inference_proof_files(base, tmp_path):  # noqa: F811
    """The whole of `zkml verify`'s path on a mutated proof file: reading, every claim field,
    the public signals and the pairing (the bundle given, as --bundle does)."""
    from zkml.bundle.claims import check_inference

    doc = json.loads((base / "proof.json").read_text())

    @FUZZ
    @given(st.one_of(type_swapped(doc), mutated(json.dumps(doc).encode())))
    def run(bad):
        path = tmp_path / "proof.json"
        path.write_bytes(bad)
        try:
            v = check_inference(path, base / "bc")
        except ZkmlError as e:
            assert "\n" not in str(e).strip() and "proof.json" in str(e), str(e)
            return
        if bad != json.dumps(doc).encode():
            # an edit that still verifies must leave every readable value as it was
            assert not v.ok or json.loads(bad) == doc, "an edited proof file verified"

    run()
