"""BN254 (alt_bn128) constants and conversions between Python ints and 64-bit limb arrays.

Engines store a field element as four little-endian uint64 limbs; curve points as affine
coordinates in Montgomery form, the exact byte layout of snarkjs ``.zkey``/``.ptau`` sections
(an all-zero point is the identity). Points at this level are py_ecc-style tuples of ints:
G1 ``(x, y)``, G2 ``((x0, x1), (y0, y1))`` with ``x = x0 + x1*u``; ``None`` is the identity.
"""

from __future__ import annotations

import numpy as np

# Base field Fq and scalar field Fr (the curve order).
Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583
R = 21888242871839275222246405745257275088548364400416034343698204186575808495617

FQ_BITS = 254
LIMBS = 4
MONT_R_BITS = 64 * LIMBS  # Montgomery radix 2^256

# Fr has a 2^28-th root of unity; 5 generates Fr* (snarkjs/ffjavascript use the same).
FR_TWO_ADICITY = 28
FR_GENERATOR = 5
FR_ROOT_OF_UNITY = pow(FR_GENERATOR, (R - 1) >> FR_TWO_ADICITY, R)

G1_GENERATOR = (1, 2)
G2_GENERATOR = (
    (
        10857046999023057135944570762232829481370756359578518086990519993285655852781,
        11559732032986387107991004021392285783925812861821192530917403151452391805634,
    ),
    (
        8495653923123431417604973247489272438418190587263600148770280649306958101930,
        4082367875863433681332203403145435568316851327593401208105741076214120093531,
    ),
)
# G2 twist coefficient b' = 3 / (9 + u).
B2 = (
    19485874751759354771024239261021720505790618469301721065564631296452457478373,
    266929791119991161246907387137283842545076965332900288569378510910307636690,
)


def _check_constants() -> None:
    """Cheap integer checks at import; the comparison with py_ecc's constants is a test
    (tests/test_field.py), so that commands which never touch py_ecc do not import it."""
    assert pow(FR_ROOT_OF_UNITY, 1 << FR_TWO_ADICITY, R) == 1
    assert pow(FR_ROOT_OF_UNITY, 1 << (FR_TWO_ADICITY - 1), R) != 1
    assert (G1_GENERATOR[1] ** 2 - G1_GENERATOR[0] ** 3 - 3) % Q == 0


_check_constants()


def pyecc_constants_agree() -> bool:
    _bn = _pyecc()
    g2x, g2y = _bn.normalize(_bn.G2)
    return ((tuple(map(int, g2x.coeffs)), tuple(map(int, g2y.coeffs))) == G2_GENERATOR
            and tuple(int(c) for c in _bn.b2.coeffs) == B2)


def _pyecc():
    """py_ecc's BN254, imported on first use (its import alone costs ~0.15 s of precomputation)."""
    from py_ecc import optimized_bn128

    return optimized_bn128


def root_of_unity(n: int) -> int:
    """A primitive n-th root of unity in Fr (n a power of two <= 2^28), as ffjavascript picks it."""
    log_n = n.bit_length() - 1
    if n != 1 << log_n or log_n > FR_TWO_ADICITY:
        raise ValueError(f"domain size {n} is not a power of two <= 2^{FR_TWO_ADICITY}")
    return pow(FR_ROOT_OF_UNITY, 1 << (FR_TWO_ADICITY - log_n), R)


# --- limbs ------------------------------------------------------------------------------------


def int_to_limbs(x: int) -> np.ndarray:
    return np.frombuffer(x.to_bytes(32, "little"), dtype="<u8").copy()


def limbs_to_int(limbs: np.ndarray) -> int:
    return int.from_bytes(np.ascontiguousarray(limbs, dtype="<u8").tobytes(), "little")


def ints_to_limbs(values) -> np.ndarray:
    """A sequence of ints in [0, 2^256) as an (n, 4) uint64 array."""
    data = b"".join(int(v).to_bytes(32, "little") for v in values)
    return np.frombuffer(data, dtype="<u8").reshape(-1, LIMBS).copy()


