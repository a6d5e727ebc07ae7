"""The on-disk bundle ``circuits/<name>/`` (DESIGN.md, "Circuit bundle").

manifest.json records the format version, the model's sha256 and a hash of its weights, the
fixed-point configuration, input/output shapes and visibility, per-node bounds and constraint
counts, and the sha256 of every other file, so a bundle is self-describing and a corrupted or
swapped file is detected before it is used. A bundle is built in a temporary folder beside its
destination and renamed into place, so a failed compile leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from zkml.errors import FormatError, ZkmlError

if TYPE_CHECKING:  # onnx and the compiler are imported where a model is loaded or hashed, so that
    import onnx  # reading a manifest (prove's and inspect's parse errors) stays fast

    from zkml.compiler.compile import Compiled

FORMAT_VERSION = 1
MODEL_FILE = "model.onnx"
R1CS_FILE = "circuit.r1cs"
ZKEY_FILE = "circuit.zkey"
VK_FILE = "verification_key.json"
MANIFEST = "manifest.json"
FIDELITY_FILE = "fidelity.json"


def write_atomic_text(path, text: str) -> None:
    """zkml.formats.binfile's writer, imported on first write (it pulls in the curve arithmetic)."""
    from zkml.formats.binfile import write_atomic_text as write

    write(path, text)


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def weights_hash(model: onnx.ModelProto) -> str:
    """sha256 over the initializers in name order: names, dtypes, shapes and raw values."""
    import numpy as np
    import onnx

    h = hashlib.sha256()
    for t in sorted(model.graph.initializer, key=lambda t: t.name):
        arr = onnx.numpy_helper.to_array(t)
        h.update(t.name.encode() + str(arr.dtype).encode() + str(arr.shape).encode())
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def refuse_replacing(dest: Path, force: bool) -> None:
    """--force replaces a bundle (or an empty folder), never a folder of something else."""
    if not dest.exists():
        return
    if not force:
        raise ZkmlError(f"{dest}: already exists; choose another -o or pass --force to replace it")
    if not dest.is_dir():
        raise ZkmlError(f"{dest}: is a file, not a bundle folder; choose another -o")
    if not (dest / MANIFEST).is_file() and any(dest.iterdir()):
        raise ZkmlError(f"{dest}: is not a circuit bundle (no {MANIFEST}) and --force replaces only bundles; "
                        "choose another -o")


