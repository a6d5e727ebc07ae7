"""Rebuild a bundle's R1CS from the model and the manifest's ``build`` record, and say whether it
is byte-identical to the one the bundle holds (issue 18: keys bound to models).

The record holds what the R1CS is a function of: the model's sha256 (and its weights' hash,
already in ``model``), the calibration data's sha256, every compile option, the scales the
compile chose from the calibration data, and the versions that built it. A rebuild uses the
recorded scales, so no float measured on this machine (onnxruntime's peaks, a numpy std) can move
them; with the calibration file given it also checks its hash and says whether a fresh
calibration here chooses the same scales.
"""

from __future__ import annotations

import dataclasses
import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from zkml.errors import CannotCheck, ZkmlError

BUILD_FIELDS = ("model_sha256", "calibration_sha256", "options", "scales", "versions")


def versions() -> dict:
    """The versions the R1CS could depend on."""
    import numpy
    import onnx

    from zkml import __version__

    out = {"zkml": __version__, "onnx": onnx.__version__, "numpy": numpy.__version__}
    try:
        import onnxruntime

        out["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        out["onnxruntime"] = None
    return out


def build_record(model_path: Path, calibration_path: Path, compiled) -> dict:
    """The manifest's ``build`` section for a fresh compile."""
    from zkml.bundle.store import sha256_file
    from zkml.compiler.compile import calibrated_scales

    return {"model_sha256": sha256_file(model_path), "calibration_sha256": sha256_file(calibration_path),
            "calibration_file": Path(calibration_path).name,
            "options": dataclasses.asdict(compiled.config), "scales": calibrated_scales(compiled),
            "versions": versions()}


def r1cs_sha256(r1cs) -> str:
    """sha256 of the R1CS file zkml writes for ``r1cs`` (what the manifest's files record)."""
    from zkml.formats.r1cs import write_r1cs

    with tempfile.TemporaryDirectory(prefix="zkml-rebuild-") as d:
        path = Path(d) / "circuit.r1cs"
        write_r1cs(path, r1cs)
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()


@dataclass
class Rebuilt:
    r1cs: object
    sha256: str
    expected: str | None  # the manifest's files["circuit.r1cs"]
    manifest: dict
    notes: list[str] = field(default_factory=list)
    compiled: object = None  # the Compiled program (an evaluation circuit is built from it)

    @property
    def matches(self) -> bool:
        return self.expected is not None and self.sha256 == self.expected


def manifest_path(bundle_or_manifest: Path) -> Path:
    p = Path(bundle_or_manifest)
    return p / "manifest.json" if p.is_dir() else p


def read_any_manifest(bundle_or_manifest: Path) -> dict:
    """A bundle's manifest, or a manifest.json given on its own, type-checked."""
    from zkml.bundle import store
    from zkml.bundle.manifest import check_manifest
    from zkml.formats.jsonfile import read_json

    p = Path(bundle_or_manifest)
    if p.is_dir():
        return store.read_manifest(p)
    if not p.is_file():
        raise CannotCheck(f"{p}: no such bundle or manifest")
    return check_manifest(read_json(p), str(p))


def build_of(manifest: dict, where: str) -> dict:
    """The ``build`` record, every field present, or one line naming the one missing."""
    b = manifest.get("build")
    if not isinstance(b, dict):
        raise CannotCheck(f"{where}: cannot rebuild: field 'build' is missing (compiled by an older zkml, or "
                          "edited); recompile the model with this version")
    for k in BUILD_FIELDS:
        if b.get(k) is None:
            raise CannotCheck(f"{where}: cannot rebuild: field 'build.{k}' is missing; recompile the model "
                              "with this version")
    for k in ("input_frac", "input_bits", "tensor_fracs"):
        if k not in b["scales"]:
            raise CannotCheck(f"{where}: cannot rebuild: field 'build.scales.{k}' is missing")
    if not isinstance(b["options"], dict):
        raise CannotCheck(f"{where}: field 'build.options' must be an object")
    return b


def _config(options: dict, where: str):
    from zkml.compiler.compile import CompileConfig

    known = {f.name for f in dataclasses.fields(CompileConfig)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise CannotCheck(f"{where}: field 'build.options.{unknown[0]}' is an option this zkml does not know; "
                          "rebuild with the zkml version in build.versions")
    try:
        return CompileConfig(**options)
    except TypeError as e:
        raise CannotCheck(f"{where}: field 'build.options' is not a set of compile options ({e})") from None


def check_model_file(manifest: dict, model: Path, where: str) -> None:
    """The model file must be the one the manifest names (the original file, or the bundle's copy)."""
    import onnx

    from zkml.bundle import store

    sha = store.sha256_file(model)
    known = {manifest["build"]["model_sha256"], manifest["model"]["sha256"], manifest.get("files", {}).get(store.MODEL_FILE)}
    if sha not in known:
        raise ZkmlError(f"{model}: sha256 {sha[:16]}… is not the model {where} was compiled from "
                        f"({manifest['model']['sha256'][:16]}…)")
    try:
        loaded = onnx.load(str(model), load_external_data=True)
    except Exception as e:
        raise ZkmlError(f"{model}: not a readable ONNX model ({type(e).__name__})") from None
    if manifest["config"].get("weights") == "committed":
        return  # the R1CS is the architecture's: the weights (behind the commitment) are not needed
    w = store.weights_hash(loaded)
    if w != manifest["model"]["weights_sha256"]:
        raise ZkmlError(f"{model}: its weights hash to {w[:16]}…, not the weights {where} records")


def fresh_scales(c, xs, source: str) -> dict:
    """The scales a calibration on this machine chooses for ``c``'s graph."""
    from zkml.compiler.compile import calibrated_fracs, choose_input_frac, input_range_bits
    from zkml.formats.tensors import samples_of

    xs = samples_of(xs, c.input_shape, source, c.input_name)
    f_in = choose_input_frac(xs, c.config.frac_bits)
    return {"input_frac": f_in, "input_bits": input_range_bits(xs, f_in),
            "tensor_fracs": calibrated_fracs(c.graph, xs, c.config.frac_bits)}


def rebuild(bundle_or_manifest: Path, model: Path | None = None, calibration: Path | None = None,
            progress=None) -> Rebuilt:
    """The R1CS compiled again from ``model`` (default: the bundle's model.onnx) with the
    manifest's recorded options and scales."""
    from zkml.bundle import store
    from zkml.compiler.compile import calibrated_scales, compile_model

    where = str(manifest_path(bundle_or_manifest))
    manifest = read_any_manifest(bundle_or_manifest)
    b = build_of(manifest, where)
    config = _config(b["options"], where)
    if model is None:
        folder = manifest_path(bundle_or_manifest).parent
        if not (folder / store.MODEL_FILE).is_file():
            raise CannotCheck(f"{where}: no {store.MODEL_FILE} beside the manifest; give the ONNX file (--onnx)")
        model = folder / store.MODEL_FILE
    check_model_file(manifest, Path(model), where)
    notes = []
    xs = None
    if calibration is not None:
        from zkml.formats.tensors import load_dataset

        sha = store.sha256_file(calibration)
        if sha != b["calibration_sha256"]:
            raise ZkmlError(f"{calibration}: sha256 {sha[:16]}… is not the calibration data {where} records "
                            f"(build.calibration_sha256 {b['calibration_sha256'][:16]}…)")
        xs = load_dataset(calibration)
    c = compile_model(model, xs, config, source=str(calibration or "recorded scales"), progress=progress,
                      scales=b["scales"])
    if xs is not None:
        same = fresh_scales(c, xs, str(calibration)) == calibrated_scales(c)
        notes.append("calibration here chooses the recorded scales" if same else
                     "calibration here chooses other scales than recorded (floats of this machine); the recorded ones were used")
    if b["versions"].get("zkml") != versions()["zkml"]:
        notes.append(f"compiled by zkml {b['versions'].get('zkml')}, rebuilt by zkml {versions()['zkml']}")
    return Rebuilt(c.r1cs, r1cs_sha256(c.r1cs), manifest.get("files", {}).get(store.R1CS_FILE), manifest, notes, c)