def limbs_to_ints(arr: np.ndarray) -> list[int]:
    raw = np.ascontiguousarray(arr, dtype="<u8").reshape(-1, LIMBS).tobytes()
    return [int.from_bytes(raw[i : i + 32], "little") for i in range(0, len(raw), 32)]


def to_mont(x: int, p: int) -> int:
    return (x << MONT_R_BITS) % p


def from_mont(x: int, p: int) -> int:
    return (x * pow(1 << MONT_R_BITS, -1, p)) % p


# --- points <-> Montgomery limb arrays (snarkjs "LEM" layout) --------------------------------


def g1_to_array(p) -> np.ndarray:
    """G1 point (ints, or None) to a (2, 4) Montgomery array; identity is all zeros."""
    if p is None:
        return np.zeros((2, LIMBS), dtype=np.uint64)
    return ints_to_limbs([to_mont(p[0] % Q, Q), to_mont(p[1] % Q, Q)])


def g1_from_array(a: np.ndarray):
    x, y = limbs_to_ints(a.reshape(2, LIMBS))
    if x == 0 and y == 0:
        return None
    return (from_mont(x, Q), from_mont(y, Q))


def g2_to_array(p) -> np.ndarray:
    """G2 point to a (2, 2, 4) Montgomery array: [[x0, x1], [y0, y1]]."""
    if p is None:
        return np.zeros((2, 2, LIMBS), dtype=np.uint64)
    (x0, x1), (y0, y1) = p
    return ints_to_limbs([to_mont(v % Q, Q) for v in (x0, x1, y0, y1)]).reshape(2, 2, LIMBS)


def g2_from_array(a: np.ndarray):
    x0, x1, y0, y1 = limbs_to_ints(a.reshape(4, LIMBS))
    if x0 == x1 == y0 == y1 == 0:
        return None
    return ((from_mont(x0, Q), from_mont(x1, Q)), (from_mont(y0, Q), from_mont(y1, Q)))


# --- py_ecc bridge (for tests and the independent verifier) ---------------------------------


def g1_to_pyecc(p):
    _bn = _pyecc()
    if p is None:
        return _bn.Z1
    return (_bn.FQ(p[0]), _bn.FQ(p[1]), _bn.FQ.one())


def g1_from_pyecc(p):
    _bn = _pyecc()
    if _bn.is_inf(p):
        return None
    x, y = _bn.normalize(p)
    return (int(x), int(y))


def g2_to_pyecc(p):
    _bn = _pyecc()
    if p is None:
        return _bn.Z2
    (x0, x1), (y0, y1) = p
    return (_bn.FQ2([x0, x1]), _bn.FQ2([y0, y1]), _bn.FQ2.one())


def g2_from_pyecc(p):
    _bn = _pyecc()
    if _bn.is_inf(p):
        return None
    x, y = _bn.normalize(p)
    return (tuple(int(c) for c in x.coeffs), tuple(int(c) for c in y.coeffs))


# --- curve membership and engine layout of int points (no numba: verifiers import these) ---


def g1_on_curve(p) -> bool:
    """Coordinates below q and y^2 = x^3 + 3 (the identity counts as on the curve)."""
    if p is None:
        return True
    x, y = p
    return 0 <= x < Q and 0 <= y < Q and (y * y - x * x * x - 3) % Q == 0


def _f2_mul(a, b):
    return ((a[0] * b[0] - a[1] * b[1]) % Q, (a[0] * b[1] + a[1] * b[0]) % Q)


def g2_on_twist(p) -> bool:
    """Coordinates below q and y^2 = x^3 + 3/(9+u) over Fq2 (the identity counts as on it)."""
    if p is None:
        return True
    if not all(0 <= c < Q for c in (*p[0], *p[1])):
        return False
    x, y = p
    x3 = _f2_mul(_f2_mul(x, x), x)
    return _f2_mul(y, y) == ((x3[0] + B2[0]) % Q, (x3[1] + B2[1]) % Q)


def g1_array(points) -> np.ndarray:
    return np.stack([g1_to_array(p) for p in points]) if points else np.zeros((0, 2, 4), np.uint64)


def g2_array(points) -> np.ndarray:
    return np.stack([g2_to_array(p) for p in points]) if points else np.zeros((0, 2, 2, 4), np.uint64)
