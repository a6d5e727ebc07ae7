"""Inference claims: "this committed model, on this input, produced this output".

The proof file carries the claim in readable form (model and weights hashes, the input values,
the dequantized outputs and their argmax) next to the Groth16 proof and its public signals.
The verifier recomputes the public signals from the readable claim and the bundle's
fixed-point configuration, so a claim whose text disagrees with what was proved is rejected.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import numpy as np

from zkml.circuit import fixedpoint
from zkml.bundle import store
from zkml.compiler.compile import quantize_input, witness
from zkml.circuit.packing import pack_values, widths
from zkml.crypto.bn254 import R, ints_to_limbs
from zkml.errors import FormatError, ZkmlError
from zkml.formats.binfile import write_atomic_text
from zkml.formats.snarkjs_json import proof_to_json

PROOF_VERSION = 1


class Prover:
    """A bundle's compiled program and proving key, loaded once: what a worker keeps between
    proofs (``zkml prove-batch``). ``pk`` may be given when it is already in memory."""

    def __init__(self, bundle: Path, pk=None):
        from zkml.formats.zkey import read_zkey

        self.bundle = Path(bundle)
        self.manifest = store.read_manifest(self.bundle)
        self.compiled = store.load_compiled(self.bundle, self.manifest)
        zkey = store.check_file(self.bundle, self.manifest, store.ZKEY_FILE)
        self.vk_sha256 = store.sha256_file(store.check_file(self.bundle, self.manifest, store.VK_FILE))
        self.pk = pk if pk is not None else read_zkey(zkey)


def prove_inference(bundle: Path, x: np.ndarray, out_path: Path, device: str = "cpu", what: str = "input",
                    prover: Prover | None = None) -> dict:
    from zkml.groth16.prover import prove

    prover = prover or Prover(bundle)
    bundle, manifest, compiled, pk = prover.bundle, prover.manifest, prover.compiled, prover.pk
    committed = compiled.config.input_visibility == "committed"
    salt = secrets.randbelow(R) if committed else 0
    w, outs = witness(compiled, x, what, salt)
    proof, public = prove(pk, ints_to_limbs(w), device=device, witness_name=what)
    outputs = []
    for (name, shape, frac), q, meta in zip(compiled.outputs, outs, manifest["outputs"]):
        vals = fixedpoint.dequantize(q, frac)
        outputs.append({"name": name, "shape": list(shape), "values": vals.ravel().tolist(),
                        "argmax": int(np.argmax(vals)), "transform": meta.get("transform")})
    doc = {
        "zkml_proof_version": PROOF_VERSION,
        "claim": {
            "kind": "inference",
            "bundle": str(bundle),
            "model_sha256": manifest["model"]["sha256"],
            "weights_sha256": manifest["model"]["weights_sha256"],
            "vk_sha256": prover.vk_sha256,
            "input": _input_claim(compiled, x, _commitment(compiled, x, salt) if committed else None, committed),
            "outputs": outputs,
        },
        "proof": proof_to_json(proof),
        "public_signals": [str(v) for v in public],
    }
    if committed:  # the opening stays with the prover: input and salt reproduce the commitment
        opening = {"input": np.asarray(x, np.float64).ravel().tolist(), "salt": str(salt),
                   "commitment": doc["claim"]["input"]["commitment"]}
        write_atomic_text(Path(str(out_path) + ".opening.json"), json.dumps(opening) + "\n")
    write_atomic_text(out_path, json.dumps(doc, indent=1) + "\n")
    return doc


def _input_claim(compiled, x, commitment, committed: bool) -> dict:
    claim = {"name": compiled.input_name, "shape": list(compiled.input_shape),
             "visibility": compiled.config.input_visibility}
    if committed:
        claim["commitment"] = str(commitment)  # Poseidon(quantized input, salt), circomlib parameters
    else:
        claim["values"] = np.asarray(x, np.float64).ravel().tolist()
    return claim


def _commitment(compiled, x, salt: int) -> int:
    from zkml.circuit.gadgets.poseidon import commitment_value

    return commitment_value(quantize_input(compiled, x).ravel().tolist(), salt)


def _load_proof(path: Path) -> dict:
    try:
        doc = json.loads(Path(path).read_text())
    except OSError as e:
        raise ZkmlError(f"{path}: cannot read ({e.strerror})") from None
    except json.JSONDecodeError as e:
        raise FormatError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(doc, dict) or doc.get("zkml_proof_version") != PROOF_VERSION:
        raise FormatError(f"{path}: not a zkml proof file (version {PROOF_VERSION}); for snarkjs files use `zkml groth16 verify`")
    for key in ("claim", "proof", "public_signals"):
        if key not in doc:
            raise FormatError(f"{path}: field '{key}' is missing")
    return doc


def expected_public(manifest: dict, claim: dict, path: Path) -> list[int]:
    """Public signals implied by the readable claim: outputs, then the input (its packed values
    or its commitment); in "hash" mode the one Poseidon hash of those."""
    signals = _claim_signals(manifest, claim, path)
    if manifest["config"].get("public_signals", "packed") == "hash":
        from zkml.circuit.gadgets.poseidon import chain_value

        return [chain_value(signals)]
    return signals


def _claim_signals(manifest: dict, claim: dict, path: Path) -> list[int]:
    from zkml.compiler.compile import Compiled, CompileConfig

    signals = []
    outs = claim.get("outputs", [])
    if len(outs) != len(manifest["outputs"]):
        raise FormatError(f"{path}: claim has {len(outs)} outputs, the bundle {len(manifest['outputs'])}")
    for o, meta in zip(outs, manifest["outputs"]):
        vals = np.asarray(o.get("values", []), np.float64)
        if vals.size != int(np.prod(meta["shape"])):
            raise FormatError(f"{path}: output '{meta['name']}' has {vals.size} values, expected {int(np.prod(meta['shape']))}")
        q = np.round(vals * (1 << meta["frac"]))
        if not np.array_equal(q / (1 << meta["frac"]), vals):
            raise FormatError(f"{path}: output '{meta['name']}' values are not on the circuit's fixed-point grid (2^-{meta['frac']})")
        if o.get("argmax") != int(np.argmax(vals)):
            raise FormatError(f"{path}: output '{meta['name']}' states argmax {o.get('argmax')}, its values give {int(np.argmax(vals))}")
        qi = q.astype(np.int64)
        if (qi < np.array(meta["lo"])).any() or (qi > np.array(meta["hi"])).any():
            raise FormatError(f"{path}: output '{meta['name']}' values lie outside what the circuit can produce")
        signals += pack_values(qi, meta["lo"], widths(np.array(meta["lo"], dtype=object), np.array(meta["hi"], dtype=object)))
    if manifest["input"]["visibility"] == "committed":
        try:
            signals.append(int(claim["input"]["commitment"]) % R)
        except (KeyError, TypeError, ValueError):
            raise FormatError(f"{path}: claim input has no valid 'commitment'") from None
    elif manifest["input"]["visibility"] == "public":
        inp = manifest["input"]
        cfg = CompileConfig(manifest["config"]["frac_bits"], manifest["config"]["weight_bits"], "public")
        c = Compiled(None, cfg, inp["name"], tuple(inp["shape"]), inp["bits"], inp["frac"])
        xq = quantize_input(c, np.asarray(claim["input"].get("values", []), np.float64), f"{path}: claim input")
        limit = 1 << (c.input_bits - 1)
        lo, hi = np.full(xq.size, -limit), np.full(xq.size, limit - 1)
        signals += pack_values(xq.ravel(), lo, widths(lo, hi))
    return signals


def verify_inference(path: Path, bundle: Path | None = None) -> tuple[bool, dict]:
    """(valid, claim): checks the bundle binding, the claim's consistency and the proof."""
    from zkml.formats.snarkjs_json import read_vk, _g1, _g2
    from zkml.groth16.data_structures import Proof
    from zkml.groth16.verifier import verify

    path = Path(path)
    doc = _load_proof(path)
    claim = doc["claim"]
    bundle = Path(bundle or claim.get("bundle", ""))
    manifest = store.read_manifest(bundle)
    if claim.get("model_sha256") != manifest["model"]["sha256"] or claim.get("weights_sha256") != manifest["model"]["weights_sha256"]:
        raise ZkmlError(f"{path}: the proof is for another model than bundle {bundle} (model hash differs)")
    vk_path = store.check_file(bundle, manifest, store.VK_FILE)
    if claim.get("vk_sha256") != store.sha256_file(vk_path):
        raise ZkmlError(f"{path}: the proof was made with another verifying key than {vk_path}; re-prove or pass the right --bundle")
    public = [int(s) for s in doc["public_signals"]]
    if public != expected_public(manifest, claim, path):
        return False, claim
    p = doc["proof"]
    proof = Proof(a=_g1(path, "proof.pi_a", p.get("pi_a")), b=_g2(path, "proof.pi_b", p.get("pi_b")),
                  c=_g1(path, "proof.pi_c", p.get("pi_c")))
    return verify(read_vk(vk_path), public, proof), claim


