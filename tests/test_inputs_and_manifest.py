"""Hostile inputs, manifests and policies through the commands users run: each bad file is one
line naming it (exit 1, or 2 for a policy), nothing is written, and a parse error is reached
without importing onnx. Inputs outside a feature's calibrated range are refused by name; the
same input inside it proves. ``inspect`` checks every file's hash."""

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import MODELS, one_line, zkml
from zkml.compiler.input_range import calibrated_range, check_input_range
from zkml.errors import ZkmlError
from zkml.formats.tensors import fits, load_input

CAL = np.load(MODELS / "breast_cancer_calibration.npz")["x"]
ROW = np.load(MODELS / "breast_cancer_test.npz")["x"][0]  # inside every feature's calibrated range


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    res = zkml("compile", MODELS / "breast_cancer.onnx", "-c", MODELS / "breast_cancer_calibration.npz", "-o", d / "bc")
    assert res.exit_code == 0, res.output
    res = zkml("setup", d / "bc")
    assert res.exit_code == 0, res.output
    return d / "bc"


@pytest.fixture(scope="module")
def proof(bundle):
    d = bundle.parent
    (d / "row.json").write_text(json.dumps(ROW.tolist()))
    res = zkml("prove", bundle, "-i", d / "row.json", "-o", d / "row.proof.json")
    assert res.exit_code == 0, res.output
    return d / "row.proof.json"


def _npz_bytes(tmp_path) -> bytes:
    np.savez(tmp_path / "good.npz", x=ROW)
    return (tmp_path / "good.npz").read_bytes()


def _flip_data_byte(raw: bytes) -> bytes:
    at = raw.index(ROW.tobytes()) + 8 * 7 + 3  # inside the float data: only the CRC notices
    return raw[:at] + bytes([raw[at] ^ 1]) + raw[at + 1:]


BAD_INPUTS = {
    "half.npz": (lambda t: _npz_bytes(t)[:188], "not a valid .npz"),
    "crc.npz": (lambda t: _flip_data_byte(_npz_bytes(t)), "not a valid .npz (Bad CRC-32"),
    "empty.npz": (lambda t: b"", "not a valid .npz"),
    "trunc.npy": (lambda t: _npy(t, ROW)[:-8], "truncated"),
    "strings.npy": (lambda t: _npy(t, np.array(["a", "b"])), "arrays of numbers"),
    "pickle.npy": (lambda t: _npy(t, np.array([{}], dtype=object), allow_pickle=True), "arrays of numbers"),
    "empty_object.json": (lambda t: b"{}", 'expected a JSON list of numbers, {"x": [...]} or {"input": [...]}'),
    "null.json": (lambda t: b"null", "expected a JSON list of numbers"),
    "data.json": (lambda t: json.dumps({"data": ROW.tolist()}).encode(), "got an object with keys data"),
    "huge_int.json": (lambda t: ("[1" + "0" * 30 + "," + ",".join(["0"] * 29) + "]").encode(), "value too large"),
    "string.json": (lambda t: json.dumps(ROW.tolist()[:2] + ["abc"] + ROW.tolist()[3:]).encode(), "[2] is a string"),
    "ragged.json": (lambda t: b"[[1, 2], [3]]", "not a rectangular array"),
    "nan.json": (lambda t: ("[NaN" + ", 0" * 29 + "]").encode(), "NaN"),
    "inf.json": (lambda t: ("[0, 1e400" + ", 0" * 28 + "]").encode(), "element 1 is infinity"),
    "deep.json": (lambda t: b"[" * 100000 + b"]" * 100000, "nested 100000 levels deep"),
    "bad_utf8.json": (lambda t: b"[1, 2, \xff]", "not UTF-8"),
    "column.json": (lambda t: json.dumps(ROW.reshape(30, 1).tolist()).encode(), "needs shape (1, 30) (or a flat list of 30), got (30, 1)"),
    "short.json": (lambda t: json.dumps(ROW[:7].tolist()).encode(), "needs shape (1, 30)"),
    "input.csv": (lambda t: ",".join(map(str, ROW)).encode(), "use .npz, .npy or .json"),
    "two.npz": (lambda t: _npz(t, a=ROW, b=ROW), "name the input array 'x'"),
    "nan.npz": (lambda t: _npz(t, x=np.where(np.arange(30) == 4, np.nan, ROW)), "element 4 is NaN"),
}