def write_new_bundle(dest: Path, model_path: Path, compiled: Compiled, extra: dict, force: bool) -> None:
    """Write a fresh bundle in a temporary folder beside ``dest`` and rename it into place; a
    bundle replaced with --force goes only once the new one is whole."""
    import onnx

    from zkml.formats.atomic import OutputError, os_error_message, replace_folder
    from zkml.formats.r1cs import write_r1cs

    dest = Path(dest)
    refuse_replacing(dest, force)
    tmp = None
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
        model = onnx.load(str(model_path), load_external_data=True)
        committed = compiled.config.weights == "committed"
        graph = compiled.graph
        weights_section = {}
        if committed:  # the published part holds the architecture: committed weights zero-filled
            from zkml.bundle.private_weights import (WEIGHTS_FILE, commitment_hex, committed_constants, strip_weights,
                                                     write_weights)

            names = committed_constants(graph)
            model = strip_weights(model, names)
            graph = _zeroed_graph(graph, names)
            write_weights(tmp / WEIGHTS_FILE, compiled.weight_set, compiled.weights_commitment)
            weights_section = {"weights": {
                "visibility": "committed", "commitment": commitment_hex(compiled.weights_commitment),
                "scales": compiled.weight_set.scales, "private_file": WEIGHTS_FILE,
                "committed_constants": sorted(names), "values": compiled.weight_set.n_values(),
                "fixed_constants": sorted(set(graph.constants) - names)}}
        onnx.save(model, str(tmp / MODEL_FILE))  # weights inline: the bundle stands alone
        write_r1cs(tmp / R1CS_FILE, compiled.r1cs)
        from zkml.bundle.program import program_files

        stored = program_files(graph, tmp)
        manifest = {
            "format_version": FORMAT_VERSION,
            "name": dest.name,
            "backend": "groth16",
            "curve": "bn254",
            # committed weights: the model is the architecture (the bundle's model.onnx) and the
            # weights commitment takes the place of the weights' sha256, so the model id binds it
            "model": {"source": str(model_path),
                      "sha256": sha256_file(tmp / MODEL_FILE) if committed else sha256_file(model_path),
                      "weights_sha256": weights_section["weights"]["commitment"] if committed else weights_hash(model)},
            "config": {"frac_bits": compiled.config.frac_bits, "weight_bits": compiled.config.weight_bits,
                       "public_signals": compiled.config.public_signals, "lookups": bool(compiled.config.lookups),
                       "weights": compiled.config.weights, "outputs": compiled.config.outputs},
            "visibility": {"input": compiled.config.input_visibility, "weights": compiled.config.weights,
                           "outputs": compiled.config.outputs},
            **weights_section,
            "input": {"name": compiled.input_name, "shape": list(compiled.input_shape), "bits": compiled.input_bits,
                      "frac": compiled.input_frac,
                      "tensor_fracs": compiled.tensor_fracs,
                      "visibility": compiled.config.input_visibility,
                      **({"range": compiled.input_range} if compiled.input_range else {})},
            "outputs": [{"name": n, "shape": list(s), "frac": f, "transform": compiled.output_transforms.get(n),
                         "lo": [int(v) for v in lo], "hi": [int(v) for v in hi]}
                        for (n, s, f), (lo, hi) in zip(compiled.outputs, compiled.output_bounds)],
            "circuit": {"constraints": compiled.r1cs.n_constraints, "wires": compiled.r1cs.n_wires,
                        # the claim's signals; a lookup circuit's challenge is one more, recomputed by verifiers
                        "public": compiled.r1cs.n_public - (1 if compiled.r1cs.has_lookups else 0),
                        **({"lookups": compiled.lookups} if compiled.lookups else {})},
            "nodes": compiled.stats,
            "approximations": compiled.output_transforms.get("_approximations", {}),
            **extra,
        }
        if "fidelity" in extra:
            write_atomic_text(tmp / FIDELITY_FILE, json.dumps(extra["fidelity"], indent=1) + "\n")
        manifest["files"] = {MODEL_FILE: sha256_file(tmp / MODEL_FILE), R1CS_FILE: sha256_file(tmp / R1CS_FILE)}
        if "fidelity" in extra:
            manifest["files"][FIDELITY_FILE] = sha256_file(tmp / FIDELITY_FILE)
        for name in stored + list(extra.get("extra_files", [])):
            manifest["files"][name] = sha256_file(tmp / name)
        write_atomic_text(tmp / MANIFEST, json.dumps(manifest, indent=1) + "\n")
        replace_folder(tmp, dest)
    except BaseException as e:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):
            where = dest
            if tmp is not None and e.filename and Path(e.filename).is_relative_to(tmp):
                where = dest / Path(e.filename).relative_to(tmp)
            raise OutputError(os_error_message(e, where)) from None
        raise


def _zeroed_graph(graph, names: set):
    """The graph with the constants ``names`` zero-filled (shapes kept)."""
    import numpy as np

    from zkml.onnx_import.graph import Graph

    consts = {k: (np.zeros_like(np.asarray(v)) if k in names else v) for k, v in graph.constants.items()}
    return Graph(graph.nodes, consts, graph.inputs, graph.outputs, graph.shapes, graph.opset, graph.source, None)


def read_manifest(bundle: Path) -> dict:
    """The bundle's manifest, its fields type-checked (zkml/bundle/manifest.py); no heavy imports."""
    from zkml.bundle.manifest import check_manifest
    from zkml.formats.jsonfile import read_json

    bundle = Path(bundle)
    path = bundle / MANIFEST
    if not path.is_file():
        raise ZkmlError(f"{bundle}: not a circuit bundle (no {MANIFEST}); create one with `zkml compile`")
    m = read_json(path)
    if not isinstance(m, dict):
        raise FormatError(f"{path}: must hold a JSON object; recompile the bundle")
    if m.get("format_version") != FORMAT_VERSION or isinstance(m.get("format_version"), bool):
        raise FormatError(f"{path}: bundle format {str(m.get('format_version'))[:20]} is not supported "
                          f"(expected {FORMAT_VERSION}); recompile")
    return check_manifest(m, str(path))


def file_status(bundle: Path, manifest: dict, name: str) -> str | None:
    """None when the bundle file ``name`` matches its recorded hash, else why not."""
    path = Path(bundle) / name
    if not path.is_file():
        return "missing"
    try:
        if sha256_file(path) != manifest["files"][name]:
            return "does not match its hash (corrupt or replaced)"
    except OSError as e:
        return f"unreadable ({e.strerror})"
    return None


def check_file(bundle: Path, manifest: dict, name: str) -> Path:
    """The path of a bundle file after checking it against the manifest's hash."""
    path = Path(bundle) / name
    if name not in manifest.get("files", {}):
        raise ZkmlError(f"{bundle}: has no {name} yet; run `zkml setup {bundle}` first" if name in (ZKEY_FILE, VK_FILE)
                        else f"{bundle}: manifest lists no {name}")
    status = file_status(bundle, manifest, name)
    if status == "missing":
        raise FormatError(f"{path}: missing from the bundle")
    if status is not None:
        raise FormatError(f"{path}: {status.replace('its hash', f'the hash in {MANIFEST}')}; recompile or re-run setup")
    return path


