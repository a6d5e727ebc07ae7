"""The binary and snarkjs-JSON readers refuse corrupt or hostile files at read time, naming the
file, the section and the point: flipped bytes in every point section, non-canonical
coordinates (x + q), the identity where it is not allowed, G2 points on the twist but outside
the order-r subgroup, coefficients and witness values >= r. Every refusal has its pristine twin,
and the machine-local cache of subgroup checks is keyed by content and trusted only when private.
"""

import json
import random
import struct
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner
from py_ecc import optimized_bn128 as bn

from conftest import FIXTURES, ROOT
from zkml.cli import main
from zkml.crypto import bn254 as B
from zkml.crypto.bn254 import Q, R
from zkml.errors import FormatError
from zkml.formats import point_checks as pc
from zkml.formats.binfile import read_binfile
from zkml.formats.ptau import read_ptau
from zkml.formats.r1cs import read_r1cs
from zkml.formats.snarkjs_json import read_proof, read_public, read_verify_inputs, read_vk
from zkml.formats.wtns import read_wtns, write_wtns
from zkml.formats.zkey import read_zkey, write_zkey

ZKEY, PTAU = FIXTURES / "multiplier.zkey", FIXTURES / "pot4_final.ptau"
H = 2 * Q - R  # the cofactor of G2 in the twist's group of points
HEADER_AT = {"alpha1": 84, "beta1": 148, "beta2": 212, "gamma2": 340, "delta1": 468, "delta2": 532}


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Each test starts with an empty cache of its own, so no earlier run's record hides a check."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


# --- building hostile points and files ---------------------------------------------------------


