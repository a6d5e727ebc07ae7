"""``zkml.attest.evaluate`` (and the owner's ``keygen`` and ``sign``): evaluation attestations
from Python, with the CLI's names and defaults (``zkml attest evaluate``); the CLI calls these."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from zkml.api.checks import at_least, choice, existing_file, existing_folder, optional_file
from zkml.api.results import Evaluation
from zkml.errors import ZkmlError

DEFAULT_VALID_DAYS = 90  # a quarter: AIUC-1's re-attestation period


def valid_until_time(valid_until=None, valid_days: float | None = None) -> int | None:
    """Unix seconds from --valid-until (a UTC date YYYY-MM-DD or YYYY-MM-DDTHH:MM, unix seconds,
    or a ``datetime``) / --valid-days N (None: the default validity)."""
    import datetime

    if valid_until is not None and valid_days is not None:
        raise ZkmlError("give --valid-until or --valid-days, not both")
    if valid_days is not None:
        if isinstance(valid_days, bool) or not isinstance(valid_days, (int, float)) or not valid_days > 0:
            raise ZkmlError(f"--valid-days {valid_days!r}: expected a number of days above 0")
        return int(time.time() + valid_days * 86400)
    if valid_until is None:
        return None
    if isinstance(valid_until, datetime.datetime):
        t = valid_until
        until = int((t if t.tzinfo else t.replace(tzinfo=datetime.timezone.utc)).timestamp())
    elif isinstance(valid_until, int) and not isinstance(valid_until, bool):
        until = valid_until
    elif isinstance(valid_until, str) and valid_until.isdigit():
        until = int(valid_until)
    else:
        try:
            t = datetime.datetime.fromisoformat(str(valid_until))
        except ValueError:
            raise ZkmlError(f"--valid-until {valid_until!r}: not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM, UTC) "
                            "nor unix seconds") from None
        until = int((t if t.tzinfo else t.replace(tzinfo=datetime.timezone.utc)).timestamp())
    if until <= time.time():  # refused before any proving: the document would be issued expired
        from zkml.attest.document import utc

        raise ZkmlError(f"--valid-until {valid_until}: {utc(until)} precedes now, the attestation's issuedAt; "
                        "give a date in the future")
    return until


def class_thresholds(values, names: list[str] | None, bundle: Path) -> list[int] | None:
    """--class-k CLASS=K (repeated; or a dict {class: K}): per-class thresholds, others 0; None
    when none is given (the default: what the model gets)."""
    if not values:
        return None
    from zkml.bundle import store

    import numpy as np

    if isinstance(values, dict):
        values = [f"{c}={k}" for c, k in values.items()]
    elif isinstance(values, str):
        values = [values]
    n_classes = int(np.prod(store.read_manifest(bundle)["outputs"][0]["shape"]))
    out = [0] * n_classes
    for v in values:
        cls, sep, k = str(v).partition("=")
        if not sep or not k.strip().isdigit():
            raise ZkmlError(f"--class-k {v!r}: expected CLASS=K (a class name or index, and a count)")
        cls = cls.strip()
        if names and cls in names:
            i = names.index(cls)
        elif cls.isdigit() and int(cls) < n_classes:
            i = int(cls)
        else:
            known = ", ".join(names) if names else f"0..{n_classes - 1}"
            raise ZkmlError(f"--class-k {v!r}: the model has no class {cls!r} (its classes: {known})")
        out[i] = int(k)
    return out


def opening_path(out: Path) -> Path:
    """Where the opening (salt) of an attestation's dataset commitment is written: beside it."""
    return out.with_name(out.name.removesuffix(".json") + ".opening.json")


def write_document(path: Path, doc: dict, outs=None) -> None:
    """Check and write an attestation document, staged in ``outs`` when it is one of several outputs."""
    from zkml.attest import document as D
    from zkml.formats.atomic import OutputSet

    D.validate(doc, str(path))  # errors name the destination, not the staging file
    if outs is not None:
        D.write(outs.stage(path), doc)
        return
    with OutputSet() as one:
        D.write(one.stage(path), doc)


