"""Every readable field of an inference proof file, checked against the bundle's manifest.

A verifier prints the claim's labels (output names, argmax, the model hash), so each one is
compared here with what the bundle proves, and a label edited after proving is refused with the
field named. Unknown keys are refused too: a field nobody checks must not be shown as proved.
The values are bound by re-encoding them into public signals (``signal_parts``); the Groth16
check then ties those signals to the proof.

Errors are ``FormatError`` lines of the form ``<file>: <field> ...`` (exit 1).
"""

from __future__ import annotations

import json
import re

import numpy as np

from zkml.circuit.packing import pack_values, widths
from zkml.crypto.bn254 import R
from zkml.errors import FormatError
from zkml.formats.jsonfile import decimal, field, read_json, type_name

PROOF_VERSION = 2  # 2: no bundle path, input values on the fixed-point grid
PROOF_MAX_BYTES = 64 << 20  # an image input of a million values is ~20 MB of JSON

DOC_KEYS = ("zkml_proof_version", "claim", "proof", "public_signals")
CLAIM_KEYS = ("kind", "model_sha256", "weights_sha256", "vk_sha256", "input", "outputs")
INPUT_KEYS = ("name", "shape", "visibility", "values", "commitment")
OUTPUT_KEYS = ("name", "shape", "values", "argmax", "transform")
PROOF_KEYS = ("pi_a", "pi_b", "pi_c", "pi_d", "protocol", "curve")

_SHA256 = re.compile(r"[0-9a-f]{64}")


def load_proof(path) -> dict:
    """A proof file's JSON with its top level checked: version, known keys, their types."""
    where = str(path)
    doc = read_json(path, max_bytes=PROOF_MAX_BYTES)
    if not isinstance(doc, dict) or "zkml_proof_version" not in doc:
        raise FormatError(f"{where}: not a zkml proof file (no zkml_proof_version); "
                          "for snarkjs files use `zkml groth16 verify`")
    v = doc["zkml_proof_version"]
    if type(v) is not int or v != PROOF_VERSION:
        raise FormatError(f"{where}: zkml_proof_version is {_show(v)}; this zkml reads version {PROOF_VERSION} "
                          "(re-prove with `zkml prove`)")
    only(doc, DOC_KEYS, "", where)
    field(doc, "claim", dict, where)
    field(doc, "proof", dict, where)
    field(doc, "public_signals", list, where)
    return doc


def claim_vk_sha256(doc: dict, where: str) -> str:
    """The claim's verifying-key hash: how a proof names the bundle it was made with."""
    v = field(doc, "claim.vk_sha256", str, where)
    if not _SHA256.fullmatch(v):
        raise FormatError(f"{where}: claim.vk_sha256 must be a sha256 hex digest (64 lowercase hex digits)")
    return v


def check_claim(doc: dict, manifest: dict, vk_sha256: str, bundle, where: str) -> list[tuple[str, list[int]]]:
    """Compare every claim field with the bundle; return the claim's public-signal parts
    [(field, signals)] in circuit order (outputs, then the input)."""
    claim = doc["claim"]
    only(claim, CLAIM_KEYS, "claim", where)
    kind = get(claim, "kind", str, "claim", where)
    if kind != "inference":
        raise FormatError(f"{where}: claim.kind is {_show(kind)}; `zkml verify` checks 'inference' claims "
                          "(evaluations are attestations: use `zkml check`)")
    model = manifest["model"]
    for key, want, what in (("model_sha256", model["sha256"], "another model"),
                            ("weights_sha256", model["weights_sha256"], "other weights")):
        got = get(claim, key, str, "claim", where)
        if got != want:
            raise FormatError(f"{where}: claim.{key} is {got[:16]!r}…, bundle {bundle} holds {what} "
                              f"({want[:16]}…): the proof is for another model than this bundle")
    got = claim_vk_sha256(doc, where)
    if got != vk_sha256:
        raise FormatError(f"{where}: claim.vk_sha256 is {got[:16]}…, the verifying key of bundle {bundle} is "
                          f"{vk_sha256[:16]}…: the proof was made with another key; pass the right --bundle or re-prove")
    parts = output_parts(manifest, get(claim, "outputs", list, "claim", where), where, exact=True)
    parts.append(input_part(manifest["input"], get(claim, "input", dict, "claim", where), where, exact=True))
    parts += weights_part(manifest)
    check_proof_fields(doc, where)
    return parts


