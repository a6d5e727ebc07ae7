"""Re-attestation: prove an evaluation again on the same committed data set, with a new date.

The opening beside the attestation holds the data set's file name, its sha256 and the salt(s)
of its commitment; renewing re-proves with the same model, samples, thresholds and salts, so
the new claim commits to exactly the same data set (the same commitment, or Merkle root for a
chunked evaluation) and differs only in its proof and its dates. The result is unsigned: the
owner signs and publishes it as any new attestation.
"""

from __future__ import annotations

from pathlib import Path

from zkml.attest import document as D
from zkml.errors import ZkmlError


def opening_path(attestation: Path) -> Path:
    return attestation.with_name(attestation.name.removesuffix(".json") + ".opening.json")


def read_opening(path: Path) -> dict:
    from zkml.formats.jsonfile import read_json

    if not Path(path).is_file():
        raise ZkmlError(f"{path}: not found; renewing needs the opening of the data set commitment that "
                        "`zkml attest evaluate` wrote beside the attestation")
    op = read_json(path)
    if not isinstance(op, dict) or not isinstance(op.get("dataset"), str) or not isinstance(op.get("samples"), int) \
            or not isinstance(op.get("dataset_sha256"), str) or not ("salt" in op or "salts" in op):
        raise ZkmlError(f"{path}: not an evaluation opening (dataset, dataset_sha256, samples, salt or salts)")
    return op


def renew(doc: dict, attestation: Path, *, bundle: Path | None = None, data: Path | None = None,
          valid_until: int | None = None, ptau: Path | None = None, device: str = "cpu", workers: int = 2,
          address: str | None = None, log=print) -> tuple[dict, dict]:
    """(unsigned renewed document, opening) for an evaluation attestation."""
    from zkml.attest.owner import from_evaluation
    from zkml.bundle import store

    where = str(attestation)
    c = doc["claim"]
    if c["kind"] != "evaluation":
        raise ZkmlError(f"{where}: an {c['kind']} attestation is for one input; prove it again with `zkml prove` "
                        "(renew re-proves evaluations on their committed data set)")
    op = read_opening(opening_path(attestation))
    data = Path(data if data is not None else op["dataset"])
    if not data.is_file():
        raise ZkmlError(f"{data}: the data set of {where} is not there; pass --data")
    if store.sha256_file(data) != op["dataset_sha256"]:
        raise ZkmlError(f"{data}: its sha256 differs from the one the opening records: this is not the committed "
                        "data set; renew proves on the same data")
    bundle = Path(bundle if bundle is not None else doc["circuit"].get("bundle_path") or "")
    if not (bundle / "manifest.json").is_file():
        raise ZkmlError(f"{bundle}: no bundle there; pass --bundle (the bundle the attestation was made with)")
    manifest = store.read_manifest(bundle)
    if D.model_id(manifest["model"]["sha256"], manifest["model"]["weights_sha256"]) != c["model_id"]:
        raise ZkmlError(f"{bundle}: holds another model than {where} (model id differs); pass the right --bundle")
    m, d = c["metric"], c["dataset"]
    pc = m["per_class"]
    common = dict(samples=op["samples"], ptau=ptau, log=log, class_k=pc["k"], class_names=pc.get("names"))
    if "chunks" in doc["proof"]:
        from zkml.scale.chunked_evaluation import prove_chunked

        result, opening = prove_chunked(bundle, data, m["k"], d["chunk_size"], workers=workers, address=address,
                                        salts=[int(s) for s in op["salts"]], **common)
    else:
        from zkml.bundle.evaluation import prove_evaluation

        result, opening = prove_evaluation(bundle, data, m["k"], device=device, salt=int(op["salt"]), **common)
    if result["claim"]["dataset"]["commitment"] != d["commitment"]:
        raise ZkmlError(f"{where}: the re-proved data set commitment differs from the attestation's; nothing written")
    new = from_evaluation(result, valid_until)
    if new["claim"]["metric"] != m:
        log("note: the counts differ from the renewed attestation's (the bundle's arithmetic changed)")
    return new, opening
