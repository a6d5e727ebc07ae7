"""G1/G2 formulas, MSM and batch point operations of the CPU engine against py_ecc."""


import numpy as np
import pytest
from py_ecc import optimized_bn128 as bn

from conftest import random_g1_points, random_g2_points
from zkml.crypto import bn254 as B
from zkml.crypto.bn254 import R
from zkml.engines.cpu import batch, curve as C
from zkml.engines.cpu.field import FQ2_ONE, FQ_ONE
from zkml.engines.cpu.msm import msm_g1, msm_g2

GROUPS = {
    "g1": dict(to_arr=B.g1_to_array, from_arr=B.g1_from_array, to_py=B.g1_to_pyecc,
               from_py=B.g1_from_pyecc, gen=bn.G1, zero=bn.Z1, rand=random_g1_points,
               msm=msm_g1, one=FQ_ONE),
    "g2": dict(to_arr=B.g2_to_array, from_arr=B.g2_from_array, to_py=B.g2_to_pyecc,
               from_py=B.g2_from_pyecc, gen=bn.G2, zero=bn.Z2, rand=random_g2_points,
               msm=msm_g2, one=FQ2_ONE),
}


def naive(g, points, scalars):
    acc = g["zero"]
    for p, k in zip(points, scalars):
        acc = bn.add(acc, bn.multiply(g["to_py"](p), k % R))
    return g["from_py"](acc)


def u64(t):
    """numba hands uint64 tuples back as Python ints; re-type them before passing them in."""
    return tuple(u64(x) for x in t) if isinstance(t, tuple) else np.uint64(t)


def jac(g, p):
    """Engine Jacobian tuple of an affine int point (Z = 1), via the array loader."""
    arr = g["to_arr"](p)[None]
    loader = C.g1_load_affine if g is GROUPS["g1"] else C.g2_load_affine
    x, y, _ = loader(arr, 0)
    return u64((x, y, g["one"]))


def affine(g, p):
    x, y = (C.g1_to_affine if g is GROUPS["g1"] else C.g2_to_affine)(u64(p))
    store = np.zeros(g["to_arr"](None).shape, np.uint64)[None]
    (C.g1_store_affine if g is GROUPS["g1"] else C.g2_store_affine)(store, 0, u64(x), u64(y))
    return g["from_arr"](store[0])


@pytest.mark.parametrize("name", GROUPS)
def test_formulas_against_py_ecc(name, rng):
    g = GROUPS[name]
    pre = "g1" if name == "g1" else "g2"
    fns = (getattr(C, f"{pre}_{f}") for f in ("add", "dbl", "add_mixed", "neg", "mul_scalar"))
    add, dbl, madd, neg, mul = ((lambda *a, f=f: f(*u64(a))) for f in fns)
    p, q = g["rand"](2, rng)
    P, Qj = jac(g, p), jac(g, q)
    py = lambda pt: g["to_py"](pt)  # noqa: E731
    assert affine(g, add(P, Qj)) == g["from_py"](bn.add(py(p), py(q)))
    assert affine(g, dbl(P)) == g["from_py"](bn.double(py(p)))
    assert affine(g, add(P, P)) == g["from_py"](bn.double(py(p)))  # P + P takes the doubling path
    assert affine(g, madd(P, Qj[0], Qj[1])) == g["from_py"](bn.add(py(p), py(q)))
    assert affine(g, madd(P, P[0], P[1])) == g["from_py"](bn.double(py(p)))
    assert affine(g, add(P, neg(P))) is None  # P + (-P) = identity
    assert affine(g, madd(neg(P), P[0], P[1])) is None
    inf = (P[0], P[1], tuple(np.uint64(0) for _ in range(4))) if name == "g1" else (P[0], P[1], ((np.uint64(0),) * 4,) * 2)
    assert affine(g, add(inf, P)) == p and affine(g, add(P, inf)) == p
    assert affine(g, dbl(inf)) is None
    for k in (0, 1, 2, R - 1, R, 12345678901234567890):
        limbs = tuple(np.uint64(v) for v in B.int_to_limbs(k % 2**256))
        assert affine(g, mul(P, limbs)) == g["from_py"](bn.multiply(py(p), k % R))