def load_input(path: Path, shape: tuple) -> np.ndarray:
    """An input tensor from .json (a list, or {"input": list}) or .npz (key 'x', 'input' or the only array)."""
    path = Path(path)
    try:
        if path.suffix == ".npz":
            data = np.load(path)
            key = next((k for k in ("x", "input") if k in data), data.files[0] if len(data.files) == 1 else None)
            if key is None:
                raise ZkmlError(f"{path}: holds {data.files}; name the input array 'x'")
            arr = data[key]
        else:
            d = json.loads(path.read_text())
            arr = np.asarray(d.get("input", d.get("x")) if isinstance(d, dict) else d)
    except (OSError, ValueError) as e:
        raise ZkmlError(f"{path}: cannot read the input ({e})") from None
    if arr.dtype.kind not in "fiu":
        raise ZkmlError(f"{path}: input must be numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64)


def verify_many(paths: list[Path], bundle: Path | None = None) -> tuple[list[Path], list[tuple[Path, str]]]:
    """(valid, [(invalid, reason)]) for proof files of one bundle, with one batched pairing check
    (zkml.groth16.batch_verify) and single checks only to name the bad proofs."""
    from zkml.formats.snarkjs_json import _g1, _g2, read_vk
    from zkml.groth16.batch_verify import verify_batch
    from zkml.groth16.data_structures import Proof

    if not paths:
        raise ZkmlError("no proof files to verify")
    bad: list[tuple[Path, str]] = []
    items, item_paths = [], []
    manifest = vk_path = None
    for path in paths:
        doc = _load_proof(path)
        claim = doc["claim"]
        b = Path(bundle or claim.get("bundle", ""))
        if manifest is None:
            manifest = store.read_manifest(b)
            vk_path = store.check_file(b, manifest, store.VK_FILE)
            vk_sha = store.sha256_file(vk_path)
        if claim.get("vk_sha256") != vk_sha or claim.get("model_sha256") != manifest["model"]["sha256"]:
            raise ZkmlError(f"{path}: made with another bundle or key than {paths[0]}; verify each bundle's proofs apart")
        try:
            public = [int(s) for s in doc["public_signals"]]
            if public != expected_public(manifest, claim, path):
                bad.append((path, "the claim does not match its public signals"))
                continue
            p = doc["proof"]
            proof = Proof(a=_g1(path, "proof.pi_a", p.get("pi_a")), b=_g2(path, "proof.pi_b", p.get("pi_b")),
                          c=_g1(path, "proof.pi_c", p.get("pi_c")))
        except (ZkmlError, ValueError, TypeError) as e:
            bad.append((path, str(e)))
            continue
        items.append((public, proof))
        item_paths.append(path)
    _, bad_idx = verify_batch(read_vk(vk_path), items)
    bad += [(item_paths[i], "the proof does not verify") for i in bad_idx]
    bad_set = {p for p, _ in bad}
    return [p for p in paths if p not in bad_set], bad
