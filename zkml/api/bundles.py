"""``zkml.compile`` and ``zkml.setup``: an ONNX model into a circuit bundle, and its keys. The
names and defaults are the CLI's (``zkml compile``, ``zkml setup``); the CLI calls these."""

from __future__ import annotations

import time
from pathlib import Path

from zkml.api.checks import choice, existing_file, existing_folder, optional_file
from zkml.api.results import Bundle, Keys, usage
from zkml.errors import ZkmlError


def compile(model, calibration, *, output=None, frac_bits: int = 8, weight_bits: int = 16,  # noqa: A001 (the CLI's name)
            input_visibility: str = "public", public_signals: str = "packed", input_margin: float = 1.0,
            lookups=None, weights: str = "fixed", force: bool = False, progress=None, log=None) -> Bundle:
    """Compile MODEL (ONNX) into a circuit bundle at ``output`` (default circuits/<model name>):
    quantize with the ``calibration`` samples, build the R1CS, measure fidelity against the float
    model. ``lookups``: "on"/True, "off"/False or None (the compiler's default). ``progress``
    gets the compiler's stage lines, ``log`` the notes the CLI prints (also in ``Bundle.notes``)."""
    from zkml.bundle.store import refuse_replacing, write_new_bundle
    from zkml.formats.atomic import refuse_overlap
    from zkml.formats.tensors import load_dataset

    t0 = time.perf_counter()
    model = existing_file(model, "MODEL")
    calibration = existing_file(calibration, "--calibration")
    choice(input_visibility, "--input-visibility", ("public", "committed"))
    choice(public_signals, "--public-signals", ("packed", "hash"))
    choice(weights, "--weights", ("fixed", "committed"))
    if lookups is not None and not isinstance(lookups, bool):
        lookups = choice(lookups, "--lookups", ("on", "off")) == "on"
    if input_margin < 0:
        raise ZkmlError(f"--input-margin {input_margin}: must be at least 0")
    out = Path(output) if output is not None else Path("circuits") / model.stem
    refuse_overlap([out], [model, calibration])  # force would delete a model kept inside OUT
    refuse_replacing(out, force)  # checked again when the bundle is renamed into place
    xs = load_dataset(calibration)
    from zkml.compiler.compile import CompileConfig, compile_model
    from zkml.compiler.fidelity import fidelity_report, notice
    from zkml.compiler.input_range import MIN_SAMPLES

    c = compile_model(model, xs, CompileConfig(frac_bits, weight_bits, input_visibility, public_signals,
                                               input_margin, lookups, weights=weights),
                      source=str(calibration), progress=progress)
    notes = []

    def note(message: str) -> None:
        notes.append(message)
        if log is not None:
            log(message)

    if c.input_range is None:
        note(f"note: {calibration} holds fewer than {MIN_SAMPLES} samples, too few for per-feature input ranges; "
             "prove will check only the input's envelope")
    report = fidelity_report(c, xs)
    if notice(report):
        note(notice(report))
    from zkml.bundle.rebuild import build_record
    from zkml.compiler.visibility import entropy_warnings

    for line in entropy_warnings(c):
        note(f"warning: {line}")
    write_new_bundle(out, model, c, {"fidelity": report, "build": build_record(model, calibration, c)}, force)
    if weights == "committed":
        note(f"note: {out}/private/weights.npz holds the weights and the commitment's salt: keep it, and publish "
             "the bundle without its private/ folder")
    outputs = "hashed" if public_signals == "hash" else "public"
    # public: the claim's signals; a lookup circuit's challenge is one more, computed by every verifier
    return Bundle(out, model, c.r1cs.n_constraints, c.r1cs.n_wires, c.r1cs.n_public - int(c.r1cs.has_lookups),
                  input_visibility, public_signals, report, [out], notes, *usage(t0),
                  lookups=c.r1cs.has_lookups, visibility={"input": input_visibility, "weights": weights,
                                                          "outputs": outputs})


def setup(bundle, *, ptau=None, no_dev_ptau: bool = False, progress=None, log=None) -> Keys:
    """Groth16 keys for a compiled ``bundle`` (circuit.zkey, verification_key.json) from a
    ceremony ``ptau``, or by default from a development tau (insecure: ``log`` gets the warning;
    its .ptau is kept in the bundle for `zkml verify-key` unless ``no_dev_ptau``)."""
    from zkml.bundle import store
    from zkml.formats.atomic import OutputSet, refuse_overlap

    t0 = time.perf_counter()
    bundle = existing_folder(bundle, "BUNDLE")
    ptau = optional_file(ptau, "--ptau")
    stage = progress or (lambda message: None)
    refuse_overlap([bundle / store.ZKEY_FILE, bundle / store.VK_FILE, bundle / store.MANIFEST], [ptau])
    manifest = store.read_manifest(bundle)  # before the heavy imports: a bad bundle is refused at once

    from zkml.formats.r1cs import read_r1cs
    from zkml.formats.snarkjs_json import write_vk
    from zkml.formats.zkey import write_zkey
    from zkml.groth16 import setup as groth16_setup

    r1cs_path = store.check_file(bundle, manifest, store.R1CS_FILE)  # a bad file: its one line, no progress first
    stage(f"reading {store.R1CS_FILE}")
    r1cs = read_r1cs(r1cs_path)
    if not ptau and log is not None:
        log(groth16_setup.DEV_TAU_WARNING)
    from zkml.bundle.key_binding import DEV_PTAU_FILE

    write_ptau = None
    if ptau:
        pk = store.make_keys(r1cs, ptau, progress=progress)
    else:
        pk, write_ptau = store.make_dev_keys(r1cs, progress=progress)
    phase1 = str(ptau) if ptau else "development tau (insecure)"
    setup_record = {"phase1": phase1}
    if ptau:
        setup_record["ptau_sha256"] = store.sha256_file(ptau)
    stage(f"writing {store.ZKEY_FILE} and {store.VK_FILE}")
    with OutputSet() as outs:  # the keys and the manifest that lists them land together
        staged = {store.ZKEY_FILE: outs.stage(bundle / store.ZKEY_FILE)}
        write_zkey(staged[store.ZKEY_FILE], pk)
        staged[store.VK_FILE] = outs.stage(bundle / store.VK_FILE)
        write_vk(staged[store.VK_FILE], pk.verifying_key())
        if write_ptau is not None and not no_dev_ptau:
            stage(f"writing the development {DEV_PTAU_FILE} (for `zkml verify-key`)")
            staged[DEV_PTAU_FILE] = outs.stage(bundle / DEV_PTAU_FILE)
            write_ptau(staged[DEV_PTAU_FILE])
            setup_record["ptau_file"] = DEV_PTAU_FILE
        else:
            manifest["files"].pop(DEV_PTAU_FILE, None)  # an older development ptau is not this key's
        write_ptau = None  # the development secrets go with it
        store.record_files(bundle, manifest, outs, staged, setup=setup_record)
    wrote = [bundle / store.ZKEY_FILE, bundle / store.VK_FILE] + (
        [bundle / DEV_PTAU_FILE] if DEV_PTAU_FILE in staged else [])
    return Keys(bundle, phase1, r1cs.n_constraints, pk.verifying_key().n_public, pk.domain_size,
                store.sha256_file(bundle / store.VK_FILE), wrote, *usage(t0), lookups=pk.has_lookups)