def _npy(tmp_path, arr, allow_pickle=False) -> bytes:
    np.save(tmp_path / "tmp.npy", arr, allow_pickle=allow_pickle)
    return (tmp_path / "tmp.npy").read_bytes()


def _npz(tmp_path, **arrays) -> bytes:
    np.savez(tmp_path / "tmp.npz", **arrays)
    return (tmp_path / "tmp.npz").read_bytes()


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_is_one_line_naming_the_file(bundle, tmp_path, name):
    make, fragment = BAD_INPUTS[name]
    f = tmp_path / name
    f.write_bytes(make(tmp_path))
    res = zkml("prove", bundle, "-i", f, "-o", tmp_path / "p.json")
    line = one_line(res)
    assert res.exit_code == 1, res.output
    assert line.startswith(f"error: {f}:") and fragment in line, line
    assert not (tmp_path / "p.json").exists()


@pytest.mark.parametrize("given", [(30,), (1, 30), (1, 1, 30)])
def test_accepted_layouts_of_a_1d_input(tmp_path, given):
    f = tmp_path / "x.json"
    f.write_text(json.dumps(ROW.reshape(given).tolist()))
    assert load_input(f, (1, 30)).shape == (1, 30)


def test_layouts_are_never_reordered():
    assert fits((1, 8, 8), (1, 1, 8, 8)) and fits((3, 8, 8), (1, 3, 8, 8))
    assert not fits((8, 8, 3), (1, 3, 8, 8))  # HWC for a CHW input
    assert not fits((192,), (1, 3, 8, 8))  # a flat vector only for an effectively 1-D input
    assert not fits((30, 1), (1, 30)) and fits((30,), (30, 1))


def test_calibrated_range_is_recorded(bundle):
    rng = json.loads((bundle / "manifest.json").read_text())["input"]["range"]
    assert rng["per"] == "element" and rng["margin"] == 1.0 and rng["samples"] == len(CAL)
    assert np.array_equal(rng["min"], CAL.min(axis=0)) and np.array_equal(rng["max"], CAL.max(axis=0))


def test_outside_a_features_range_is_refused_inside_proves(bundle, tmp_path):
    hi = CAL[:, 3].max()
    width = hi - CAL[:, 3].min()
    x = ROW.copy()
    x[3] = hi + 1.2 * width  # outside the 100% margin, far inside the |x| < 2^k envelope
    (tmp_path / "out.json").write_text(json.dumps(x.tolist()))
    res = zkml("prove", bundle, "-i", tmp_path / "out.json", "-o", tmp_path / "p.json")
    line = one_line(res)
    assert res.exit_code == 1
    assert f"out.json: feature 3 = {x[3]:.6g} is outside its calibrated range" in line
    assert f"{hi:.6g}] (margin 100%)" in line and "recompile with calibration data that covers it" in line
    assert not (tmp_path / "p.json").exists()
    x[3] = hi + 0.5 * width  # within the margin: proved
    (tmp_path / "in.json").write_text(json.dumps(x.tolist()))
    res = zkml("prove", bundle, "-i", tmp_path / "in.json", "-o", tmp_path / "p.json")
    assert res.exit_code == 0, res.output
    assert zkml("verify", tmp_path / "p.json", "--bundle", bundle).exit_code == 0


def test_bundle_without_a_range_keeps_the_envelope_check(bundle, tmp_path):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(bundle, old)
    m = json.loads((old / "manifest.json").read_text())
    del m["input"]["range"]  # as bundles compiled before ranges were recorded
    (old / "manifest.json").write_text(json.dumps(m))
    x = ROW.copy()
    x[3] = 2 * CAL[:, 3].max()
    (tmp_path / "x.json").write_text(json.dumps(x.tolist()))
    res = zkml("prove", old, "-i", tmp_path / "x.json", "-o", tmp_path / "p.json")
    assert res.exit_code == 0, res.output
    x[3] = 1e6
    (tmp_path / "x.json").write_text(json.dumps(x.tolist()))
    res = zkml("prove", old, "-i", tmp_path / "x.json", "-o", tmp_path / "p2.json")
    assert res.exit_code == 1 and "outside the calibrated range (|x| <" in one_line(res)


