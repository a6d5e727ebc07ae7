"""A bundle's key bound to an ONNX model: the model is compiled again with the manifest's
recorded options and scales (``rebuild.py``), and the bundle's zkey is checked against that R1CS
and the phase-1 file (``zkml.groth16.key_check``); the verifying key that verifiers use (the
bundle's, or one published elsewhere) must be the zkey's.

Phase 1: a bundle set up from a ceremony names its ``.ptau`` (and its sha256) in the manifest;
the auditor passes the file (``--ptau``). A bundle set up with a development tau holds the
development ``.ptau`` made from the same secrets (``DEV_PTAU_FILE``; the secrets themselves are
still thrown away), so the check runs: it then says so, since whoever ran that setup knew tau.
"""

from __future__ import annotations

from pathlib import Path

from zkml.errors import CannotCheck, ZkmlError
from zkml.groth16.key_check import KeyReport

DEV_PTAU_FILE = "phase1_dev.ptau"


def dev_ptau_power(domain: int) -> int:
    """The power of a development ptau for a domain: H needs the Lagrange points of 2n."""
    return domain.bit_length()  # log2(n) + 1


def _ptau_for(bundle: Path, manifest: dict, ptau: Path | None):
    from zkml.bundle import store
    from zkml.formats.ptau import read_ptau

    setup = manifest.get("setup") if isinstance(manifest.get("setup"), dict) else {}
    notes = []
    if ptau is None:
        if setup.get("ptau_file") == DEV_PTAU_FILE:
            path = store.check_file(bundle, manifest, DEV_PTAU_FILE)
            notes.append(f"development setup: checked against the bundle's own ptau ({DEV_PTAU_FILE}); whoever "
                         "ran that setup knew tau and could forge proofs: not for production")
            return read_ptau(path), str(path), notes
        if setup.get("phase1", "").startswith("development"):
            raise CannotCheck(f"{bundle}: set up with a development tau whose ptau was not kept; run `zkml setup` "
                              "again (it keeps it) to make the key checkable")
        raise CannotCheck(f"{bundle}: set up from {setup.get('phase1', 'a .ptau')}; give that file with --ptau")
    recorded = setup.get("ptau_sha256")
    if recorded and store.sha256_file(ptau) != recorded:
        notes.append(f"{ptau} is not the ptau setup recorded (sha256 {recorded[:16]}…)")
    return read_ptau(ptau), str(ptau), notes


def verify_bundle_key(bundle: Path, onnx_file: Path, ptau: Path | None = None, vk_json: dict | None = None,
                      progress=None) -> KeyReport:
    """Whether ``bundle``'s key (and ``vk_json``, a verifying key published for it, when given)
    is made for the circuit ``onnx_file`` compiles to. Problems come back in the report; what
    makes the check impossible (no build record, no ptau) raises ``CannotCheck``."""
    from zkml.bundle import store
    from zkml.bundle.rebuild import rebuild
    from zkml.formats.zkey import read_zkey
    from zkml.groth16.key_check import check_key

    bundle = Path(bundle)
    manifest = store.read_manifest(bundle)
    rep = KeyReport()
    try:
        rebuilt = rebuild(bundle, onnx_file, progress=progress)
    except CannotCheck:
        raise
    except ZkmlError as e:  # another model file than the bundle's: the key is not this model's
        rep.problems.append(str(e))
        return rep
    rep.notes += rebuilt.notes
    if not rebuilt.matches:
        rep.notes.append(f"the bundle's circuit.r1cs is not what {onnx_file} compiles to; the key is checked "
                         "against the rebuilt R1CS")
    tau, ptau_name, notes = _ptau_for(bundle, manifest, ptau)
    rep.notes += notes
    zkey = store.check_file(bundle, manifest, store.ZKEY_FILE)
    pk = read_zkey(zkey)
    found = check_key(rebuilt.r1cs, tau, pk, ptau_name=ptau_name, zkey_name=str(zkey), progress=progress)
    rep.problems += found.problems
    rep.checked += found.checked
    rep.notes += found.notes
    rep.contributions += found.contributions
    if vk_json is None and store.VK_FILE in manifest.get("files", {}):
        from zkml.formats.jsonfile import read_json

        vk_json = read_json(store.check_file(bundle, manifest, store.VK_FILE))
    if vk_json is not None:
        from zkml.formats.snarkjs_json import vk_from_json

        if vk_from_json(vk_json, "verifying key") != pk.verifying_key():
            rep.problems.append("the verifying key is not the zkey's (another key was published)")
        rep.checked.append("the verifying key is the zkey's")
    return rep