@pytest.mark.parametrize("name", GROUPS)
@pytest.mark.parametrize("n", [1, 2, 3, 17, 100])
def test_msm_random(name, n, rng):
    g = GROUPS[name]
    if name == "g2" and n > 17:
        n = 40
    pts = g["rand"](n, rng)
    ks = [rng.randrange(R) for _ in range(n)]
    got = g["msm"](np.stack([g["to_arr"](p) for p in pts]), B.ints_to_limbs(ks))
    assert g["from_arr"](got) == naive(g, pts, ks)


@pytest.mark.parametrize("name", GROUPS)
def test_msm_edge_cases(name, rng):
    g = GROUPS[name]
    pts = g["rand"](6, rng)
    arr = np.stack([g["to_arr"](p) for p in pts])
    cases = {
        "all zero": [0] * 6,
        "zero/one/small": [0, 1, 2, 1, 0, 3],
        "near r": [R - 1, R - 2, 1, R - 1, 2, R - 3],
        "one": [1] * 6,
    }
    for label, ks in cases.items():
        got = g["from_arr"](g["msm"](arr, B.ints_to_limbs(ks)))
        assert got == naive(g, pts, ks), label
    # repeated identical points: many land in one bucket and in the same addition batch
    same = np.stack([g["to_arr"](pts[0])] * 700)
    ks = [rng.choice([1, 2, 3, R - 1]) for _ in range(700)]
    expected = g["from_py"](bn.multiply(g["to_py"](pts[0]), sum(ks) % R))
    assert g["from_arr"](g["msm"](same, B.ints_to_limbs(ks))) == expected
    # identity bases are skipped, including with a non-zero scalar
    with_inf = arr.copy()
    with_inf[2] = 0
    ks = [rng.randrange(R) for _ in range(6)]
    assert g["from_arr"](g["msm"](with_inf, B.ints_to_limbs(ks))) == naive(g, pts[:2] + [None] + pts[3:], ks)
    # a sum that is the identity: P*k + P*(r-k)
    two = np.stack([arr[0], arr[0]])
    assert g["from_arr"](g["msm"](two, B.ints_to_limbs([5, R - 5]))) is None


def test_msm_many_points_exercises_full_batches(rng):
    """More points than one addition batch, with colliding buckets, against a fixed-base sum."""
    n = 3000
    ks_base = [rng.randrange(1, R) for _ in range(n)]
    pts = batch.fixed_base_mul("g1", B.g1_to_array(B.G1_GENERATOR), B.ints_to_limbs(ks_base))
    ks = [rng.randrange(R) if i % 3 else rng.randrange(4) for i in range(n)]
    expected = B.g1_from_pyecc(bn.multiply(bn.G1, sum(a * b for a, b in zip(ks_base, ks)) % R))
    assert B.g1_from_array(msm_g1(pts, B.ints_to_limbs(ks))) == expected


def test_msm_length_mismatch():
    with pytest.raises(ValueError, match="as many scalars as bases"):
        msm_g1(np.zeros((3, 2, 4), np.uint64), np.zeros((2, 4), np.uint64))