def test_per_channel_range_for_images():
    rng = np.random.default_rng(3)
    xs = rng.uniform(0, 1, (20, 1, 3, 4, 4)) * np.array([1, 10, 100]).reshape(1, 1, 3, 1, 1)
    r = calibrated_range(xs)
    assert r["per"] == "channel" and len(r["min"]) == 3
    x = xs[0].copy()
    x[0, 0, 2, 2] = 5.0  # inside channel 1's and 2's range, outside channel 0's
    with pytest.raises(ZkmlError, match=r"element \(0, 0, 2, 2\) = 5 is outside channel 0's calibrated range"):
        check_input_range(r, x, "img.npz")
    x[0, 0, 2, 2] = xs[:, :, 0].max()
    check_input_range(r, x, "img.npz")
    assert calibrated_range(xs[:5]) is None  # too few samples to speak of a range


def test_transposed_calibration_is_refused(tmp_path):
    np.savez(tmp_path / "cal.npz", x=CAL.reshape(len(CAL), 30, 1))
    res = zkml("compile", MODELS / "breast_cancer.onnx", "-c", tmp_path / "cal.npz", "-o", tmp_path / "b")
    line = one_line(res)
    assert res.exit_code == 1 and f"{tmp_path / 'cal.npz'}: samples of shape (30, 1)" in line
    assert not (tmp_path / "b").exists()


def test_bad_rows_for_batches_and_test_sets(bundle, tmp_path):
    np.savez(tmp_path / "rows.npz", x=np.zeros((3, 30, 1)))
    res = zkml("prove-batch", bundle, tmp_path / "rows.npz", "-o", tmp_path / "proofs")
    assert res.exit_code == 1 and "do not fit the model input 'x' of shape (1, 30)" in one_line(res)
    (tmp_path / "test.npz").write_bytes(b"PK\x03\x04 not really")
    res = zkml("attest", "evaluate", bundle, "--data", tmp_path / "test.npz", "-o", tmp_path / "ev.json")
    assert res.exit_code == 1 and "test.npz: not a valid .npz" in one_line(res)
    np.savez(tmp_path / "nolabels.npz", x=CAL[:4])
    res = zkml("attest", "evaluate", bundle, "--data", tmp_path / "nolabels.npz", "-o", tmp_path / "ev.json")
    assert res.exit_code == 1 and "needs arrays 'x', 'y' or 'labels'" in one_line(res)
    assert not (tmp_path / "proofs").exists() and not (tmp_path / "ev.json").exists()


@pytest.fixture
def copy_of(bundle, tmp_path):
    import shutil

    def make(edit=None, raw=None):
        d = tmp_path / "b"
        shutil.copytree(bundle, d)
        if edit:
            m = json.loads((d / "manifest.json").read_text())
            edit(m)
            (d / "manifest.json").write_text(json.dumps(m))
        if raw:
            (d / "manifest.json").write_bytes(raw((d / "manifest.json").read_bytes()))
        return d
    return make


def test_manifest_with_invalid_utf8(copy_of, proof, tmp_path):
    b = copy_of(raw=lambda data: data[:360] + b"\xaa" + data[361:])
    (tmp_path / "x.json").write_text(json.dumps(ROW.tolist()))
    for args in (("inspect", b), ("prove", b, "-i", tmp_path / "x.json", "-o", tmp_path / "q.json"),
                 ("verify", proof, "--bundle", b), ("setup", b)):
        res = zkml(*args)
        line = one_line(res)
        assert res.exit_code == (2 if args[0] == "verify" else 1), (args, res.output)  # verify: cannot check
        assert line == f"error: {b / 'manifest.json'}: not UTF-8 text (byte 0xaa at offset 360)", line