def verify_evaluation_key(folder: Path, onnx_file: Path, ptau: Path | None = None, vk_json: dict | None = None,
                          progress=None) -> KeyReport:
    """``verify_bundle_key`` for the keys of an evaluation circuit (``BUNDLE/evaluations/<kind><N>/``,
    zkml/bundle/evaluation.py): its R1CS depends on the model and N only, so it is built again
    from the rebuilt model on N placeholder samples."""
    import numpy as np

    from zkml.bundle import store
    from zkml.bundle.evaluation import KEYS_FILE
    from zkml.bundle.rebuild import rebuild
    from zkml.compiler.evaluate import build_evaluation
    from zkml.formats.jsonfile import read_json
    from zkml.formats.ptau import read_ptau
    from zkml.formats.zkey import read_zkey
    from zkml.groth16.key_check import check_key

    folder = Path(folder)
    bundle = folder.parent.parent
    rec = read_json(folder / KEYS_FILE)
    kind = "chunk" if folder.name.startswith("chunk") else "n"
    if not isinstance(rec, dict) or not isinstance(rec.get("n"), int) or rec["n"] < 1:
        raise CannotCheck(f"{folder / KEYS_FILE}: field 'n' is missing or not a positive integer")
    rep = KeyReport()
    try:
        rebuilt = rebuild(bundle, onnx_file, progress=progress)
    except CannotCheck:
        raise
    except ZkmlError as e:
        rep.problems.append(str(e))
        return rep
    c, n = rebuilt.compiled, rec["n"]
    b, _, _ = build_evaluation(c, np.zeros((n, *c.input_shape)), np.zeros(n, np.int64), 0, 0, emit=True,
                               chunk_index=0 if kind == "chunk" else None)
    r1cs = b.r1cs()
    if ptau is None:
        if rec.get("ptau_file") != DEV_PTAU_FILE or not (folder / DEV_PTAU_FILE).is_file():
            raise CannotCheck(f"{folder}: its keys were made from {rec.get('phase1', 'a .ptau')}; give it with --ptau")
        path = folder / DEV_PTAU_FILE
        if rec.get("ptau_sha256") and store.sha256_file(path) != rec["ptau_sha256"]:
            raise CannotCheck(f"{path}: does not match the hash in {KEYS_FILE}")
        rep.notes.append(f"development setup: checked against the keys' own ptau ({DEV_PTAU_FILE})")
        tau, ptau_name = read_ptau(path), str(path)
    else:
        tau, ptau_name = read_ptau(ptau), str(ptau)
    pk = read_zkey(folder / store.ZKEY_FILE)
    found = check_key(r1cs, tau, pk, ptau_name=ptau_name, zkey_name=str(folder / store.ZKEY_FILE), progress=progress)
    rep.problems += found.problems
    rep.checked += found.checked
    rep.contributions += found.contributions
    if vk_json is not None:
        from zkml.formats.snarkjs_json import vk_from_json

        if vk_from_json(vk_json, "verifying key") != pk.verifying_key():
            rep.problems.append("the verifying key is not the zkey's (another key was published)")
        rep.checked.append("the verifying key is the zkey's")
    return rep