def record_files(bundle: Path, manifest: dict, outs, files: dict, **fields) -> None:
    """Stage in ``outs`` (an OutputSet) the manifest updated with ``fields`` and the hashes of
    ``files`` (bundle file name -> the staged path written for it), so new files and the
    manifest that lists them land together. Stage it after the files it lists."""
    for name, staged in files.items():
        manifest["files"][name] = sha256_file(staged)
    manifest.update(fields)
    outs.text(Path(bundle) / MANIFEST, json.dumps(manifest, indent=1) + "\n")


def load_compiled(bundle: Path, manifest: dict | None = None) -> Compiled:
    """The compiled program (graph + configuration) of a bundle, for witness generation; the
    calibrated input range comes along (absent in bundles compiled before it was recorded)."""
    from zkml.compiler.compile import CompileConfig, Compiled

    manifest = manifest or read_manifest(bundle)
    graph = load_graph(bundle, manifest)
    cfg = CompileConfig(manifest["config"]["frac_bits"], manifest["config"]["weight_bits"],
                        manifest["input"]["visibility"], manifest["config"].get("public_signals", "packed"),
                        lookups=manifest["config"].get("lookups", False),  # bundles from before lookups: plain
                        weights=manifest["config"].get("weights", "fixed"))
    inp = manifest["input"]
    c = Compiled(graph, cfg, inp["name"], tuple(inp["shape"]), inp["bits"], inp["frac"], inp.get("tensor_fracs", {}))
    c.input_range = inp.get("range")
    c.outputs = [(o["name"], tuple(o["shape"]), o["frac"]) for o in manifest["outputs"]]
    if cfg.weights == "committed":  # the prover's part: the private weights file (load_private_weights)
        c.architecture_only = True
    return c


def load_private_weights(bundle: Path, manifest: dict, compiled, path: Path | None = None) -> None:
    """Give a committed-weights program its weights: ``path`` or the bundle's private/weights.npz,
    refused (named) unless it opens the bundle's weights commitment."""
    from zkml.bundle.private_weights import WEIGHTS_FILE, read_weights

    if compiled.config.weights != "committed":
        return
    path = Path(path) if path is not None else Path(bundle) / WEIGHTS_FILE
    compiled.weight_set = read_weights(path, compiled.config.weight_bits, manifest["weights"]["commitment"])
    compiled.weights_commitment = int(manifest["weights"]["commitment"], 16)


def load_graph(bundle: Path, manifest: dict):
    """The bundle's normalised graph: from its stored program (no onnx import), or for a bundle
    without one (older, or a graph the program files cannot hold) from model.onnx."""
    from zkml.bundle.program import PROGRAM_JSON, PROGRAM_NPZ, read_program

    if PROGRAM_JSON in manifest["files"] and PROGRAM_NPZ in manifest["files"]:
        return read_program(check_file(bundle, manifest, PROGRAM_JSON), check_file(bundle, manifest, PROGRAM_NPZ))
    from zkml.compiler.compile import load_for_compile

    return load_for_compile(check_file(bundle, manifest, MODEL_FILE))


def make_keys(r1cs, ptau: Path | None, progress=None):
    """Groth16 keys for a circuit: from a ceremony's .ptau plus one contribution, or (ptau None)
    from a development tau, which is insecure and meant for tests and demos. ``progress``
    (a callable taking one line) hears of each stage as it starts."""
    from zkml.groth16 import setup

    if ptau:
        from zkml.formats.ptau import read_ptau
        from zkml.groth16.contribute import contribute

        pk = setup.setup_from_ptau(r1cs, read_ptau(ptau), str(ptau), progress=progress)
        if progress:
            progress("applying the first contribution")
        return contribute(pk, name="zkml setup")
    return setup.setup_from_secrets(r1cs, setup.DevTau.random(), progress=progress)


def make_dev_keys(r1cs, progress=None):
    """(keys from a development tau, a writer of the development .ptau of the same secrets).

    The ptau lets ``zkml verify-key`` recompute the key from the R1CS (key_binding.py); the
    secrets go with the writer, which the caller drops once the file is written."""
    from zkml.bundle.key_binding import dev_ptau_power
    from zkml.formats.ptau import write_dev_ptau
    from zkml.groth16 import setup

    dev = setup.DevTau.random()
    pk = setup.setup_from_secrets(r1cs, dev, progress=progress)

    def write_ptau(path) -> None:
        write_dev_ptau(path, dev_ptau_power(pk.domain_size), dev.tau, dev.alpha, dev.beta)

    return pk, write_ptau