@pytest.mark.parametrize("edit,field", [
    (lambda m: m["input"].update(shape="1x30"), "input.shape"),
    (lambda m: m["input"].update(shape=[1, -30]), "input.shape[1]"),
    (lambda m: m["input"].pop("bits"), "input.bits"),
    (lambda m: m["input"].update(visibility="secret"), "input.visibility"),
    (lambda m: m["input"]["range"].update(min=[0.0] * 29), "input.range.min"),
    (lambda m: m["input"]["range"].update(margin="10%"), "input.range.margin"),
    (lambda m: m["outputs"][0].update(name=7), "outputs[0].name"),
    (lambda m: m["outputs"][0].pop("lo"), "outputs[0].lo"),
    (lambda m: m["outputs"][0].update(hi=[1]), "outputs[0].hi"),
    (lambda m: m.update(files={"model.onnx": "zz"}), "files.model.onnx"),
    (lambda m: m.update(format_version="1"), "bundle format 1 is not supported"),
    (lambda m: m.update(name=None), "field 'name' must be a string"),
])
def test_manifest_fields_are_type_checked(copy_of, tmp_path, edit, field):
    b = copy_of(edit)
    (tmp_path / "x.json").write_text(json.dumps(ROW.tolist()))
    for args in (("inspect", b), ("prove", b, "-i", tmp_path / "x.json", "-o", tmp_path / "q.json")):
        res = zkml(*args)
        line = one_line(res)
        assert res.exit_code == 1 and line.startswith(f"error: {b / 'manifest.json'}: ") and field in line, line


def test_inspect_checks_file_hashes(copy_of):
    b = copy_of()
    assert zkml("inspect", b).exit_code == 0
    r1cs = b / "circuit.r1cs"
    r1cs.write_bytes(r1cs.read_bytes()[:1000])
    (b / "fidelity.json").unlink()
    res = zkml("inspect", b)
    assert res.exit_code == 1 and "Traceback" not in res.output
    lines = res.output.splitlines()
    assert any("circuit.r1cs" in ln and "does not match its hash" in ln for ln in lines), res.output
    assert any("fidelity.json" in ln and "MISSING" in ln for ln in lines), res.output
    assert any("model.onnx" in ln and ln.rstrip().endswith("ok") for ln in lines), res.output
    assert lines[-1].startswith(f"error: {b}: circuit.r1cs does not match")


@pytest.mark.parametrize("content,message", [
    (b'[policy]\nsigners = ["0x\xff"]\n', "the policy is not UTF-8 text (byte 0xff"),
    (b"[policy]\nsigners = " + b"[" * 5000 + b"]" * 5000 + b"\n", "brackets nested 5000 levels deep"),
])
def test_policy_that_cannot_be_read_cannot_be_checked(tmp_path, content, message):
    (tmp_path / "policy.toml").write_bytes(content)
    (tmp_path / "att.json").write_text("{}")
    res = zkml("check", tmp_path / "att.json", "--policy", tmp_path / "policy.toml")
    line = one_line(res)
    assert res.exit_code == 2 and f"{tmp_path / 'policy.toml'}: {message}" in line, line


_PROBE = """
import sys
from zkml.cli import main
try:
    main(sys.argv[1:])
except SystemExit as e:
    heavy = [m for m in ("onnx", "onnxruntime", "numba", "ray", "ml_dtypes") if m in sys.modules]
    print(f"EXIT {e.code} HEAVY {heavy}", file=sys.stderr)
"""


def test_parse_errors_import_nothing_heavy(bundle, tmp_path):
    """The one-line error for a bad input or manifest comes before onnx (and numba) is imported."""
    (tmp_path / "bad.json").write_text('{"data": [1, 2]}')
    b = tmp_path / "b"
    b.mkdir()
    (b / "manifest.json").write_bytes(b'{"format_version": 1, "name": "\xff"}')
    for args in (["prove", str(bundle), "-i", str(tmp_path / "bad.json"), "-o", str(tmp_path / "p.json")],
                 ["inspect", str(b)], ["verify", str(tmp_path / "bad.json"), "--bundle", str(b)]):
        res = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, timeout=120)
        last = res.stderr.strip().splitlines()[-1]
        assert last == "EXIT 1 HEAVY []", (args, res.stderr)
        assert "error:" in res.stderr and "Traceback" not in res.stderr