def weights_part(manifest: dict, claim: dict | None = None) -> list[tuple[str, list[int]]]:
    """The weights commitment's public signal (after the input's) for --weights committed: the
    claim's weights_sha256 (a proof file's, already compared with the bundle's; an attestation's,
    whose layout holds no model section and whose model id binds it) is that commitment."""
    if manifest["config"].get("weights", "fixed") != "committed":
        return []
    value = manifest["model"]["weights_sha256"] if "model" in manifest else (claim or {}).get("weights_sha256")
    if not isinstance(value, str) or len(value) != 64:
        raise FormatError("claim.weights_sha256 must hold the weights commitment (64 hex digits) of a "
                          "--weights committed model")
    try:
        return [("claim.weights_sha256 (the weights commitment)", [int(value, 16)])]
    except ValueError:
        raise FormatError("claim.weights_sha256 must hold the weights commitment (64 hex digits)") from None


def check_proof_fields(doc: dict, where: str) -> None:
    p = doc["proof"]
    only(p, PROOF_KEYS, "proof", where)
    lookup = "pi_d" in p  # a lookup (two-round) proof: protocol groth16-lookup, D in pi_d
    for key, want in (("protocol", "groth16-lookup" if lookup else "groth16"), ("curve", "bn128")):
        got = get(p, key, str, "proof", where)
        if got != want:
            raise FormatError(f"{where}: proof.{key} is {_show(got)}; zkml proofs " + ("with pi_d " if lookup else "")
                              + f"are {want!r}")
    for key in ("pi_a", "pi_b", "pi_c") + (("pi_d",) if lookup else ()):
        get(p, key, list, "proof", where)


def public_signals(doc: dict, where: str) -> list[int]:
    """The public signals as field elements: decimal strings (or JSON integers) below r, as
    `zkml groth16 verify` reads public.json; floats, null and overlong numbers are refused."""
    return [decimal(v, f"public_signals[{i}]", where, below=R) for i, v in enumerate(doc["public_signals"])]


def groth16_proof(doc: dict, where: str):
    from zkml.formats.snarkjs_json import proof_from_json

    return proof_from_json(doc["proof"], where, "proof.")


def output_parts(manifest: dict, outputs: list, where: str, exact: bool, prefix: str = "claim") -> list[tuple[str, list[int]]]:
    """Each claimed output checked against the manifest's (name, shape, transform, values on the
    grid and within the circuit's bounds, argmax), as (field, packed signals). ``exact`` refuses
    unknown keys and requires shape and transform (proof files); attestations carry fewer."""
    metas = manifest["outputs"]
    if len(outputs) != len(metas):
        raise FormatError(f"{where}: {prefix}.outputs holds {len(outputs)} outputs, the bundle's model has {len(metas)}")
    parts = []
    for i, (o, meta) in enumerate(zip(outputs, metas)):
        name = f"{prefix}.outputs[{i}]"
        if not isinstance(o, dict):
            raise FormatError(f"{where}: {name} must be an object, got {type_name(o)}")
        if exact:
            only(o, OUTPUT_KEYS, name, where)
        same(get(o, "name", str, name, where), meta["name"], f"{name}.name", "the bundle's output name is", where)
        if exact or "shape" in o:
            same(_shape(o, name, where), list(meta["shape"]), f"{name}.shape", f"output {meta['name']!r} has shape", where)
        if exact or "transform" in o:
            same(get(o, "transform", (str, type(None)), name, where), meta.get("transform"), f"{name}.transform",
                 f"output {meta['name']!r} has transform", where)
        n = int(np.prod(meta["shape"]))
        vals = numbers(o, "values", name, where, n)
        argmax = get(o, "argmax", int, name, where)
        if argmax != int(np.argmax(vals)):
            raise FormatError(f"{where}: {name}.argmax is {argmax}, its values give {int(np.argmax(vals))}")
        q = on_grid(vals, meta["frac"], f"{name}.values", where)
        lo, hi = np.asarray(meta["lo"], dtype=object), np.asarray(meta["hi"], dtype=object)
        qi = in_bounds(q, lo, hi, f"{name}.values", where, "outside what the circuit can produce")
        parts.append((f"{name}.values", pack_values(qi, lo, widths(lo, hi))))
    return parts