@pytest.mark.parametrize("name", GROUPS)
def test_batch_operations(name, rng):
    g = GROUPS[name]
    gen = g["to_arr"](g["from_py"](g["gen"]))
    ks = [0, 1, 2, R - 1, rng.randrange(R), rng.randrange(R)]
    fixed = batch.fixed_base_mul(name, gen, B.ints_to_limbs(ks))
    for k, p in zip(ks, fixed):
        assert g["from_arr"](p) == g["from_py"](bn.multiply(g["gen"], k))
    k = rng.randrange(R)
    scaled = batch.mul_all(name, fixed, k)
    for k0, p in zip(ks, scaled):
        assert g["from_arr"](p) == g["from_py"](bn.multiply(g["gen"], k0 * k % R))
    rows, cols, vals = [0, 1, 2, 3, 4, 5, 4, 5, 1], [0, 0, 1, 1, 2, 2, 0, 3, 3], [1, 5, R - 1, 1, 1, 7, 3,
                                                                                (R - 1) // 2, (R + 1) // 2]
    out = batch.sparse_combine(name, fixed, rows, cols, B.ints_to_limbs(vals), 4)
    for col in range(4):
        s = sum(v * ks[r] for r, c, v in zip(rows, cols, vals) if c == col) % R
        assert g["from_arr"](out[col]) == g["from_py"](bn.multiply(g["gen"], s))


@pytest.mark.parametrize("name", GROUPS)
def test_sparse_combine_many_terms_on_threads(name, rng):
    """Thousands of R1CS-like coefficients (small, negatives r - small, a few full-size) over
    many columns, split between threads at column boundaries: the sums of the scalars."""
    g = GROUPS[name]
    gen = g["to_arr"](g["from_py"](g["gen"]))
    ks = [rng.randrange(R) for _ in range(40)]
    pts = batch.fixed_base_mul(name, gen, B.ints_to_limbs(ks))
    n_terms, n_cols = 12000, 300
    rows = [rng.randrange(40) for _ in range(n_terms)]
    cols = [rng.randrange(n_cols) for _ in range(n_terms)]
    vals = [rng.choice([1, rng.randrange(1, 1 << 20), R - rng.randrange(1, 1 << 20), rng.randrange(R), 2**64 + 1])
            for _ in range(n_terms)]
    out = batch.sparse_combine(name, pts, rows, cols, B.ints_to_limbs(vals), n_cols)
    want = [0] * n_cols
    for r, c, v in zip(rows, cols, vals):
        want[c] = (want[c] + v * ks[r]) % R
    expected = batch.fixed_base_mul(name, gen, B.ints_to_limbs(want))
    assert np.array_equal(out, expected)


# --- GLV: the endomorphism, the scalar split, and MSMs through both -------------------------

from zkml.engines.cpu import glv
from zkml.engines.cpu.native import kernels  # noqa: E402
from zkml.engines.cpu.msm import msm_many  # noqa: E402


@pytest.mark.parametrize("name", GROUPS)
def test_glv_endomorphism_is_lambda(name, rng):
    """lambda * P == (beta * x, y) on the group, and not with the other cube root."""
    g = GROUPS[name]
    beta = glv.BETA_G1 if name == "g1" else glv.BETA_G2
    other = beta * beta % B.Q
    for p in g["rand"](3, rng):
        x, y = p
        lp = g["from_py"](bn.multiply(g["to_py"](p), glv.LAMBDA))
        if name == "g1":
            assert lp == (beta * x % B.Q, y)
            assert lp != (other * x % B.Q, y)
        else:
            assert lp == (tuple(beta * c % B.Q for c in x), y)
            assert lp != (tuple(other * c % B.Q for c in x), y)


GLV_EDGES = [0, 1, 2, 3, R - 1, R - 2, glv.LAMBDA, R - glv.LAMBDA, 2**127, 2**128 - 1, 2**128,
             2**128 + 1, R, R + 7, 2**256 - 1]


def test_glv_split_property(rng):
    """k == k1 + lambda * k2 (mod r) with |k1|, |k2| < 2^128 for edge and random k, also for
    unreduced k >= r; a changed half breaks the equation (negative twin)."""
    ks = GLV_EDGES + [rng.randrange(R) for _ in range(3000)] + [rng.randrange(2**256) for _ in range(200)]
    limbs = B.ints_to_limbs(ks)
    halves = np.zeros((len(ks), 2, 2), np.uint64)
    negs = np.zeros((len(ks), 2), np.bool_)
    count = np.zeros(len(ks), np.int64)
    bases = np.ascontiguousarray(np.tile(B.g1_to_array((1, 2)), (len(ks), 1, 1)))  # the MSM's own split kernel
    kernels().g1_split(bases, limbs, halves, negs, count, 0, len(ks))
    for j, k in enumerate(ks):
        k1, k2 = ((-1 if negs[j, p] else 1) * (int(halves[j, p, 0]) | int(halves[j, p, 1]) << 64)
                  for p in range(2))
        assert (k1 + glv.LAMBDA * k2 - k) % R == 0, k
        assert abs(k1) < 2**128 and abs(k2) < 2**128, k
        assert (k1, k2) == glv.split_reference(k)
        assert ((k1 + 1) + glv.LAMBDA * k2 - k) % R != 0
        assert (k1 + glv.LAMBDA * (k2 + 1) - k) % R != 0
    # small scalars keep a single half: an ML witness of 0/1/small values does no extra work
    assert all(glv.split_reference(k) == (k, 0) for k in (0, 1, 2, 3, 2**64, 2**120))


@pytest.mark.parametrize("name", GROUPS)
def test_msm_glv_edges_and_negative_twin(name, rng):
    g = GROUPS[name]
    n = len(GLV_EDGES)
    pts = g["rand"](n, rng)
    arr = np.stack([g["to_arr"](p) for p in pts])
    ks = list(GLV_EDGES)
    got = g["from_arr"](g["msm"](arr, B.ints_to_limbs(ks)))
    assert got == naive(g, pts, ks)
    for j in (1, 4, n - 1):  # a changed scalar gives a different sum
        ks2 = list(ks)
        ks2[j] = (ks2[j] + 1) % 2**256
        assert g["from_arr"](g["msm"](arr, B.ints_to_limbs(ks2))) != got


def test_msm_ml_like_witness(rng):
    """Mostly 0, 1 and small values with a few full-size ones, as ML witnesses are."""
    g = GROUPS["g1"]
    n = 300
    pts = g["rand"](40, rng)
    pts = [pts[rng.randrange(40)] for _ in range(n)]  # repeated points
    ks = [rng.choice([0, 0, 1, 1, 1, 2, rng.randrange(256), rng.randrange(2**20), rng.randrange(R)])
          for _ in range(n)]
    arr = np.stack([g["to_arr"](p) for p in pts])
    assert g["from_arr"](msm_g1(arr, B.ints_to_limbs(ks))) == naive(g, pts, ks)
    ones = [1] * n
    assert g["from_arr"](msm_g1(arr, B.ints_to_limbs(ones))) == naive(g, pts, ones)


def test_msm_many_matches_single_calls(rng):
    p1 = np.stack([B.g1_to_array(p) for p in random_g1_points(30, rng)])
    p2 = np.stack([B.g2_to_array(p) for p in random_g2_points(12, rng)])
    s1 = B.ints_to_limbs([rng.randrange(R) for _ in range(30)])
    s2 = B.ints_to_limbs([rng.randrange(R) for _ in range(12)])
    zero = np.zeros((5, 4), np.uint64)
    jobs = [("g1", p1, s1), ("g2", p2, s2), ("g1", p1[:5], zero), ("g2", p2[:0], s2[:0]),
            ("g1", p1[3:], s1[3:])]
    got = msm_many(jobs)
    for (grp, b, s), out in zip(jobs, got):
        single = (msm_g1 if grp == "g1" else msm_g2)(b, s)
        assert np.array_equal(out, single)
    assert not got[2].any() and not got[3].any()
    assert not np.array_equal(got[0], got[4])


@pytest.mark.parametrize("name", GROUPS)
def test_msm_merges_repeated_full_size_scalars(name, rng, monkeypatch):
    """LogUp inverses repeat: the points of equal full-size scalars are summed before the
    windows. Against py_ecc, with identity bases, a group summing to the identity, small scalars
    beside, a low-limb collision of two different scalars; and a changed scalar must change the sum."""
    import zkml.engines.cpu.msm as M

    g = GROUPS[name]
    monkeypatch.setattr(M, "MERGE_MIN_TERMS", 8)
    distinct = [rng.randrange(2**200, R - 2**140) for _ in range(3)]
    twin = distinct[0] + (5 << 128)  # same low limb as distinct[0], another scalar
    pts = g["rand"](12, rng)
    pts[4] = None  # an identity base inside a group
    ks = [distinct[0], distinct[1], distinct[0], 7, distinct[2], distinct[1], twin, distinct[0], 1, distinct[1],
          distinct[2], twin]
    arr = np.stack([g["to_arr"](p) for p in pts])
    arr[4] = 0
    calls = []
    real = M._group_sums
    monkeypatch.setattr(M, "_group_sums", lambda *a: calls.append(a[-1]) or real(*a))
    got = g["from_arr"](g["msm"](arr, B.ints_to_limbs(ks)))
    assert calls == [4]  # four distinct full-size scalars, grouped
    assert got == naive(g, pts, ks)
    # P k + (-P) k: one group summing to the identity
    p = pts[0]
    neg = g["from_py"](bn.neg(g["to_py"](p)))
    two = np.stack([g["to_arr"](p), g["to_arr"](neg)] * 5)
    assert g["from_arr"](g["msm"](two, B.ints_to_limbs([distinct[0]] * 10))) is None
    ks2 = list(ks)
    ks2[2] = (ks2[2] + 1) % R  # leaves its group: another sum
    assert g["from_arr"](g["msm"](arr, B.ints_to_limbs(ks2))) == naive(g, pts, ks2) != got
    monkeypatch.setattr(M, "MERGE_MAX_DISTINCT", 0.1)  # too many distinct ones: not merged, same sum
    calls.clear()
    assert g["from_arr"](g["msm"](arr, B.ints_to_limbs(ks))) == got and calls == []