def evaluate(bundle, data, *, k: int | None = None, samples: int | None = None, ptau=None, device: str = "cpu",
             output="evaluation.attestation.json", chunk_size: int | None = None, workers: int = os.cpu_count() or 1,
             ray: str | None = None, class_k=None, class_names=None, valid_until=None, valid_days: float | None = None,
             log=None, reference: bool | None = None, weights=None) -> Evaluation:
    """Prove that ``bundle``'s model gets at least ``k`` (default: as many as it gets) of the
    first ``samples`` (default: all) committed samples of ``data`` right, with every class's TP,
    FN and FP (one circuit, or with ``chunk_size`` chunks on Ray: ``workers``, ``ray`` a cluster
    address); writes an unsigned attestation to ``output`` and the opening of the dataset
    commitment beside it (keep it private). ``class_k``: {class name or index: K}, or the CLI's
    "CLASS=K" strings; ``class_names``: a list or a comma-separated string; ``valid_until``: a
    date, ``datetime`` or unix seconds, or ``valid_days`` (default 90 days). ``log`` gets the
    progress lines the CLI prints. ``weights``: a --weights committed bundle's private weights
    file (default BUNDLE/private/weights.npz)."""
    from zkml.api.proofs import select_verifier
    from zkml.attest.owner import from_evaluation
    from zkml.formats.atomic import OutputSet, refuse_overlap

    t0 = time.perf_counter()
    select_verifier(reference)
    bundle = existing_folder(bundle, "BUNDLE")
    weights = optional_file(weights, "--weights")
    data = existing_file(data, "--data")
    ptau = optional_file(ptau, "--ptau")
    at_least(k, "--k", 0)
    at_least(samples, "--samples", 1)
    at_least(chunk_size, "--chunk-size", 1)
    at_least(workers, "--workers", 1, optional=False)
    choice(device, "--device", ("cpu", "gpu", "auto"))
    out = Path(output)
    opening = opening_path(out)
    refuse_overlap([out, opening], [bundle, data, ptau, weights])
    until = valid_until_time(valid_until, valid_days)
    if isinstance(class_names, str):
        class_names = [x.strip() for x in class_names.split(",")]
    names = None if class_names is None else [str(x) for x in class_names]
    thresholds = class_thresholds(class_k, names, bundle)
    log = log or (lambda message: None)
    if chunk_size:
        from zkml.scale.chunked_evaluation import prove_chunked

        result, opened = prove_chunked(bundle, data, k, chunk_size, samples=samples, ptau=ptau, workers=workers,
                                       address=ray, log=log, class_k=thresholds, class_names=names, weights=weights)
    else:
        from zkml.bundle.evaluation import prove_evaluation

        result, opened = prove_evaluation(bundle, data, k, samples=samples, ptau=ptau, device=device, log=log,
                                          class_k=thresholds, class_names=names, weights=weights)
    doc = from_evaluation(result, until)
    with OutputSet() as outs:  # the attestation and the opening of its commitment land together
        outs.text(opening, json.dumps(opened, indent=1) + "\n")
        write_document(out, doc, outs)
    return Evaluation(out, opening, doc, round(time.perf_counter() - t0, 3))


def keygen(key_file) -> str:
    """Write a new signing key to ``key_file`` (mode 0600; never overwritten) and return its address."""
    from zkml.attest.owner import new_key_file

    return new_key_file(Path(key_file))


def sign(attestation, *, private_key_file=None, output=None) -> dict:
    """Sign an attestation file as the model owner (EIP-712), in place or to ``output``; the key
    from ``private_key_file`` or ZKML_PRIVATE_KEY. Returns the signed document."""
    from zkml.attest import document as D
    from zkml.attest.owner import load_signing_key
    from zkml.formats.atomic import refuse_overlap

    attestation = existing_file(attestation, "ATTESTATION")
    private_key_file = optional_file(private_key_file, "--private-key-file")
    out = Path(output) if output is not None else attestation
    refuse_overlap([out], [private_key_file])  # in place (the default) is fine
    doc = D.sign(D.read(attestation), load_signing_key(private_key_file))
    write_document(out, doc)
    return doc