def input_part(meta: dict, inp: dict, where: str, exact: bool, prefix: str = "claim") -> tuple[str, list[int]]:
    """The claimed input checked against the manifest (name, shape, visibility; values on the
    grid for a public input, a commitment below r for a committed one), as (field, signals)."""
    name = f"{prefix}.input"
    if exact:
        only(inp, INPUT_KEYS, name, where)
    if exact or "name" in inp:
        same(get(inp, "name", str, name, where), meta["name"], f"{name}.name", "the bundle's input name is", where)
    if exact or "shape" in inp:
        same(_shape(inp, name, where), list(meta["shape"]), f"{name}.shape", "the bundle's input has shape", where)
    if exact or "visibility" in inp:
        same(get(inp, "visibility", str, name, where), meta["visibility"], f"{name}.visibility",
             "the bundle's input is", where)
    if meta["visibility"] == "committed":
        if "values" in inp:
            raise FormatError(f"{where}: {name}.values is given for a committed input; the proof binds only the "
                              "commitment, so these values would be shown unchecked: remove them")
        if "commitment" not in inp:
            raise FormatError(f"{where}: field '{name}.commitment' is missing (the bundle's input is committed)")
        return f"{name}.commitment", [decimal(inp["commitment"], f"{name}.commitment", where, below=R)]
    if "commitment" in inp:
        raise FormatError(f"{where}: {name}.commitment is given for a public input; its values are the public "
                          "signal: remove the commitment")
    n = int(np.prod(meta["shape"]))
    vals = numbers(inp, "values", name, where, n)
    q = on_grid(vals, meta["frac"], f"{name}.values", where)
    limit = 1 << (meta["bits"] - 1)
    lo, hi = np.full(n, -limit, dtype=object), np.full(n, limit - 1, dtype=object)
    qi = in_bounds(q, lo, hi, f"{name}.values", where,
                   f"outside the calibrated range (|x| < {limit / 2.0 ** meta['frac']:g})")
    return f"{name}.values", pack_values(qi, lo, widths(lo, hi))


# --- typed access --------------------------------------------------------------------------


def only(obj: dict, allowed, prefix: str, where: str) -> None:
    """Refuse keys outside ``allowed``: an unchecked field would be printed as if proved."""
    extra = [k for k in obj if k not in allowed]
    if extra:
        name = f"{prefix}.{extra[0]}" if prefix else str(extra[0])
        shown = repr(name) if len(repr(name)) <= 60 else repr(name)[:57] + "…"
        raise FormatError(f"{where}: unknown field {shown}; a proof file holds only fields the verifier "
                          "checks: remove it")


def get(obj: dict, key: str, types, prefix: str, where: str):
    """``obj[key]`` of one of ``types``, errors naming ``prefix.key`` (booleans are not numbers)."""
    types = types if isinstance(types, tuple) else (types,)
    name = f"{prefix}.{key}"
    if key not in obj:
        raise FormatError(f"{where}: field '{name}' is missing")
    v = obj[key]
    if isinstance(v, bool) and bool not in types or not isinstance(v, types):
        want = " or ".join(type_name(t()) if t is not type(None) else "null" for t in types)
        raise FormatError(f"{where}: field '{name}' must be {want}, got {type_name(v)}")
    return v


def same(got, want, name: str, what: str, where: str) -> None:
    if got != want:
        raise FormatError(f"{where}: {name} is {_show(got)}, {what} {_show(want)}")


def numbers(obj: dict, key: str, prefix: str, where: str, n: int) -> np.ndarray:
    """A list of exactly ``n`` finite JSON numbers as float64."""
    vals = get(obj, key, list, prefix, where)
    for i, v in enumerate(vals):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise FormatError(f"{where}: {prefix}.{key}[{i}] must be a number, got {type_name(v)}")
    if len(vals) != n:
        raise FormatError(f"{where}: {prefix}.{key} holds {len(vals)} values, the bundle's shape needs {n}")
    arr = np.asarray(vals, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise FormatError(f"{where}: {prefix}.{key}[{bad[0]}] is not a finite number")
    return arr


def on_grid(vals: np.ndarray, frac: int, name: str, where: str) -> np.ndarray:
    """vals * 2^frac, refused unless every one is an integer: zkml writes values dequantized, so
    a value off the grid was edited (and two such files would verify with one proof)."""
    q = vals * 2.0 ** frac  # exact: a power-of-two scaling
    bad = np.flatnonzero(q != np.floor(q))
    if bad.size:
        i = int(bad[0])
        raise FormatError(f"{where}: {name}[{i}] = {float(vals[i])!r} is not on the circuit's fixed-point grid "
                          f"(multiples of 2^{-frac}); zkml writes values dequantized, so it was edited")
    return q


def in_bounds(q: np.ndarray, lo, hi, name: str, where: str, what: str) -> np.ndarray:
    big = np.flatnonzero(np.abs(q) >= 2.0 ** 62)
    out = big.tolist() or [i for i, (v, a, b) in enumerate(zip(q.tolist(), lo.ravel(), hi.ravel())) if not a <= int(v) <= b]
    if out:
        raise FormatError(f"{where}: {name}[{out[0]}] lies {what}")
    return q.astype(np.int64)


def _shape(obj: dict, prefix: str, where: str) -> list:
    s = get(obj, "shape", list, prefix, where)
    if not all(type(d) is int for d in s):
        raise FormatError(f"{where}: field '{prefix}.shape' must be a list of integers")
    return s


def _show(v) -> str:
    """A value as JSON writes it (escaped: a hostile label cannot break the one-line message)."""
    try:
        s = json.dumps(v, ensure_ascii=True)
    except (TypeError, ValueError):
        s = repr(v)
    return s if len(s) <= 60 else s[:57] + "…"