def fq2_sqrt(a):
    """A square root in Fq2 (q = 3 mod 4; Adj and Rodriguez-Henriquez, alg. 9), or None."""
    a1 = a ** ((Q - 3) // 4)
    alpha = a1 * a1 * a
    x0 = a1 * a
    if alpha == bn.FQ2([Q - 1, 0]):
        x = bn.FQ2([0, 1]) * x0
    else:
        x = (bn.FQ2.one() + alpha) ** ((Q - 1) // 2) * x0
    return x if x * x == a else None


def twist_point(rng):
    """A random point of the twist curve, not multiplied by the cofactor: almost surely not in G2."""
    while True:
        x = bn.FQ2([rng.randrange(Q), rng.randrange(Q)])
        y = fq2_sqrt(x ** 3 + bn.b2)
        if y is not None:
            p = (x, y, bn.FQ2.one())
            assert bn.is_on_curve(p, bn.b2) and not bn.is_inf(bn.multiply(p, R))
            return p


def small_torsion(rng, order):
    """A twist point of the given order dividing the cofactor (10069 and 5864401 do)."""
    assert H % order == 0
    t = bn.multiply(twist_point(rng), H // order * R)
    assert not bn.is_inf(t) and bn.is_inf(bn.multiply(t, order))
    return t


def g2_bytes(p) -> bytes:
    return B.g2_to_array(B.g2_from_pyecc(p)).astype("<u8").tobytes()


def section_offset(path, magic, version, kind) -> int:
    return read_binfile(path, magic, version).sections[kind][0]


def patched(tmp_path, src, at: int, new: bytes | None = None, flip: bool = False):
    data = bytearray(src.read_bytes())
    if flip:
        data[at] ^= 0x5A
    else:
        data[at : at + len(new)] = new
    out = tmp_path / src.name
    out.write_bytes(bytes(data))
    return out


def zkey_point_at(kind: int, index: int, g2: bool) -> int:
    return section_offset(ZKEY, b"zkey", (1,), kind) + index * (128 if g2 else 64)


# --- the subgroup test itself ---------------------------------------------------------------


def test_subgroup_test_accepts_g2_and_rejects_the_rest_of_the_twist():
    rng = random.Random(7)
    inside = [bn.multiply(bn.G2, rng.randrange(1, R)) for _ in range(3)] + [bn.G2]
    outside = [twist_point(rng) for _ in range(3)]
    for order in (10069, 5864401):  # G2 point plus a small-order component: the subtle case
        outside.append(bn.add(inside[0], small_torsion(rng, order)))
    arr = np.stack([B.g2_to_array(B.g2_from_pyecc(p)) for p in inside + outside])
    assert list(pc.g2_subgroup_failures(arr)) == list(range(len(inside), len(inside) + len(outside)))
    assert all(not bn.is_inf(bn.multiply(p, R)) for p in outside)  # py_ecc agrees they are outside


# --- zkey ---------------------------------------------------------------------------------


def test_pristine_zkey_is_accepted():
    pk = read_zkey(ZKEY)
    assert pk.n_vars == 4 and pk.b2.shape == (4, 2, 2, 4)


@pytest.mark.parametrize("kind,name,g2", [
    (3, "IC", False), (5, "POINTS_A", False), (6, "POINTS_B1", False), (7, "POINTS_B2", True),
    (8, "POINTS_C", False), (9, "POINTS_H", False)])
def test_zkey_flipped_byte_in_each_point_section(tmp_path, kind, name, g2):
    bad = patched(tmp_path, ZKEY, zkey_point_at(kind, 0, g2) + 3, flip=True)
    with pytest.raises(FormatError, match=f"multiplier.zkey: section {name}, point 0 is not on the curve "
                                          r"\(corrupt file\); re-run setup or get the key again"):
        read_zkey(bad)


@pytest.mark.parametrize("name", list(HEADER_AT))
def test_zkey_flipped_byte_in_each_header_point(tmp_path, name):
    at = section_offset(ZKEY, b"zkey", (1,), 2) + HEADER_AT[name] + 3
    with pytest.raises(FormatError, match=f"section GROTH16_HEADER, {name} is not on the curve"):
        read_zkey(patched(tmp_path, ZKEY, at, flip=True))


@pytest.mark.parametrize("name", list(HEADER_AT))
def test_zkey_header_point_at_infinity(tmp_path, name):
    at = section_offset(ZKEY, b"zkey", (1,), 2) + HEADER_AT[name]
    zero = bytes(128 if name[-1] == "2" else 64)
    with pytest.raises(FormatError, match=f"section GROTH16_HEADER, {name} is the point at infinity"):
        read_zkey(patched(tmp_path, ZKEY, at, zero))


@pytest.mark.parametrize("kind,name,g2", [(5, "POINTS_A", False), (7, "POINTS_B2", True)])
def test_zkey_non_canonical_coordinate(tmp_path, kind, name, g2):
    """x + q names the same residue: accepting it would give one key two encodings."""
    pk = read_zkey(ZKEY)
    arr = pk.b2 if g2 else pk.a
    i = next(i for i in range(len(arr)) if arr[i].any())
    x = B.limbs_to_int(arr[i].reshape(-1, 4)[0])
    at = zkey_point_at(kind, i, g2)
    with pytest.raises(FormatError, match=f"section {name}, point {i} has a coordinate that is not below"):
        read_zkey(patched(tmp_path, ZKEY, at, (x + Q).to_bytes(32, "little")))


@pytest.mark.parametrize("where", ["B2", "gamma2"])
def test_zkey_g2_point_outside_the_subgroup(tmp_path, where):
    p = twist_point(random.Random(3))
    if where == "B2":
        at, match = zkey_point_at(7, 2, True), "section POINTS_B2, point 2 is not in the order-r subgroup of G2"
    else:
        at = section_offset(ZKEY, b"zkey", (1,), 2) + HEADER_AT["gamma2"]
        match = "section GROTH16_HEADER, gamma2 is not in the order-r subgroup of G2"
    with pytest.raises(FormatError, match=match):
        read_zkey(patched(tmp_path, ZKEY, at, g2_bytes(p)))


def test_zkey_g2_point_with_a_small_order_component(tmp_path):
    pk = read_zkey(ZKEY)
    good = B.g2_to_pyecc(B.g2_from_array(pk.b2[1]))
    p = bn.add(good, small_torsion(random.Random(4), 10069))
    with pytest.raises(FormatError, match="POINTS_B2, point 1 is not in the order-r subgroup"):
        read_zkey(patched(tmp_path, ZKEY, zkey_point_at(7, 1, True), g2_bytes(p)))


def test_zkey_contribution_points_are_checked(tmp_path):
    at = section_offset(ZKEY, b"zkey", (1,), 10) + 64 + 4  # csh, count, then the first record
    with pytest.raises(FormatError, match="section CONTRIBUTIONS, contribution 1 delta_after is not on the curve"):
        read_zkey(patched(tmp_path, ZKEY, at + 3, flip=True))
    with pytest.raises(FormatError, match="section CONTRIBUTIONS, contribution 1 g2_spx is not on the curve"):
        read_zkey(patched(tmp_path, ZKEY, at + 3 * 64 + 3, flip=True))


def test_zkey_coefficient_not_below_r(tmp_path):
    at = section_offset(ZKEY, b"zkey", (1,), 4) + 4 + 12  # count, then matrix/constraint/signal
    with pytest.raises(FormatError, match="section COEFFICIENTS, coefficient 0 is not below the field prime r"):
        read_zkey(patched(tmp_path, ZKEY, at, R.to_bytes(32, "little")))


def test_zkey_coefficients_round_trip_through_the_file_encoding(tmp_path):
    """The vectorised c * R^2 encoding matches the integer formula in both directions."""
    pk = read_zkey(ZKEY)
    raw = read_binfile(ZKEY, b"zkey", (1,)).section(4, "c")
    n = struct.unpack_from("<I", raw)[0]
    stored = [int.from_bytes(raw[4 + 44 * i + 12 : 4 + 44 * i + 44], "little") for i in range(n)]  # 3 u32, value
    r2_inv = pow(2, -512, R)
    assert B.limbs_to_ints(pk.coef_value) == [v * r2_inv % R for v in stored]
    write_zkey(tmp_path / "k.zkey", pk)
    assert (tmp_path / "k.zkey").read_bytes() == ZKEY.read_bytes()


# --- ptau -----------------------------------------------------------------------------------

PTAU_SECTIONS = [  # (section, name, g2, accessor, point to corrupt)
    (2, "TAU_G1", False, lambda t: t.tau_g1(8), 5),
    (3, "TAU_G2", True, lambda t: t.tau_g2(8), 5),
    (4, "ALPHA_TAU_G1", False, lambda t: t.alpha_tau_g1(8), 5),
    (5, "BETA_TAU_G1", False, lambda t: t.beta_tau_g1(8), 5),
    (6, "BETA_G2", True, lambda t: t.beta_g2(), 0),
    (12, "LAGRANGE_TAU_G1", False, lambda t: t.lagrange_g1(4), 4),  # domain 4 starts at point 3
    (13, "LAGRANGE_TAU_G2", True, lambda t: t.lagrange_g2(4), 4),
    (14, "LAGRANGE_ALPHA_TAU_G1", False, lambda t: t.lagrange_alpha_g1(4), 4),
    (15, "LAGRANGE_BETA_TAU_G1", False, lambda t: t.lagrange_beta_g1(4), 4),
]


def ptau_point_at(kind, index, g2):
    return section_offset(PTAU, b"ptau", (1,), kind) + index * (128 if g2 else 64)


def test_pristine_ptau_is_accepted():
    t = read_ptau(PTAU)
    for *_, get, _i in PTAU_SECTIONS:
        assert len(get(t))


@pytest.mark.parametrize("kind,name,g2,get,i", PTAU_SECTIONS, ids=[s[1] for s in PTAU_SECTIONS])
def test_ptau_flipped_byte_in_each_point_section(tmp_path, kind, name, g2, get, i):
    t = read_ptau(patched(tmp_path, PTAU, ptau_point_at(kind, i, g2) + 3, flip=True))
    with pytest.raises(FormatError, match=f"pot4_final.ptau: section {name}, point {i} is not on the curve "
                                          r"\(corrupt file\); get the .ptau file again"):
        get(t)


def test_ptau_g2_point_outside_the_subgroup_and_identity(tmp_path):
    t = read_ptau(patched(tmp_path, PTAU, ptau_point_at(13, 5, True), g2_bytes(twist_point(random.Random(5)))))
    with pytest.raises(FormatError, match="section LAGRANGE_TAU_G2, point 5 is not in the order-r subgroup"):
        t.lagrange_g2(4)
    t = read_ptau(patched(tmp_path, PTAU, ptau_point_at(12, 3, False), bytes(64)))
    with pytest.raises(FormatError, match="section LAGRANGE_TAU_G1, point 3 is the point at infinity"):
        t.lagrange_g1(4)


# --- r1cs and wtns ------------------------------------------------------------------------


def r1cs_first_coefficient() -> int:
    """Offset of the first term's coefficient: constraint 0, matrix A, after nTerms and the wire."""
    return section_offset(FIXTURES / "multiplier.r1cs", b"r1cs", (1,), 2) + 4 + 4


def test_pristine_r1cs_and_wtns_are_accepted():
    r = read_r1cs(FIXTURES / "multiplier.r1cs")
    assert r.n_constraints == 1 and r.a.nnz == 1
    assert read_wtns(FIXTURES / "witness.wtns").shape == (4, 4)


@pytest.mark.parametrize("top", [0xFF, None])
def test_r1cs_coefficient_not_below_r(tmp_path, top):
    """A top byte 0xff (the probe's case) and exactly r are both refused."""
    at = r1cs_first_coefficient()
    value = (bytes(31) + bytes([top])) if top else R.to_bytes(32, "little")
    with pytest.raises(FormatError, match="multiplier.r1cs: constraint 0, matrix A: the coefficient of wire "
                                          r"\d+ is not below the field prime r"):
        read_r1cs(patched(tmp_path, FIXTURES / "multiplier.r1cs", at, value))


def test_r1cs_wire_out_of_range(tmp_path):
    at = r1cs_first_coefficient() - 4
    with pytest.raises(FormatError, match="constraint 0, matrix A names wire 9; the header has 4 wires"):
        read_r1cs(patched(tmp_path, FIXTURES / "multiplier.r1cs", at, struct.pack("<I", 9)))


def test_wtns_value_not_below_r(tmp_path):
    w = read_wtns(FIXTURES / "witness.wtns")
    w[3] = B.int_to_limbs(B.limbs_to_int(w[3]) + R)  # the same residue, not reduced
    write_wtns(tmp_path / "w.wtns", w)
    with pytest.raises(FormatError, match="w.wtns: section VALUES, witness value 3 is not below the field prime r"):
        read_wtns(tmp_path / "w.wtns")


# --- the cache of subgroup checks ---------------------------------------------------------


@pytest.fixture
def subgroup_calls(monkeypatch):
    calls = []
    real = pc.g2_subgroup_failures

    def counting(pts):
        calls.append(len(pts))
        return real(pts)

    monkeypatch.setattr(pc, "g2_subgroup_failures", counting)
    return calls


def test_second_read_skips_the_subgroup_check_and_changed_content_is_checked_again(tmp_path, subgroup_calls):
    read_zkey(ZKEY)
    first = len(subgroup_calls)
    assert first > 0
    read_zkey(ZKEY)
    assert len(subgroup_calls) == first  # remembered
    pk = read_zkey(ZKEY)
    i = next(i for i in range(len(pk.b2)) if pk.b2[i].any())
    pk.b2[i] = B.g2_to_array(B.g2_from_pyecc(bn.neg(B.g2_to_pyecc(B.g2_from_array(pk.b2[i])))))
    write_zkey(tmp_path / "changed.zkey", pk)  # still a valid point, other content
    read_zkey(tmp_path / "changed.zkey")
    assert len(subgroup_calls) > first


def test_a_record_is_not_trusted_where_others_can_write(tmp_path, subgroup_calls):
    read_zkey(ZKEY)
    n = len(subgroup_calls)
    (tmp_path / "cache" / "zkml" / "checked").chmod(0o777)
    read_zkey(ZKEY)
    assert len(subgroup_calls) > n


def test_an_unusable_cache_folder_only_means_no_caching(tmp_path, monkeypatch, subgroup_calls):
    (tmp_path / "not-a-folder").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "not-a-folder"))
    read_zkey(ZKEY)
    n = len(subgroup_calls)
    read_zkey(ZKEY)
    assert len(subgroup_calls) == 2 * n > 0


def test_a_failed_check_is_not_remembered(tmp_path, subgroup_calls):
    bad = patched(tmp_path, ZKEY, zkey_point_at(7, 2, True), g2_bytes(twist_point(random.Random(6))))
    for _ in range(2):  # the second read checks B2 again and fails again
        n = len(subgroup_calls)
        with pytest.raises(FormatError, match="POINTS_B2, point 2 is not in the order-r subgroup"):
            read_zkey(bad)
        assert len(subgroup_calls) > n


def test_a_contribution_does_not_recheck_b2(tmp_path, subgroup_calls):
    from zkml.groth16.contribute import contribute

    pk = read_zkey(ZKEY)
    write_zkey(tmp_path / "next.zkey", contribute(pk, b"t", "t"))
    n = len(subgroup_calls)
    after = read_zkey(tmp_path / "next.zkey")
    checked = subgroup_calls[n:]
    assert np.array_equal(after.b2, pk.b2) and after.delta2.tobytes() != pk.delta2.tobytes()
    assert checked == [3, 2]  # the header's beta2, gamma2, delta2 and the two contributions, not B2


# --- snarkjs JSON ---------------------------------------------------------------------------


def json_copy(tmp_path, name, edit):
    doc = json.loads((FIXTURES / name).read_text())
    edit(doc)
    out = tmp_path / name
    out.write_text(json.dumps(doc))
    return out


def test_pristine_snarkjs_json_is_accepted():
    vk, public, proof = read_verify_inputs(FIXTURES / "verification_key.json", FIXTURES / "public.json",
                                           FIXTURES / "proof.json")
    assert vk.n_public == len(public) == 1 and proof.b is not None


def test_vk_point_errors_name_the_file(tmp_path):
    bad = json_copy(tmp_path, "verification_key.json", lambda d: d["vk_alpha_1"].__setitem__(0, "5"))
    with pytest.raises(FormatError, match="verification_key.json: vk alpha1: point is not on the curve"):
        read_vk(bad)
    q_plus = json_copy(tmp_path, "verification_key.json",
                       lambda d: d["IC"][0].__setitem__(0, str(int(d["IC"][0][0]) + Q)))
    with pytest.raises(FormatError, match=r"verification_key.json: IC\[0\]\[0\] is not below the field modulus"):
        read_vk(q_plus)
    p = twist_point(random.Random(8))
    x, y = B.g2_from_pyecc(p)
    tw = json_copy(tmp_path, "verification_key.json",
                   lambda d: d.__setitem__("vk_delta_2", [[str(x[0]), str(x[1])], [str(y[0]), str(y[1])], ["1", "0"]]))
    with pytest.raises(FormatError, match="verification_key.json: vk delta2: point is not in the order-r subgroup"):
        read_vk(tw)
    inf = json_copy(tmp_path, "verification_key.json", lambda d: d.__setitem__("vk_gamma_2", [["0", "0"], ["1", "0"], ["0", "0"]]))
    with pytest.raises(FormatError, match="verification_key.json: vk gamma2 is the point at infinity"):
        read_vk(inf)


def test_proof_point_errors_name_the_file(tmp_path):
    bad = json_copy(tmp_path, "proof.json", lambda d: d["pi_c"].__setitem__(1, "7"))
    with pytest.raises(FormatError, match="proof.json: proof C: point is not on the curve"):
        read_proof(bad)
    q_plus = json_copy(tmp_path, "proof.json", lambda d: d["pi_b"][1].__setitem__(1, str(int(d["pi_b"][1][1]) + Q)))
    with pytest.raises(FormatError, match=r"proof.json: pi_b\[1\]\[1\] is not below the field modulus"):
        read_proof(q_plus)


def test_public_signal_not_below_r_names_the_file(tmp_path):
    (tmp_path / "public.json").write_text(json.dumps([str(33 + R)]))
    with pytest.raises(FormatError, match=r"public.json: \[0\] is not in \[0, r\)"):
        read_public(tmp_path / "public.json")


def test_deep_json_is_refused_not_a_crash(tmp_path):
    (tmp_path / "deep.json").write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(FormatError, match="deep.json: JSON nested"):
        read_vk(tmp_path / "deep.json")


# --- through the CLI ------------------------------------------------------------------------


def one_error_line(res, *names):
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    line = res.output.strip().splitlines()[-1]
    assert line.startswith("error: ")
    for n in names:
        assert n in line, line
    return line


def test_export_vk_and_contribute_refuse_a_corrupt_zkey(tmp_path):
    bad = patched(tmp_path, ZKEY, section_offset(ZKEY, b"zkey", (1,), 2) + HEADER_AT["alpha1"] + 7, flip=True)
    one_error_line(invoke("groth16", "export-vk", bad, tmp_path / "vk.json"),
                   "multiplier.zkey", "GROTH16_HEADER, alpha1 is not on the curve")
    one_error_line(invoke("groth16", "contribute", bad, tmp_path / "out.zkey"), "multiplier.zkey", "alpha1")
    assert not (tmp_path / "vk.json").exists() and not (tmp_path / "out.zkey").exists()
    res = invoke("groth16", "export-vk", ZKEY, tmp_path / "vk.json")  # pristine twin
    assert res.exit_code == 0 and (tmp_path / "vk.json").exists()


def test_prove_names_the_corrupt_zkey_not_the_proof(tmp_path):
    bad = patched(tmp_path, ZKEY, section_offset(ZKEY, b"zkey", (1,), 2) + HEADER_AT["beta1"], flip=True)
    line = one_error_line(invoke("groth16", "prove", bad, FIXTURES / "witness.wtns", tmp_path / "p.json",
                                 tmp_path / "pub.json"), "multiplier.zkey", "GROTH16_HEADER, beta1")
    assert "proof C" not in line
    assert not (tmp_path / "p.json").exists() and not (tmp_path / "pub.json").exists()


def test_setup_refuses_a_corrupt_ptau(tmp_path):
    bad = patched(tmp_path, PTAU, ptau_point_at(12, 4, False) + 9, flip=True)
    one_error_line(invoke("groth16", "setup", FIXTURES / "multiplier.r1cs", tmp_path / "k.zkey", "--ptau", bad),
                   "pot4_final.ptau", "section LAGRANGE_TAU_G1, point 4 is not on the curve")
    assert not (tmp_path / "k.zkey").exists()
    res = invoke("groth16", "setup", FIXTURES / "multiplier.r1cs", tmp_path / "k.zkey", "--ptau", PTAU)
    assert res.exit_code == 0, res.output


def test_setup_refuses_an_r1cs_coefficient_not_below_r(tmp_path):
    bad = patched(tmp_path, FIXTURES / "multiplier.r1cs", r1cs_first_coefficient(), bytes(31) + b"\xff")
    one_error_line(invoke("groth16", "setup", bad, tmp_path / "k.zkey", "--dev"),
                   "multiplier.r1cs", "not below the field prime r")
    assert not (tmp_path / "k.zkey").exists()


def test_verify_names_the_files(tmp_path):
    vk = json_copy(tmp_path, "verification_key.json", lambda d: d["vk_alpha_1"].__setitem__(1, "5"))
    one_error_line(invoke("groth16", "verify", vk, FIXTURES / "public.json", FIXTURES / "proof.json"),
                   "verification_key.json: vk alpha1: point is not on the curve")
    (tmp_path / "public.json").write_text(json.dumps(["1", "2", "3", "4", "5"]))
    one_error_line(invoke("groth16", "verify", FIXTURES / "verification_key.json", tmp_path / "public.json",
                          FIXTURES / "proof.json"),
                   "public.json has 5 signals", "verification_key.json expects 1")


def test_real_process_prints_one_line(tmp_path):
    zkml = ROOT / ".venv" / "bin" / "zkml"
    if not zkml.exists():
        pytest.skip("no venv console script")
    bad = patched(tmp_path, ZKEY, zkey_point_at(7, 1, True) + 3, flip=True)
    import os

    import numba

    env = {**os.environ, "NUMBA_CACHE_DIR": numba.config.CACHE_DIR}  # the compiled kernels, not a fresh cache
    res = subprocess.run([str(zkml), "groth16", "export-vk", str(bad), str(tmp_path / "vk.json")],
                         capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines() == [
        f"error: {bad}: section POINTS_B2, point 1 is not on the curve (corrupt file); re-run setup or get the key again"]


# --- through the bundle commands (a compiled model; slow) ---------------------------------------


@pytest.fixture(scope="module")
def bundle_world(tmp_path_factory):
    d = tmp_path_factory.mktemp("bundle")
    models = ROOT / "models"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(d / "cache"))
        for args in (("compile", models / "breast_cancer.onnx", "-c", models / "breast_cancer_calibration.npz",
                      "-o", d / "bc"),
                     ("groth16", "ptau-new", "13", d / "p13.ptau"),
                     ("setup", d / "bc", "--ptau", d / "p13.ptau")):
            res = invoke(*args)
            assert res.exit_code == 0, res.output
    x = np.load(models / "breast_cancer_test.npz")["x"][0]
    (d / "x.json").write_text(json.dumps(x.tolist()))
    return d


@pytest.mark.slow
def test_bundle_setup_refuses_a_corrupt_ptau(bundle_world, tmp_path):
    from zkml.groth16.setup import domain_size

    d = bundle_world
    n = domain_size(read_r1cs(d / "bc" / "circuit.r1cs"))
    src = d / "p13.ptau"
    at = section_offset(src, b"ptau", (1,), 13) + (n - 1 + 10) * 128 + 3  # point 10 of domain n's tau G2
    data = bytearray(src.read_bytes())
    data[at] ^= 0x5A
    (tmp_path / "bad.ptau").write_bytes(bytes(data))
    before = (d / "bc" / "circuit.zkey").read_bytes()
    one_error_line(invoke("setup", d / "bc", "--ptau", tmp_path / "bad.ptau"),
                   "bad.ptau", f"section LAGRANGE_TAU_G2, point {n - 1 + 10} is not on the curve")
    assert (d / "bc" / "circuit.zkey").read_bytes() == before


@pytest.mark.slow
def test_bundle_prove_names_a_corrupt_zkey_even_when_the_manifest_was_updated(bundle_world, tmp_path):
    """A key corrupted before its hash was recorded (or by someone who rewrote the manifest)."""
    import hashlib
    import shutil

    bc = tmp_path / "bc"
    shutil.copytree(bundle_world / "bc", bc)
    zkey = bc / "circuit.zkey"
    data = bytearray(zkey.read_bytes())
    data[section_offset(zkey, b"zkey", (1,), 7) + 5 * 128 + 3] ^= 0x5A
    zkey.write_bytes(bytes(data))
    manifest = json.loads((bc / "manifest.json").read_text())
    manifest["files"]["circuit.zkey"] = hashlib.sha256(bytes(data)).hexdigest()
    (bc / "manifest.json").write_text(json.dumps(manifest, indent=1))
    line = one_error_line(invoke("prove", bc, "-i", bundle_world / "x.json", "-o", tmp_path / "p.json"),
                          "circuit.zkey", "section POINTS_B2, point 5 is not on the curve")
    assert "proof" not in line.split("circuit.zkey")[0]
    assert not (tmp_path / "p.json").exists()
    res = invoke("prove", bundle_world / "bc", "-i", bundle_world / "x.json", "-o", tmp_path / "p.json")
    assert res.exit_code == 0, res.output  # the pristine twin
