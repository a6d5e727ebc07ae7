"""The hostile-input probe (2026-12-01, shared/reports/hostile-input-probe.md) as a table of cases.

Each ``Case`` is one CLI command run in a fresh folder that holds copies of the session's base
files (``needs``), after ``prepare`` has written the hostile file(s) there. The expected class:

- ``reject``: exit code in ``codes``; ONE line of output (the dev-tau warning aside) that names
  one of ``names``; nothing created or changed in the folder (hidden temp files included).
- ``invalid``: a wrong proof or claim: exit 1 and one line that says INVALID, or (a malformed
  value) one error line naming one of ``names``; nothing written.
- ``fail``: ``zkml check`` gives FAIL (exit 1, ``verdict: FAIL``) or cannot check (exit 2, one
  line naming the attestation); never PASS.
- ``flag``: ``zkml inspect`` on a corrupt bundle file: some line names the file and says it does
  not match (any exit code, no traceback).
- ``accept``: exit 0, every declared output written, nothing else created or changed. Only where
  the probe says acceptance is legitimate (the same value in another encoding, a trailing
  newline removed, a flip that gives another valid circuit) and for the baselines that make the
  rejections mean something.

Every case: no traceback (in-process, ``result.exception`` is None or SystemExit), no signal.
``owner`` says which of the five fixes of the hostile-input issue a failure belongs to:
1 claims binding and portable proofs, 2 binary and snarkjs readers, 3 writers (atomic outputs,
ENOSPC, output = input, Ctrl-C, wrapping), 4 fidelity and ONNX loading, 5 input tensors,
manifest and policy readers, lazy imports. ``defect`` is the probe's defect number.

The base files, built once per session by the test module (names as in the case folders):

    bc/            breast_cancer bundle, compiled and set up (dev tau)
    bc0/           the same bundle before setup (no keys)
    proof.json     zkml prove bc -i in.npz (row 0 of breast_cancer_test.npz)
    proof1.json    the same for row 1 (another input's proof)
    in.npz in.json in1.json   row 0 (npz and JSON list), row 1 (JSON)
    cal.npz model.onnx        the calibration set and the model, for compile
    m.r1cs m.zkey m.wtns      the multiplier fixture (c = a*b, a=3, b=11)
    m.vk.json m.proof.json m.public.json  from zkml groth16 export-vk / prove
    m2.wtns m2.proof.json m2.public.json  another witness of it (a=5, b=7) and its proof
    pot4.ptau                 the prepared 2^4 ptau fixture
    owner.key inf.json policy.toml   a signed inference attestation of proof.json and a
                              policy it passes (require_onchain = false)
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583
R = 21888242871839275222246405745257275088548364400416034343698204186575808495617
BLS12_381_R = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
SECP256K1_P = 2**256 - 2**32 - 977
DEEP = 100_000  # nesting that overflows the C stack once py_ecc raised the recursion limit

# calibrated range of breast_cancer_calibration.npz, features 0 and 3
CAL_MIN0, CAL_MAX3 = 8.571, 1308.0


@dataclass(frozen=True)
class Disk:
    """The case's outputs go to a small file system at <case>/<mount>: a tmpfs of ``size``
    bytes filled until ``free`` bytes are left (``free`` may be a function of the case folder),
    or, with ``inject``, writes under that folder fail with ENOSPC once ``free`` bytes were
    written (for machines where tmpfs cannot be mounted; also run here to test the injection)."""

    mount: str = "tiny"
    size: int = 64 << 10
    free: int | Callable[[Path], int] = 0
    inject: bool = False


@dataclass
class Case:
    id: str
    category: str
    argv: list[str]
    expect: str
    needs: tuple[str, ...] = ()
    prepare: Callable[[Path], None] | None = None
    names: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    codes: tuple[int, ...] = (1, 2)
    contains: tuple[str, ...] = ()
    forbid: tuple[str, ...] = ()
    cwd: str = "."
    subprocess: bool = False
    slow: bool = False
    disk: Disk | None = None
    owner: str = ""
    defect: str = ""

    def repro(self) -> str:
        import shlex

        cd = f"cd {self.cwd} && " if self.cwd != "." else ""
        return f"{cd}zkml {shlex.join(self.argv)}"


# --- byte-level corruption -------------------------------------------------------------------


def sections(b: bytes) -> dict[int, tuple[int, int]]:
    """iden3 binary file (r1cs, zkey, wtns, ptau): section type -> (data offset, size)."""
    (n,) = struct.unpack_from("<I", b, 8)
    off, out = 12, {}
    for _ in range(n):
        t, size = struct.unpack_from("<IQ", b, off)
        out.setdefault(t, (off + 12, size))
        off += 12 + size
    return out


def sec(kind: int, at: int = 0) -> Callable[[bytes], int]:
    """An offset ``at`` bytes into section ``kind`` (negative: from the section's end)."""
    def where(b: bytes) -> int:
        o, size = sections(b)[kind]
        return o + (at if at >= 0 else size + at)
    return where


def _off(b: bytes, off) -> int:
    return off(b) if callable(off) else (off if off >= 0 else len(b) + off)


def empty(b: bytes) -> bytes:
    return b""


def half(b: bytes) -> bytes:
    return b[: len(b) // 2]


def drop_last(b: bytes) -> bytes:
    return b[:-1]


def drop_newline(b: bytes) -> bytes:
    assert b.endswith(b"\n"), "the probe's case: the file ends with a newline, removing it changes nothing"
    return b[:-1]


def cut_last_char(b: bytes) -> bytes:
    """The last byte that is not whitespace (a JSON document's closing bracket)."""
    return b.rstrip()[:-1]


def flip_bit(off, bit: int = 0) -> Callable[[bytes], bytes]:
    def f(b: bytes) -> bytes:
        out = bytearray(b)
        out[_off(b, off)] ^= 1 << bit
        return bytes(out)
    return f


def flip16(off) -> Callable[[bytes], bytes]:
    """16 bytes XOR 0xff from ``off``."""
    def f(b: bytes) -> bytes:
        out = bytearray(b)
        o = _off(b, off)
        for i in range(o, min(o + 16, len(out))):
            out[i] ^= 0xFF
        return bytes(out)
    return f


def put(off, data: bytes) -> Callable[[bytes], bytes]:
    def f(b: bytes) -> bytes:
        o = _off(b, off)
        return b[:o] + data + b[o + len(data):]
    return f


def put_byte(off, value: int) -> Callable[[bytes], bytes]:
    return put(off, bytes([value]))


def prime(off, p: int) -> Callable[[bytes], bytes]:
    return put(off, p.to_bytes(32, "little"))


def mid_invalid_utf8(b: bytes) -> bytes:
    """Byte 0xff in the middle of a text file (never valid UTF-8)."""
    return put_byte(len(b) // 2, 0xFF)(b)


def mutate(src: str, dst: str, fn) -> Callable[[Path], None]:
    def prepare(d: Path) -> None:
        (d / dst).write_bytes(fn((d / src).read_bytes()))
    return prepare


def swap(src: str, dst: str) -> Callable[[Path], None]:
    def prepare(d: Path) -> None:
        (d / dst).write_bytes((d / src).read_bytes())
    return prepare


def write(dst: str, data) -> Callable[[Path], None]:
    def prepare(d: Path) -> None:
        p = d / dst
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data if isinstance(data, bytes) else data.encode())
    return prepare


def chain(*steps) -> Callable[[Path], None]:
    def prepare(d: Path) -> None:
        for s in steps:
            s(d)
    return prepare


def deep_json(prefix: str = "", suffix: str = "") -> bytes:
    return (prefix + "[" * DEEP + "]" * DEEP + suffix).encode()


# --- JSON edits ------------------------------------------------------------------------------


def edit_json(src: str, dst: str, fn, raw: bool = False) -> Callable[[Path], None]:
    """``dst`` = ``src`` with ``fn(doc)`` applied (fn edits in place or returns a new doc);
    ``raw``: fn returns the text to write."""
    def prepare(d: Path) -> None:
        doc = json.loads((d / src).read_text())
        new = fn(doc)
        if raw:
            (d / dst).write_text(new)
        else:
            (d / dst).write_text(json.dumps(doc if new is None else new, indent=1) + "\n")
    return prepare


def at(doc, path):
    for k in path:
        doc = doc[k]
    return doc


def set_at(path, value):
    def fn(doc):
        parent = at(doc, path[:-1])
        if isinstance(parent, dict):
            assert path[-1] in parent, f"no field {path} in the base document: update the table"
        parent[path[-1]] = value
    return fn


def del_at(path):
    def fn(doc):
        del at(doc, path[:-1])[path[-1]]
    return fn


def rename_key(path, new):
    def fn(doc):
        parent = at(doc, path[:-1])
        parent[new] = parent.pop(path[-1])
    return fn


def map_at(path, f):
    def fn(doc):
        parent = at(doc, path[:-1])
        parent[path[-1]] = f(parent[path[-1]])
    return fn


# --- curve points for proof tampering (independent of zkml's own arithmetic) ------------------


def _fq2_sqrt(a):
    """Square root in Fq2 for q = 3 mod 4 (Adj and Rodriguez-Henriquez, algorithm 9)."""
    from py_ecc.optimized_bn128 import FQ2

    one, minus_one = FQ2.one(), FQ2([Q - 1, 0])
    a1 = a ** ((Q - 3) // 4)
    alpha = a1 * a1 * a
    a0 = (alpha ** Q) * alpha
    if a0 == minus_one:
        return None
    x0 = a1 * a
    x = FQ2([0, 1]) * x0 if alpha == minus_one else ((one + alpha) ** ((Q - 1) // 2)) * x0
    return x if x * x == a else None


_NON_SUBGROUP = None


def g2_outside_subgroup() -> tuple[list[str], list[str]]:
    """An affine point on the twist y^2 = x^3 + 3/(9+u) that is not in the order-r subgroup."""
    global _NON_SUBGROUP
    if _NON_SUBGROUP is None:
        from py_ecc.optimized_bn128 import FQ2, b2, is_inf, multiply

        for i in range(1, 100):
            x = FQ2([i, 1])
            y = _fq2_sqrt(x ** 3 + b2)
            if y is None:
                continue
            pt = (x, y, FQ2.one())
            if not is_inf(multiply(pt, R)):
                _NON_SUBGROUP = ([str(c) for c in x.coeffs], [str(c) for c in y.coeffs])
                break
    return _NON_SUBGROUP


G1_GEN = ["1", "2", "1"]
def g2_generator() -> list:
    from py_ecc.bn128 import G2

    return [[str(c) for c in G2[0].coeffs], [str(c) for c in G2[1].coeffs], ["1", "0"]]

COORDS = [("pi_a", 0), ("pi_a", 1), ("pi_b", 0, 0), ("pi_b", 0, 1), ("pi_b", 1, 0), ("pi_b", 1, 1),
          ("pi_c", 0), ("pi_c", 1)]


def _coord_name(path) -> str:
    return path[0] + "".join(f"[{i}]" for i in path[1:])


def proof_tamperings(other_proof: str) -> list[tuple[str, Callable, bool]]:
    """(name, fn(proof dict, base folder), default) for the snarkjs proof object: every change
    must make the proof fail. ``other_proof``: a base file holding a valid proof of another input
    (a bare snarkjs proof or a zkml proof file)."""
    out = []

    def coord(path, f):
        return lambda p, d: set_at(path, str(f(int(at(p, path)))))(p)

    defaults = {("pi_a", 0, "plus_q"), ("pi_b", 1, 1, "plus_q"), ("pi_c", 1, "plus1")}
    for path in COORDS:
        for op, f in (("plus1", lambda v: (v + 1) % Q), ("zero", lambda v: 0), ("q", lambda v: Q),
                      ("plus_q", lambda v: v + Q)):
            out.append((f"{_coord_name(path)}-{op}", coord(path, f), (*path, op) in defaults))
    for name, z in (("a", "pi_a"), ("c", "pi_c")):
        out.append((f"{z}-z0", lambda p, d, z=z: set_at((z, 2), "0")(p), name == "a"))
        out.append((f"{z}-z2", lambda p, d, z=z: set_at((z, 2), "2")(p), False))
    out.append(("pi_b-z0", lambda p, d: set_at(("pi_b", 2), ["0", "0"])(p), False))
    out.append(("pi_b-z2", lambda p, d: set_at(("pi_b", 2), ["2", "0"])(p), False))

    def neg(z):
        return lambda p, d: set_at((z, 1), str(Q - int(p[z][1])))(p)

    def other_b(p, d):
        x, y = g2_outside_subgroup()
        p["pi_b"] = [x, y, ["1", "0"]]

    def swap_halves(p, d):
        p["pi_b"] = [p["pi_b"][0][::-1], p["pi_b"][1][::-1], p["pi_b"][2]]

    def swap_ac(p, d):
        p["pi_a"], p["pi_c"] = p["pi_c"], p["pi_a"]

    def from_other(keys):
        def fn(p, d):
            o = json.loads((d / other_proof).read_text())
            o = o.get("proof", o)
            for k in keys:
                p[k] = o[k]
        return fn

    out += [
        ("a-not-on-curve-1-3", lambda p, d: set_at(("pi_a",), ["1", "3", "1"])(p), False),
        ("a-g1-generator", lambda p, d: set_at(("pi_a",), list(G1_GEN))(p), False),
        ("c-g1-generator", lambda p, d: set_at(("pi_c",), list(G1_GEN))(p), False),
        ("b-g2-generator", lambda p, d: set_at(("pi_b",), g2_generator())(p), False),
        ("a-negated", neg("pi_a"), True),
        ("c-negated", neg("pi_c"), False),
        ("b-outside-subgroup", other_b, True),
        ("b-fq2-halves-swapped", swap_halves, False),
        ("a-c-swapped", swap_ac, False),
        ("a-of-another-input", from_other(["pi_a"]), False),
        ("proof-of-another-input", from_other(["pi_a", "pi_b", "pi_c"]), True),
    ]
    return out


def signal_tamperings(n: int, defaults: set[str]) -> list[tuple[str, Callable, str, bool]]:
    """(name, fn(signals list), expect, default) over ``n`` public signals."""
    out = []
    for i in range(n):
        for op, f in (("plus_r", lambda v: str(int(v) + R)), ("r", lambda v: str(R)),
                      ("2^256-1", lambda v: str(2**256 - 1)), ("minus1", lambda v: "-1"),
                      ("minus_r", lambda v: str(int(v) - R)), ("plus1", lambda v: str(int(v) + 1))):
            name = f"signal{i}-{op}"
            out.append((name, lambda s, i=i, f=f: s.__setitem__(i, f(s[i])), "invalid", name in defaults))
    out += [
        ("signals-one-fewer", lambda s: s.pop(), "invalid", "signals-one-fewer" in defaults),
        ("signals-one-more", lambda s: s.append("0"), "invalid", False),
        ("signals-none", lambda s: s.clear(), "invalid", False),
        # the same values in another encoding: legitimately accepted (probe, footnote 3)
        ("signal0-leading-zeros", lambda s: s.__setitem__(0, "000" + s[0]), "accept",
         "signal0-leading-zeros" in defaults),
        ("signal0-spaces", lambda s: s.__setitem__(0, " " + s[0] + " "), "accept", False),
        ("signal0-json-number", lambda s: s.__setitem__(0, int(s[0])), "accept", False),
    ]
    return out


# --- the table -------------------------------------------------------------------------------

BUNDLE_NEEDS = ("bc", "proof.json", "in.npz", "in.json")
MULT = ("m.r1cs", "m.zkey", "m.wtns", "m.vk.json", "m.proof.json", "m.public.json", "pot4.ptau")


def _g16_prove(zkey="m.zkey", wtns="m.wtns", *extra):
    return ["groth16", "prove", zkey, wtns, "p.json", "pub.json", *extra]


def category1() -> list[Case]:
    """Corrupt files of every kind (probe category 1)."""
    cs: list[Case] = []

    def add(id_, argv, prepare, names, expect="reject", outputs=(), needs=MULT, owner="2", defect="", slow=False,
            **kw):
        cs.append(Case(f"1-{id_}", "1", argv, expect, needs=needs, prepare=prepare, names=names, outputs=outputs,
                       owner=owner, defect=defect, slow=slow, **kw))

    # r1cs: zkml groth16 setup bad.r1cs out.zkey --ptau pot4.ptau
    setup = ["groth16", "setup", "bad.r1cs", "out.zkey", "--ptau", "pot4.ptau"]
    H1 = 1  # r1cs header section
    for name, fn, slow in (("empty", empty, False), ("half", half, False), ("drop-last-byte", drop_last, True),
                           ("magic-bit", flip_bit(0), True), ("16-bytes-in-constraints", flip16(sec(2, 0)), False),
                           ("wrong-prime", prime(sec(H1, 4), BLS12_381_R), False),
                           ("coefficient-not-below-r", put_byte(sec(2, 4 + 4 + 31), 0xFF), False)):
        add(f"r1cs-{name}", setup, mutate("m.r1cs", "bad.r1cs", fn), ("bad.r1cs",), outputs=("out.zkey",),
            slow=slow, defect="15" if "coefficient" in name else "")
    add("r1cs-swapped-for-wtns", setup, swap("m.wtns", "bad.r1cs"), ("bad.r1cs",), outputs=("out.zkey",))
    # B's only term names wire 3 (b); as wire 1 (c) it is still a valid circuit: -a * c = -c
    add("r1cs-wire-3-becomes-1", setup, mutate("m.r1cs", "bad.r1cs", flip_bit(sec(2, 4 + 4 + 32 + 4), 1)),
        (), expect="accept", outputs=("out.zkey",))
    add("r1cs-wrong-circuit", _g16_prove("m.zkey", "m.wtns", "--r1cs", "bc/circuit.r1cs"), None,
        ("circuit.r1cs", "m.zkey", "m.wtns"), needs=MULT + ("bc",), outputs=("p.json", "pub.json"))
    add("bundle-r1cs-16-bytes-setup", ["setup", "bc0"], mutate("bc0/circuit.r1cs", "bc0/circuit.r1cs",
        flip16(sec(2, 1000))), ("circuit.r1cs",), needs=("bc0",), owner="5")
    for name, fn in (("empty", empty), ("half", half), ("16-bytes", flip16(sec(2, 1000)))):
        add(f"bundle-r1cs-{name}-inspect", ["inspect", "bc"], mutate("bc/circuit.r1cs", "bc/circuit.r1cs", fn),
            ("circuit.r1cs",), expect="flag", needs=("bc",), owner="unowned (inspect)", defect="15",
            slow=name != "half")

    # zkey: zkml groth16 prove bad.zkey m.wtns p.json pub.json (and export-vk, contribute)
    G = 2  # Groth16 header: n8q q n8r r nVars nPublic domain (84 bytes), alpha1 beta1 beta2 gamma2 delta1 delta2
    ALPHA1, BETA1, BETA2 = 84, 84 + 64, 84 + 128
    prove = _g16_prove("bad.zkey")
    out2 = ("p.json", "pub.json")
    for name, fn, slow in (("empty", empty, False), ("half", half, False), ("drop-last-byte", drop_last, True),
                           ("magic-bit", flip_bit(0), True), ("wrong-q", prime(sec(G, 4), SECP256K1_P), False),
                           ("wrong-r", prime(sec(G, 40), BLS12_381_R), True),
                           ("16-bytes-alpha1", flip16(sec(G, ALPHA1)), False),
                           ("beta1-bit", flip_bit(sec(G, BETA1 + 3)), False),
                           ("beta2-bit", flip_bit(sec(G, BETA2 + 3)), True),
                           ("ic-bit", flip_bit(sec(3, 3)), True),
                           ("h-point-bit", flip_bit(sec(9, 3)), False),
                           ("b2-point-bit", flip_bit(sec(7, 3)), True),
                           ("coefficient-not-below-r", put_byte(sec(4, 4 + 12 + 31), 0xFF), True)):
        add(f"zkey-{name}-prove", prove, mutate("m.zkey", "bad.zkey", fn), ("bad.zkey",), outputs=out2, slow=slow,
            defect="7" if "bit" in name or "16" in name else "")
    add("zkey-swapped-for-ptau-prove", prove, swap("pot4.ptau", "bad.zkey"), ("bad.zkey",), outputs=out2)
    add("zkey-wrong-circuit-prove", _g16_prove("bc/circuit.zkey", "m.wtns"), None, ("circuit.zkey", "m.wtns"),
        needs=MULT + ("bc",), outputs=out2)
    export = ["groth16", "export-vk", "bad.zkey", "vk.json"]
    add("zkey-16-bytes-alpha1-export-vk", export, mutate("m.zkey", "bad.zkey", flip16(sec(G, ALPHA1))), ("bad.zkey",),
        outputs=("vk.json",), defect="7")
    add("zkey-half-export-vk", export, mutate("m.zkey", "bad.zkey", half), ("bad.zkey",), outputs=("vk.json",),
        slow=True)
    contribute = ["groth16", "contribute", "bad.zkey", "out.zkey", "--name", "t"]
    add("zkey-beta1-bit-contribute", contribute, mutate("m.zkey", "bad.zkey", flip_bit(sec(G, BETA1 + 3))),
        ("bad.zkey",), outputs=("out.zkey",), defect="7")
    add("zkey-16-bytes-alpha1-contribute", contribute, mutate("m.zkey", "bad.zkey", flip16(sec(G, ALPHA1))),
        ("bad.zkey",), outputs=("out.zkey",), defect="7", slow=True)

    # wtns: zkml groth16 prove m.zkey bad.wtns p.json pub.json
    prove = _g16_prove("m.zkey", "bad.wtns")
    for name, fn, slow in (("empty", empty, False), ("half", half, False), ("drop-last-byte", drop_last, True),
                           ("magic-bit", flip_bit(0), True), ("wrong-prime", prime(sec(1, 4), BLS12_381_R), False),
                           ("value-not-below-r", flip16(sec(2, 32 + 16)), False),
                           ("value-bit", flip_bit(sec(2, 32)), False)):
        add(f"wtns-{name}-prove", prove, mutate("m.wtns", "bad.wtns", fn), ("bad.wtns",), outputs=out2, slow=slow)
    add("wtns-value-bit-prove-r1cs", prove + ["--r1cs", "m.r1cs"], mutate("m.wtns", "bad.wtns", flip_bit(sec(2, 32))),
        ("bad.wtns",), outputs=out2, slow=True)
    add("wtns-swapped-for-r1cs-prove", prove, swap("m.r1cs", "bad.wtns"), ("bad.wtns",), outputs=out2)

    # ptau: zkml groth16 setup m.r1cs out.zkey --ptau bad.ptau
    setup = ["groth16", "setup", "m.r1cs", "out.zkey", "--ptau", "bad.ptau"]
    LAG4 = 3 * 64  # the Lagrange points of domain 2^2 follow those of 2^0 and 2^1
    for name, fn, slow in (("empty", empty, False), ("half", half, False), ("drop-last-byte", drop_last, True),
                           ("magic-bit", flip_bit(0), True), ("wrong-prime", prime(sec(1, 4), SECP256K1_P), False),
                           ("16-bytes-lagrange-tau-g1", flip16(sec(12, LAG4 + 8)), False),
                           ("16-bytes-lagrange-tau-g2", flip16(sec(13, 3 * 128 + 8)), True),
                           ("16-bytes-lagrange-alpha-tau-g1", flip16(sec(14, LAG4 + 8)), True)):
        add(f"ptau-{name}-setup", setup, mutate("pot4.ptau", "bad.ptau", fn), ("bad.ptau",), outputs=("out.zkey",),
            slow=slow, defect="7" if "16" in name else "")
    add("ptau-swapped-for-zkey-setup", setup, swap("m.zkey", "bad.ptau"), ("bad.ptau",), outputs=("out.zkey",))

    # snarkjs JSON: zkml groth16 verify vk public proof
    files = {"vk": "m.vk.json", "public": "m.public.json", "proof": "m.proof.json"}
    for kind, base in files.items():
        argv = ["groth16", "verify"] + ["bad.json" if k == kind else f for k, f in files.items()]
        flips = {"vk": "vk_alpha_1", "public": None, "proof": "pi_a"}

        def digit_flip(b: bytes, kind=kind) -> bytes:
            """Flip bit 0 of the first digit of the first number (vk alpha1 x, public[0], pi_a x)."""
            key = {"vk": b'"vk_alpha_1"', "public": b"[", "proof": b'"pi_a"'}[kind]
            i = b.index(key) + len(key)
            while not b[i:i + 1].isdigit():
                i += 1
            return flip_bit(i)(b)

        for name, fn, slow, expect in (("empty", empty, False, "reject"), ("half", half, kind != "proof", "reject"),
                                       ("drop-newline", drop_newline, kind != "vk", "accept"),
                                       ("cut-closing-bracket", cut_last_char, True, "reject"),
                                       ("digit-bit", digit_flip, kind != "public", "invalid"),
                                       ("16-bytes", flip16(lambda b: len(b) // 2), kind != "proof", "reject"),
                                       ("invalid-utf8", mid_invalid_utf8, kind != "vk", "reject")):
            add(f"json-{kind}-{name}-groth16-verify", argv, mutate(base, "bad.json", fn),
                ("bad.json",) if expect != "accept" else (), expect=expect, slow=slow,
                contains=("OK",) if expect == "accept" else ())
        swapped = {"vk": "m.proof.json", "public": "m.vk.json", "proof": "m.public.json"}[kind]
        add(f"json-{kind}-swapped-groth16-verify", argv, swap(swapped, "bad.json"), ("bad.json",), slow=kind == "public")
    add("json-vk-wrong-circuit-groth16-verify", ["groth16", "verify", "bc/verification_key.json", "m.public.json",
        "m.proof.json"], None, ("verification_key.json", "m.public.json"), needs=MULT + ("bc",), defect="13")

    # manifest.json: inspect, prove, verify --bundle, setup
    cmds = {"inspect": ["inspect", "bc"], "prove": ["prove", "bc", "-i", "in.npz", "-o", "out.json"],
            "verify": ["verify", "proof.json", "--bundle", "bc"], "setup": ["setup", "bc0"]}

    def manifest_case(name, fn, cmd, slow=False, expect="reject", defect=""):
        bundle = "bc0" if cmd == "setup" else "bc"
        add(f"manifest-{name}-{cmd}", cmds[cmd], mutate(f"{bundle}/manifest.json", f"{bundle}/manifest.json", fn),
            ("manifest.json",) if expect != "accept" else (), expect=expect, needs=BUNDLE_NEEDS + ("bc0",),
            outputs=("out.json",) if cmd == "prove" else (), owner="5", defect=defect, slow=slow)

    for cmd in cmds:  # the probe's byte: 0xaa at offset 360
        manifest_case("invalid-utf8", put_byte(360, 0xAA), cmd, defect="3")
    manifest_case("empty", empty, "inspect")
    manifest_case("half", half, "prove")
    manifest_case("drop-newline", drop_newline, "inspect", expect="accept")
    manifest_case("16-bytes", flip16(lambda b: len(b) // 2), "verify", slow=True)
    manifest_case("cut-closing-bracket", cut_last_char, "setup", slow=True)
    add("manifest-swapped-for-vk-inspect", ["inspect", "bc"], swap("bc/verification_key.json", "bc/manifest.json"),
        ("manifest.json",), needs=("bc",), owner="5")
    add("manifest-format-99-prove", cmds["prove"], edit_json("bc/manifest.json", "bc/manifest.json",
        set_at(("format_version",), 99)), ("manifest.json",), needs=BUNDLE_NEEDS, outputs=("out.json",), owner="5")
    add("manifest-input-null-prove", cmds["prove"], edit_json("bc/manifest.json", "bc/manifest.json",
        set_at(("input",), None)), ("manifest.json",), needs=BUNDLE_NEEDS, outputs=("out.json",), owner="5")
    add("manifest-shape-string-inspect", ["inspect", "bc"], edit_json("bc/manifest.json", "bc/manifest.json",
        set_at(("input", "shape"), "1x30")), ("manifest.json",), needs=("bc",), owner="5", slow=True)

    # model.onnx: zkml compile bad.onnx -c cal.npz -o out (and inspect on the bundle's copy)
    comp = ["compile", "bad.onnx", "-c", "cal.npz", "-o", "out"]
    for name, fn, slow in (("empty", empty, False), ("half", half, False), ("16-bytes-at-start", flip16(0), True)):
        add(f"onnx-{name}-compile", comp, mutate("model.onnx", "bad.onnx", fn), ("bad.onnx",), needs=("model.onnx",
            "cal.npz"), outputs=("out",), owner="4", slow=slow)
    add("onnx-swapped-for-zkey-compile", comp, swap("m.zkey", "bad.onnx"), ("bad.onnx",),
        needs=("model.onnx", "cal.npz", "m.zkey"), outputs=("out",), owner="4")
    add("calibration-empty-compile", ["compile", "model.onnx", "-c", "bad.npz", "-o", "out"], write("bad.npz", b""),
        ("bad.npz",), needs=("model.onnx", "cal.npz"), outputs=("out",), owner="5")
    add("calibration-half-compile", ["compile", "model.onnx", "-c", "bad.npz", "-o", "out"],
        mutate("cal.npz", "bad.npz", half), ("bad.npz",), needs=("model.onnx", "cal.npz"), outputs=("out",),
        owner="5", slow=True)
    for name, prep in (("empty", write("bc/model.onnx", b"")), ("swapped-for-zkey", swap("bc/circuit.zkey", "bc/model.onnx"))):
        add(f"bundle-onnx-{name}-inspect", ["inspect", "bc"], prep, ("model.onnx",), expect="flag", needs=("bc",),
            owner="unowned (inspect)", defect="15", slow=True)

    # the bundle proof: zkml verify bad.json
    verify = ["verify", "bad.json"]
    for name, fn, slow, expect in (("empty", empty, False, "reject"), ("half", half, False, "reject"),
                                   ("drop-newline", drop_newline, False, "accept"),
                                   ("cut-closing-bracket", cut_last_char, True, "reject"),
                                   ("invalid-utf8", mid_invalid_utf8, False, "reject"),
                                   ("16-bytes", flip16(lambda b: len(b) // 2), True, "reject")):
        add(f"proof-{name}-verify", verify, mutate("proof.json", "bad.json", fn), ("bad.json",) if expect != "accept"
            else (), expect=expect, needs=BUNDLE_NEEDS, owner="1", defect="2" if "utf8" in name else "", slow=slow,
            contains=("OK",) if expect == "accept" else ())
    add("proof-swapped-for-snarkjs-proof-verify", verify, swap("m.proof.json", "bad.json"), ("bad.json",),
        needs=BUNDLE_NEEDS + ("m.proof.json",), owner="1")
    add("proof-swapped-for-manifest-verify", verify, swap("bc/manifest.json", "bad.json"), ("bad.json",),
        needs=BUNDLE_NEEDS, owner="1", slow=True)

    # input files: zkml prove bc -i bad.* -o out.json
    def prove_in(ext):
        return ["prove", "bc", "-i", f"bad.{ext}", "-o", "out.json"]

    def npz_data_bit(b: bytes) -> bytes:
        i = b.index(b"\x93NUMPY")
        (hlen,) = struct.unpack_from("<H", b, i + 8)
        return flip_bit(i + 10 + hlen + 2, 3)(b)

    for name, fn, slow, defect in (("empty", empty, False, "4"), ("half", half, False, "4"),
                                   ("drop-last-byte", drop_last, True, "4"), ("data-bit", npz_data_bit, False, "4")):
        add(f"input-npz-{name}-prove", prove_in("npz"), mutate("in.npz", "bad.npz", fn), ("bad.npz",),
            needs=BUNDLE_NEEDS, outputs=("out.json",), owner="5", defect=defect, slow=slow)
    add("input-npz-swapped-for-zkey-prove", prove_in("npz"), swap("bc/circuit.zkey", "bad.npz"), ("bad.npz",),
        needs=BUNDLE_NEEDS, outputs=("out.json",), owner="5")
    for name, fn, slow, expect in (("empty", empty, False, "reject"), ("half", half, False, "reject"),
                                   ("invalid-utf8", mid_invalid_utf8, False, "reject"),
                                   ("16-bytes", flip16(lambda b: len(b) // 2), True, "reject"),
                                   ("drop-newline", lambda b: drop_newline(b), True, "accept")):
        add(f"input-json-{name}-prove", prove_in("json"), mutate("in.json", "bad.json", fn),
            ("bad.json",) if expect != "accept" else (), expect=expect, needs=BUNDLE_NEEDS,
            outputs=("out.json",), owner="5", slow=slow)
    add("input-json-swapped-for-proof-prove", prove_in("json"), swap("proof.json", "bad.json"), ("bad.json",),
        needs=BUNDLE_NEEDS, outputs=("out.json",), owner="5")
    return cs


def category2() -> list[Case]:
    """Bad inputs to ``zkml prove`` (probe category 2, defects 1, 4, 12, 13)."""
    import numpy as np  # noqa: F401  (the prepare functions use it)

    cs: list[Case] = []
    argv = lambda f: ["prove", "bc", "-i", f, "-o", "out.json"]  # noqa: E731

    def row(d: Path) -> list[float]:
        return json.loads((d / "in.json").read_text())

    def json_input(name, make, expect="reject", slow=False, defect="", forbid=(), contains=(), file="bad.json"):
        def prepare(d: Path, make=make) -> None:
            v = make(row(d))
            (d / file).write_text(v if isinstance(v, str) else json.dumps(v))
        cs.append(Case(f"2-{name}", "2", argv(file), expect, needs=BUNDLE_NEEDS, prepare=prepare,
                       names=(file,) if expect != "accept" else (), outputs=("out.json",), owner="5", defect=defect,
                       slow=slow, forbid=forbid, contains=contains))

    obj = ("dtype object",)
    json_input("json-empty-object", lambda x: {}, defect="13", forbid=obj)
    json_input("json-null", lambda x: None, defect="13", forbid=obj)
    json_input("json-data-key", lambda x: {"data": x}, defect="13", forbid=obj)
    json_input("json-empty-list", lambda x: [], slow=True)
    json_input("json-string", lambda x: "abc", slow=True)
    json_input("json-29-values", lambda x: x[:29])
    json_input("json-31-values", lambda x: x + [1.0], slow=True)
    json_input("json-two-rows", lambda x: [x, x])
    json_input("json-string-element", lambda x: ["a"] + x[1:])
    json_input("json-null-element", lambda x: [None] + x[1:], slow=True)
    json_input("json-bool-element", lambda x: [True] + x[1:], slow=True)
    json_input("json-nested-element", lambda x: [[x[0]]] + x[1:], slow=True)
    json_input("json-nan-token", lambda x: "[NaN" + json.dumps(x[1:]).replace("[", ",", 1))
    json_input("json-infinity-token", lambda x: "[Infinity" + json.dumps(x[1:]).replace("[", ",", 1), slow=True)
    json_input("json-1e400", lambda x: "[1e400" + json.dumps(x[1:]).replace("[", ",", 1))
    json_input("json-1e30", lambda x: [1e30] + x[1:])
    json_input("json-10^30-integer", lambda x: "[" + str(10**30) + json.dumps(x[1:]).replace("[", ",", 1),
               defect="13", forbid=obj)
    json_input("json-5000-digit-integer", lambda x: "[" + "7" * 5000 + json.dumps(x[1:]).replace("[", ",", 1))
    # outside the calibrated range, inside |x| < 8192: defect 12
    json_input("range-feature3-4x-max", lambda x: x[:3] + [4 * CAL_MAX3] + x[4:], defect="12")
    json_input("range-feature0-below-min", lambda x: [CAL_MIN0 - 24.0] + x[1:], defect="12", slow=True)
    json_input("range-times-10", lambda x: [10 * v for v in x], defect="12", slow=True)
    json_input("range-negated", lambda x: [-v for v in x], defect="12", slow=True)
    # legitimately accepted (probe, footnote 2)
    json_input("json-input-key", lambda x: {"input": x}, expect="accept", slow=True)

    def npz(name, make, expect="reject", slow=False, file="bad.npz", defect="", forbid=(), contains=()):
        def prepare(d: Path, make=make) -> None:
            import numpy as np

            x = np.array(row(d), dtype=np.float32)
            make(d / file, x)
        cs.append(Case(f"2-{name}", "2", argv(file), expect, needs=BUNDLE_NEEDS, prepare=prepare,
                       names=(file,) if expect != "accept" else (), outputs=("out.json",), owner="5",
                       slow=slow, defect=defect, forbid=forbid, contains=contains))

    def np_():
        import numpy as np
        return np

    npz("npz-baseline", lambda p, x: np_().savez(p, x=x.reshape(1, 30)), expect="accept")
    # integers are numbers (accepted as a dtype), but rounding this model's fractional features moves
    # them outside their calibrated range, which the prover refuses naming the feature
    npz("npz-int64-rounded-out-of-range", lambda p, x: np_().savez(p, x=np_().round(x).astype(np_().int64)), slow=True)
    npz("npz-float64", lambda p, x: np_().savez(p, x=x.astype(np_().float64)), expect="accept", slow=True)
    npz("npz-two-arrays-no-x", lambda p, x: np_().savez(p, a=x, b=x))
    npz("npz-wrong-shape", lambda p, x: np_().savez(p, x=x[:29]))
    npz("npz-object-array-pickle", lambda p, x: np_().savez(p, x=np_().array([x.tolist(), "a"], dtype=object)))
    npz("npz-nan", lambda p, x: np_().savez(p, x=np_().where(np_().arange(30) == 0, np_().nan, x).astype("f4")))
    npz("npz-complex", lambda p, x: np_().savez(p, x=x.astype(np_().complex64)), slow=True)
    npz("npz-strings", lambda p, x: np_().savez(p, x=x.astype(str)), slow=True)
    npz("npy-valid", lambda p, x: np_().save(p, x), expect="accept", file="in.npy", slow=True, defect="13")

    def npy_huge_header(p: Path, x) -> None:  # numpy would allocate 4 TB before reading the data
        np_().save(p, x)
        p.write_bytes(_npy_with_shape(p.read_bytes(), "(1000000000000,)"))

    npz("npy-header-claims-huge-shape", npy_huge_header, file="bad.npy")
    npz("npy-object-array-pickle", lambda p, x: np_().save(p, np_().array([1, "a"], dtype=object),
                                                          allow_pickle=True), file="bad.npy")
    cs.append(Case("2-csv-file", "2", argv("bad.csv"), "reject", needs=BUNDLE_NEEDS,
                   prepare=lambda d: (d / "bad.csv").write_text(",".join(map(str, row(d))) + "\n"),
                   names=("bad.csv",), outputs=("out.json",), owner="5", defect="13", forbid=("Extra data",)))
    return cs


def _npy_with_shape(b: bytes, shape: str) -> bytes:
    """An .npy file whose header declares ``shape`` (its data stays 30 float32)."""
    (hlen,) = struct.unpack_from("<H", b, 8)
    header = b[10:10 + hlen].decode("latin1")
    import re

    header = re.sub(r"'shape': \([^)]*\)", f"'shape': {shape}", header).rstrip()
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * pad + "\n"
    return b[:8] + struct.pack("<H", len(header)) + header.encode("latin1") + b[10 + hlen:]


def category3a() -> list[Case]:
    """Proof and public-signal tampering for ``zkml verify`` and ``zkml groth16 verify``."""
    cs: list[Case] = []
    # zkml verify: the proof object inside the bundle proof file
    for name, fn, default in proof_tamperings("proof1.json"):
        cs.append(Case(f"3a-verify-{name}", "3a", ["verify", "bad.json"], "invalid", needs=BUNDLE_NEEDS + ("proof1.json",),
                       prepare=_proof_edit("proof.json", "bad.json", fn, inner=True), names=("bad.json",), owner="1",
                       slow=not default))
    for name, fn, expect, default in signal_tamperings(5, {"signal0-plus_r", "signal4-plus1", "signals-one-fewer",
                                                           "signal0-leading-zeros"}):
        cs.append(Case(f"3a-verify-{name}", "3a", ["verify", "bad.json"], expect, needs=BUNDLE_NEEDS,
                       prepare=edit_json("proof.json", "bad.json", lambda doc, fn=fn: fn(doc["public_signals"])),
                       names=("bad.json",) if expect != "accept" else (), owner="1", slow=not default,
                       contains=("OK",) if expect == "accept" else ()))
    cs.append(Case("3a-verify-baseline", "3a", ["verify", "proof.json"], "accept", needs=BUNDLE_NEEDS, owner="1",
                   contains=("OK",)))
    cs.append(Case("3a-verify-proof-of-another-input-whole-file", "3a", ["verify", "proof1.json"], "accept",
                   needs=BUNDLE_NEEDS + ("proof1.json",), owner="1", contains=("OK",), slow=True))

    # zkml groth16 verify m.vk.json m.public.json bad.json
    g16 = ["groth16", "verify", "m.vk.json", "m.public.json", "bad.json"]
    needs = MULT + ("m2.proof.json", "m2.public.json")
    for name, fn, default in proof_tamperings("m2.proof.json"):
        cs.append(Case(f"3a-groth16-verify-{name}", "3a", g16, "invalid", needs=needs,
                       prepare=_proof_edit("m.proof.json", "bad.json", fn, inner=False), names=("bad.json",),
                       owner="2", slow=not default))
    g16p = ["groth16", "verify", "m.vk.json", "bad.json", "m.proof.json"]
    for name, fn, expect, default in signal_tamperings(1, {"signal0-plus_r", "signal0-2^256-1", "signals-one-more",
                                                           "signal0-spaces"}):
        cs.append(Case(f"3a-groth16-verify-{name}", "3a", g16p, expect, needs=needs,
                       prepare=edit_json("m.public.json", "bad.json", lambda doc, fn=fn: fn(doc)),
                       names=("bad.json",) if expect != "accept" else (), owner="2", slow=not default,
                       contains=("OK",) if expect == "accept" else ()))
    cs.append(Case("3a-groth16-verify-baseline", "3a", ["groth16", "verify", "m.vk.json", "m.public.json",
                   "m.proof.json"], "accept", needs=needs, owner="2", contains=("OK",)))
    cs.append(Case("3a-groth16-verify-another-input-with-its-signals", "3a", ["groth16", "verify", "m.vk.json",
                   "m2.public.json", "m2.proof.json"], "accept", needs=needs, owner="2", contains=("OK",), slow=True))
    cs.append(Case("3a-groth16-verify-another-inputs-signals", "3a", ["groth16", "verify", "m.vk.json",
                   "m2.public.json", "m.proof.json"], "invalid", needs=needs, owner="2", names=("m2.public.json",),
                   slow=True))
    return cs


def _proof_edit(src, dst, fn, inner: bool):
    def prepare(d: Path) -> None:
        doc = json.loads((d / src).read_text())
        fn(doc["proof"] if inner else doc, d)
        (d / dst).write_text(json.dumps(doc, indent=1) + "\n")
    return prepare


def category3b() -> list[Case]:
    """Claim-field edits in the bundle proof file (``zkml verify``; defects 2 and 6)."""
    cs: list[Case] = []

    def add(name, fn, defect, slow=False, raw=False, forbid=()):
        cs.append(Case(f"3b-{name}", "3b", ["verify", "bad.json"], "invalid", needs=BUNDLE_NEEDS,
                       prepare=edit_json("proof.json", "bad.json", fn, raw=raw), names=("bad.json",), owner="1",
                       defect=defect, slow=slow, forbid=forbid))

    # malformed values: a traceback today (defect 2)
    add("signal0-abc", set_at(("public_signals", 0), "abc"), "2")
    add("signal0-empty-string", set_at(("public_signals", 0), ""), "2")
    add("signal0-null", set_at(("public_signals", 0), None), "2")
    add("signal0-5000-digits", set_at(("public_signals", 0), "9" * 5000), "2")
    add("signal0-float", set_at(("public_signals", 0), 25527144744.0), "15", slow=True)
    add("public-signals-null", set_at(("public_signals",), None), "2")
    add("public-signals-object", set_at(("public_signals",), {"0": "1"}), "2", slow=True)
    add("claim-list", set_at(("claim",), []), "2")
    add("claim-input-removed", del_at(("claim", "input")), "2")
    add("claim-outputs-removed", del_at(("claim", "outputs")), "2", slow=True)
    add("claim-input-null", set_at(("claim", "input"), None), "2")
    add("claim-outputs-null-element", set_at(("claim", "outputs"), [None]), "2")
    add("claim-outputs-empty", set_at(("claim", "outputs"), []), "2", slow=True)
    add("claim-input-value-abc", set_at(("claim", "input", "values", 0), "abc"), "2")
    add("claim-input-values-null", set_at(("claim", "input", "values"), None), "2", slow=True)
    add("claim-output-values-short", map_at(("claim", "outputs", 0, "values"), lambda v: v[:1]), "2", slow=True)
    add("proof-null", set_at(("proof",), None), "2")
    add("proof-pi-a-null", set_at(("proof", "pi_a"), None), "2", slow=True)
    add("version-99", set_at(("zkml_proof_version",), 99), "2", slow=True)
    add("version-string", set_at(("zkml_proof_version",), "2"), "2", slow=True)
    add("top-level-list", lambda doc: [doc], "2", slow=True)
    add("invalid-utf8-in-name", lambda doc: json.dumps(doc).replace('"name": "x"', '"name": "x\udcff"', 1)
        .encode("utf-8", "surrogateescape").decode("latin1"), "2", raw=True, slow=True)
    # readable fields that verify did not check (defect 6)
    add("kind-evaluation", set_at(("claim", "kind"), "evaluation"), "6")
    add("input-name", set_at(("claim", "input", "name"), "evil"), "6")
    add("input-shape-30x1", set_at(("claim", "input", "shape"), [30, 1]), "6")
    add("input-visibility-committed", set_at(("claim", "input", "visibility"), "committed"), "6")
    add("output-name-evil", set_at(("claim", "outputs", 0, "name"), "evil"), "6")
    add("output-shape-2x1", set_at(("claim", "outputs", 0, "shape"), [2, 1]), "6")
    add("output-transform-softmax", set_at(("claim", "outputs", 0, "transform"), "softmax"), "6")
    add("output-transform-key-renamed", rename_key(("claim", "outputs", 0, "transform"), "trbnsform"), "6", slow=True)
    add("protocol-plonk", set_at(("proof", "protocol"), "plonk"), "6")
    add("curve-bls12381", set_at(("proof", "curve"), "bls12381"), "6")
    add("argmax-string", set_at(("claim", "outputs", 0, "argmax"), "1"), "13",
        forbid=("states argmax 1, its values give 1",))
    # fields that were bound already
    add("argmax-other", map_at(("claim", "outputs", 0, "argmax"), lambda a: 1 - a), "", slow=True)
    add("output-value-changed", map_at(("claim", "outputs", 0, "values", 1), lambda v: v + 1.0), "")
    add("input-value-changed", map_at(("claim", "input", "values", 3), lambda v: v * 2), "", slow=True)
    add("model-sha256-changed", map_at(("claim", "model_sha256"), lambda h: "0" * 64), "", slow=True)
    add("weights-sha256-changed", map_at(("claim", "weights_sha256"), lambda h: h[:-1] + ("0" if h[-1] != "0" else "1")),
        "")
    add("vk-sha256-changed", map_at(("claim", "vk_sha256"), lambda h: "0" * 64), "", slow=True)
    return cs


def category4() -> list[Case]:
    """Attestation documents and policies for ``zkml check`` without a chain."""
    cs: list[Case] = []
    needs = ("inf.json", "policy.toml", "bc", "proof.json")

    def doc_case(name, prepare, expect="reject", codes=(2,), slow=False, owner="1", defect="", sub=False):
        cs.append(Case(f"4-doc-{name}", "4", ["check", "bad.json", "--policy", "policy.toml"], expect, needs=needs,
                       prepare=prepare, names=("bad.json",), codes=codes, owner=owner, defect=defect, slow=slow,
                       subprocess=sub))

    cs.append(Case("4-baseline-pass", "4", ["check", "inf.json", "--policy", "policy.toml"], "accept", needs=needs,
                   owner="1", contains=("verdict: PASS",)))
    doc_case("empty", write("bad.json", b""))
    doc_case("half", mutate("inf.json", "bad.json", half))
    doc_case("invalid-utf8", mutate("inf.json", "bad.json", mid_invalid_utf8))
    doc_case("16-bytes", mutate("inf.json", "bad.json", flip16(lambda b: len(b) // 2)), slow=True)
    doc_case("list", write("bad.json", "[]"), slow=True)
    doc_case("schema-v9", write("bad.json", '{"schema": "zkml.attestation/v9"}'), slow=True)
    doc_case("swapped-for-proof", swap("proof.json", "bad.json"))
    doc_case("swapped-for-policy", swap("policy.toml", "bad.json"), slow=True)
    # edits after signing: never a PASS (defect 6: the signature covered a subset of the claim)
    for name, fn, slow, defect in (
            ("output-name-evil", set_at(("claim", "outputs", 0, "name"), "evil"), False, "6"),
            ("output-transform-softmax", set_at(("claim", "outputs", 0, "transform"), "softmax"), False, "6"),
            ("input-shape-30x1", set_at(("claim", "input", "shape"), [30, 1]), True, "6"),
            ("input-name", set_at(("claim", "input", "name"), "evil"), True, "6"),
            ("signature-removed", set_at(("signature",), None), False, ""),
            ("issued-later", map_at(("issued_at",), lambda t: t + 86400), True, ""),
            ("pi-a-plus1", map_at(("proof", "pi_a", 0), lambda v: str(int(v) + 1)), False, ""),
            ("signal0-plus1", map_at(("proof", "public_signals", 0), lambda v: str(int(v) + 1)), True, "")):
        doc_case(f"signed-{name}", edit_json("inf.json", "bad.json", fn), expect="fail", codes=(1, 2), slow=slow,
                 defect=defect)

    def policy_case(name, prepare, slow=False, defect="", sub=False, expect="reject", codes=(2,)):
        cs.append(Case(f"4-policy-{name}", "4", ["check", "inf.json", "--policy", "bad.toml"], expect, needs=needs,
                       prepare=prepare, names=("bad.toml",), codes=codes, owner="5", defect=defect, slow=slow,
                       subprocess=sub))

    policy_case("invalid-utf8", mutate("policy.toml", "bad.toml", lambda b: b.replace(b"[policy]", b"[policy]\n#\xff", 1)),
                defect="3")
    policy_case("empty", write("bad.toml", b""))
    policy_case("half", mutate("policy.toml", "bad.toml", lambda b: b[: b.index(b"signers") + 12]))
    policy_case("bad-toml", write("bad.toml", '[policy]\nsigners = ["0xabc"] ]\n'), slow=True)
    policy_case("unknown-key", mutate("policy.toml", "bad.toml", lambda b: b + b"min_acuracy = 0.9\n"), slow=True)
    policy_case("wrong-type", mutate("policy.toml", "bad.toml", lambda b: b + b'min_samples = "many"\n'), slow=True)
    policy_case("json-instead", swap("inf.json", "bad.toml"), slow=True)
    policy_case("deep-array", write("bad.toml", b"[policy]\nsigners = " + b"[" * DEEP + b"]" * DEEP + b"\n"), sub=True)
    policy_case("kind-not-accepted", mutate("policy.toml", "bad.toml", lambda b: b + b'kinds = ["evaluation"]\n'),
                expect="fail", codes=(1,))
    return cs


def category6() -> list[Case]:
    """A full disk: one line naming the output, no partial result, no temp file (defect 5)."""
    cs: list[Case] = []
    page = 4096

    def add(name, argv, names, needs, disk, slow=False, prepare=None):
        cs.append(Case(f"6-{name}", "6", argv, "reject", needs=needs, names=names, disk=disk, owner="3", defect="5",
                       slow=slow, prepare=prepare, codes=(1,)))

    add("prove-full", ["prove", "bc", "-i", "in.npz", "-o", "tiny/proof.json"], ("proof.json",), BUNDLE_NEEDS, Disk())
    add("prove-full-injected", ["prove", "bc", "-i", "in.npz", "-o", "tiny/proof.json"], ("proof.json",), BUNDLE_NEEDS,
        Disk(inject=True, free=100))
    add("groth16-prove-one-page", ["groth16", "prove", "m.zkey", "m.wtns", "tiny/p.json", "tiny/pub.json"],
        ("p.json", "pub.json"), MULT, Disk(free=page))
    add("groth16-prove-one-page-injected", ["groth16", "prove", "m.zkey", "m.wtns", "tiny/p.json", "tiny/pub.json"],
        ("p.json", "pub.json"), MULT, Disk(inject=True, free=page), slow=True)

    def zkey_only(d: Path) -> int:  # room for circuit.zkey, not for verification_key.json
        return -(-(d / "bc/circuit.zkey").stat().st_size // page) * page

    def bundle_on_tiny(d: Path) -> None:
        import shutil

        shutil.copytree(d / "bc0", d / "tiny/bc0")

    add("setup-room-for-zkey-only", ["setup", "tiny/bc0"], ("circuit.zkey", "verification_key.json", "manifest.json"),
        ("bc0", "bc"), Disk(size=3 << 20, free=zkey_only), prepare=bundle_on_tiny)
    add("compile-full", ["compile", "model.onnx", "-c", "cal.npz", "-o", "tiny/bc"], ("tiny/bc", "circuit.r1cs"),
        ("model.onnx", "cal.npz"), Disk(size=256 << 10), slow=True)
    add("groth16-setup-full", ["groth16", "setup", "m.r1cs", "tiny/k.zkey", "--ptau", "pot4.ptau"], ("k.zkey",), MULT,
        Disk(), slow=True)
    add("groth16-export-vk-full", ["groth16", "export-vk", "m.zkey", "tiny/vk.json"], ("vk.json",), MULT, Disk(),
        slow=True)
    add("groth16-ptau-new-full", ["groth16", "ptau-new", "4", "tiny/t.ptau"], ("t.ptau",), (), Disk(), slow=True)
    add("attest-inference-full", ["attest", "inference", "proof.json", "-o", "tiny/a.json"], ("a.json",),
        BUNDLE_NEEDS, Disk(), slow=True)
    return cs


def category10() -> list[Case]:
    """An output path that is also an input: refused before anything is written (defect 10)."""
    cs: list[Case] = []

    def add(name, argv, names, needs, prepare=None, slow=False):
        cs.append(Case(f"10-{name}", "10", argv, "reject", needs=needs, names=names, prepare=prepare, owner="3",
                       defect="10", slow=slow))

    add("prove-onto-manifest", ["prove", "bc", "-i", "in.json", "-o", "bc/manifest.json"], ("manifest.json",),
        BUNDLE_NEEDS)
    add("prove-onto-input", ["prove", "bc", "-i", "in.json", "-o", "in.json"], ("in.json",), BUNDLE_NEEDS)
    add("export-vk-onto-zkey", ["groth16", "export-vk", "m.zkey", "m.zkey"], ("m.zkey",), MULT)
    add("groth16-prove-same-outputs", ["groth16", "prove", "m.zkey", "m.wtns", "same.json", "same.json"],
        ("same.json",), MULT)
    add("groth16-prove-onto-wtns", ["groth16", "prove", "m.zkey", "m.wtns", "m.wtns", "pub.json"], ("m.wtns",), MULT,
        slow=True)
    add("groth16-setup-onto-r1cs", ["groth16", "setup", "m.r1cs", "m.r1cs", "--ptau", "pot4.ptau"], ("m.r1cs",), MULT,
        slow=True)
    add("prove-onto-input-symlink", ["prove", "bc", "-i", "in.json", "-o", "link.json"], ("link.json", "in.json"),
        BUNDLE_NEEDS, prepare=lambda d: (d / "link.json").symlink_to("in.json"))
    # recompiling a bundle with --force from a model elsewhere is what --force is for; compiling the
    # bundle's own model.onnx into it would delete the input
    add("compile-into-bundle-folder", ["compile", "bc/model.onnx", "-c", "cal.npz", "-o", "bc", "--force"],
        ("bc", "model.onnx"), ("cal.npz", "bc"), slow=True)
    add("compile-calibration-inside-output", ["compile", "model.onnx", "-c", "bc/cal.npz", "-o", "bc", "--force"],
        ("bc", "cal.npz"), ("model.onnx", "cal.npz", "bc"),
        prepare=lambda d: (d / "bc/cal.npz").write_bytes((d / "cal.npz").read_bytes()), slow=True)
    return cs


def category9() -> list[Case]:
    """Verify and attest a proof from another folder, or a proof that moved (defect 9)."""
    cs: list[Case] = []

    def moved(d: Path) -> None:
        (d / "far/away").mkdir(parents=True)
        (d / "proof.json").rename(d / "far/away/proof.json")
        (d / "elsewhere").mkdir()

    def elsewhere(d: Path) -> None:
        (d / "elsewhere").mkdir()

    cs += [
        Case("9-verify-from-another-folder", "9", ["verify", "../proof.json"], "accept", needs=BUNDLE_NEEDS,
             prepare=elsewhere, cwd="elsewhere", owner="1", defect="9", contains=("OK",)),
        Case("9-verify-moved-proof-with-bundle", "9", ["verify", "../far/away/proof.json", "--bundle", "../bc"],
             "accept", needs=BUNDLE_NEEDS, prepare=moved, cwd="elsewhere", owner="1", defect="9", contains=("OK",)),
        Case("9-verify-moved-proof-without-bundle", "9", ["verify", "../far/away/proof.json"], "reject",
             needs=BUNDLE_NEEDS, prepare=moved, cwd="elsewhere", owner="1", defect="9", names=("proof.json",),
             contains=("--bundle",)),
        Case("9-attest-inference-moved-proof-with-bundle", "9", ["attest", "inference", "../far/away/proof.json",
             "--bundle", "../bc", "-o", "a.json"], "accept", needs=BUNDLE_NEEDS, prepare=moved, cwd="elsewhere",
             outputs=("elsewhere/a.json",), owner="1", defect="9"),
        Case("9-attest-inference-from-another-folder", "9", ["attest", "inference", "../proof.json", "-o", "a.json"],
             "accept", needs=BUNDLE_NEEDS, prepare=elsewhere, cwd="elsewhere", outputs=("elsewhere/a.json",),
             owner="1", defect="9", slow=True),
    ]
    return cs


def category_deep() -> list[Case]:
    """JSON nested 100,000 deep: a segfault once py_ecc is imported (defect 1); in a subprocess."""
    cs: list[Case] = []

    def add(name, argv, prepare, names, needs, owner, codes=(1, 2), slow=False):
        cs.append(Case(f"deep-{name}", "deep", argv, "reject", needs=needs, prepare=prepare, names=names,
                       subprocess=True, owner=owner, defect="1", codes=codes, slow=slow))

    add("groth16-verify-vk", ["groth16", "verify", "deep.json", "m.public.json", "m.proof.json"],
        write("deep.json", deep_json()), ("deep.json",), MULT, "2")
    add("groth16-verify-public", ["groth16", "verify", "m.vk.json", "deep.json", "m.proof.json"],
        write("deep.json", deep_json()), ("deep.json",), MULT, "2", slow=True)
    add("groth16-verify-proof", ["groth16", "verify", "m.vk.json", "m.public.json", "deep.json"],
        write("deep.json", deep_json()), ("deep.json",), MULT, "2", slow=True)

    def deep_field(src, dst):
        def prepare(d: Path) -> None:
            text = (d / src).read_text().rstrip()
            assert text.endswith("}")
            (d / dst).write_bytes(text[:-1].encode() + b', "x": ' + deep_json() + b"}\n")
        return prepare

    add("verify-proof-extra-field", ["verify", "deep.json"], deep_field("proof.json", "deep.json"), ("deep.json",),
        BUNDLE_NEEDS, "1")
    add("prove-input", ["prove", "bc", "-i", "deep.json", "-o", "out.json"], write("deep.json", deep_json()),
        ("deep.json",), BUNDLE_NEEDS, "5")
    add("check-attestation", ["check", "deep.json", "--policy", "policy.toml"], deep_field("inf.json", "deep.json"),
        ("deep.json",), ("inf.json", "policy.toml", "bc", "proof.json"), "1", codes=(2,), slow=True)
    add("inspect-manifest", ["inspect", "bc"], deep_field("bc/manifest.json", "bc/manifest.json"), ("manifest.json",),
        ("bc",), "5", slow=True)
    add("compile-calibration", ["compile", "model.onnx", "-c", "deep.json", "-o", "out"],
        write("deep.json", deep_json()), ("deep.json",), ("model.onnx", "cal.npz"), "5", slow=True)
    return cs


SMOKE = {  # cases also run as a real process, for what CliRunner cannot see (a crash, stderr, exit status)
    "1-input-npz-empty-prove": False, "3b-signal0-abc": False, "1-json-public-empty-groth16-verify": False,
    "1-zkey-half-prove": False, "1-manifest-invalid-utf8-inspect": True, "4-policy-invalid-utf8": True,
    "1-manifest-invalid-utf8-setup": True, "1-onnx-empty-compile": True, "4-baseline-pass": True,
    "3a-verify-baseline": True,
}


def all_cases() -> list[Case]:
    cases = (category1() + category2() + category3a() + category3b() + category4() + category6() + category10()
             + category9() + category_deep())
    by_id = {c.id: c for c in cases}
    assert len(by_id) == len(cases), "duplicate case ids"
    for cid, slow in SMOKE.items():
        c = by_id[cid]
        cases.append(Case(**{**c.__dict__, "id": f"sp-{cid}", "subprocess": True, "slow": slow or c.slow}))
    return cases
