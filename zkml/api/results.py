"""What the Python API returns: one dataclass per command, holding the fields the command's
``--json`` prints (``to_json()`` gives exactly that object), plus what a program wants beside
them (paths as ``Path``, the whole proof or attestation document)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


def usage(started: float) -> tuple[float, float]:
    """(wall seconds since ``started``, peak memory of this process in MB), as --json reports them."""
    import resource
    import time

    return (round(time.perf_counter() - started, 3),
            round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))


@dataclass
class Bundle:
    """A compiled circuit bundle (``zkml compile``)."""

    path: Path
    model: Path
    constraints: int
    wires: int
    public: int
    input_visibility: str
    public_signals: str
    fidelity: dict
    wrote: list[Path]
    notes: list[str] = field(default_factory=list)  # what the CLI prints on stderr (few samples, fidelity)
    seconds: float = 0.0
    peak_memory_mb: float = 0.0
    lookups: bool = False  # two-round Groth16: one more public input, the challenge, not counted in public
    visibility: dict = field(default_factory=dict)  # input, weights, outputs

    def to_json(self) -> dict:
        return {"bundle": str(self.path), "model": str(self.model),
                "circuit": {"constraints": self.constraints, "wires": self.wires, "public": self.public,
                            "lookups": self.lookups},
                "input_visibility": self.input_visibility, "public_signals": self.public_signals,
                "visibility": self.visibility, "fidelity": self.fidelity, "wrote": [str(p) for p in self.wrote],
                "seconds": self.seconds, "peak_memory_mb": self.peak_memory_mb}


@dataclass
class Keys:
    """A bundle's Groth16 keys (``zkml setup``)."""

    bundle: Path
    phase1: str
    constraints: int
    public: int
    domain_size: int
    vk_sha256: str
    wrote: list[Path]
    seconds: float = 0.0
    peak_memory_mb: float = 0.0
    lookups: bool = False

    def to_json(self) -> dict:
        return {"bundle": str(self.bundle), "phase1": self.phase1, "constraints": self.constraints,
                "public": self.public, "lookups": self.lookups, "domain_size": self.domain_size,
                "vk_sha256": self.vk_sha256,
                "wrote": [str(p) for p in self.wrote], "seconds": self.seconds, "peak_memory_mb": self.peak_memory_mb}


@dataclass
class Proof:
    """An inference proof file (``zkml prove``); ``document`` is the file's content."""

    path: Path
    bundle: Path
    input: str
    model_sha256: str
    vk_sha256: str
    outputs: list[dict]  # name, shape, values (dequantized), argmax, transform
    wrote: list[Path]
    document: dict = field(repr=False, default_factory=dict)
    seconds: float = 0.0
    peak_memory_mb: float = 0.0

    def to_json(self) -> dict:
        return {"proof": str(self.path), "bundle": str(self.bundle), "input": self.input,
                "model_sha256": self.model_sha256, "vk_sha256": self.vk_sha256,
                "outputs": [{k: o.get(k) for k in ("name", "shape", "values", "argmax")} for o in self.outputs],
                "wrote": [str(p) for p in self.wrote], "seconds": self.seconds, "peak_memory_mb": self.peak_memory_mb}


@dataclass
class Verification:
    """``zkml verify`` of one proof file: ``valid`` False with the ``reason`` for a well-formed
    claim the proof does not establish (a malformed or mislabelled file raises instead).
    With ``onchain``: ``local`` (the Python check) and ``onchain`` (chain_id, rpc, address,
    valid, gas_used, gas_source); without it: the claim's model, key and outputs."""

    valid: bool
    proof: Path
    reason: str
    bundle: Path | str | None
    model_sha256: str | None = None
    vk_sha256: str | None = None
    outputs: list[dict] | None = None
    local: bool | None = None
    onchain: dict | None = None
    claim: dict | None = field(repr=False, default=None)

    @property
    def verdict(self) -> str:
        return "VALID" if self.valid else "INVALID"

    def to_json(self) -> dict:
        doc = {"verdict": self.verdict, "valid": self.valid, "proof": str(self.proof), "reason": self.reason}
        if self.onchain is not None:
            return doc | {"bundle": self.bundle, "local": self.local, "onchain": self.onchain}
        return doc | {"bundle": str(self.bundle), "model_sha256": self.model_sha256, "vk_sha256": self.vk_sha256,
                      "outputs": [{k: o.get(k) for k in ("name", "values", "argmax")} for o in self.outputs or []]}


@dataclass
class BatchVerification:
    """``zkml verify --batch``: the proofs that verify, those that do not (with the reason), and
    those that could not be read at all."""

    proofs: int
    valid_proofs: list[Path]
    invalid: list[tuple[Path, str]]
    cannot_check: list[tuple[Path, str]]
    rejected: list[tuple[Path, str]] = field(default_factory=list)  # invalid and cannot_check, in file order
    seconds: float = 0.0
    peak_memory_mb: float = 0.0

    @property
    def verdict(self) -> str:
        return "INVALID" if self.invalid else "CANNOT CHECK" if self.cannot_check else "VALID"

    @property
    def valid(self) -> bool | None:
        return False if self.invalid else None if self.cannot_check else True

    def to_json(self) -> dict:
        return {"verdict": self.verdict, "valid": self.valid, "proofs": self.proofs,
                "valid_proofs": [str(p) for p in self.valid_proofs],
                "invalid": [{"proof": str(p), "reason": why} for p, why in self.invalid],
                "cannot_check": [{"proof": str(p), "reason": why} for p, why in self.cannot_check],
                "seconds": self.seconds, "peak_memory_mb": self.peak_memory_mb}


@dataclass
class Evaluation:
    """An unsigned evaluation attestation written by ``zkml attest evaluate`` (``document``), and
    the opening of its dataset commitment beside it (keep that file private)."""

    path: Path
    opening: Path
    document: dict = field(repr=False)
    seconds: float = 0.0

    @property
    def metric(self) -> dict:
        return self.document["claim"]["metric"]

    @property
    def correct(self) -> int:
        return self.metric["correct"]

    @property
    def n(self) -> int:
        return self.metric["n"]

    @property
    def k(self) -> int:
        return self.metric["k"]

    @property
    def per_class(self) -> dict:
        return self.metric["per_class"]

    @property
    def model_id(self) -> str:
        return self.document["claim"]["model_id"]

    @property
    def valid_until(self) -> int:
        return self.document["valid_until"]

    def to_json(self) -> dict:
        return {"attestation": str(self.path), "opening": str(self.opening), "model_id": self.model_id,
                "correct": self.correct, "n": self.n, "k": self.k, "per_class": self.per_class,
                "valid_until": self.valid_until, "wrote": [str(self.path), str(self.opening)], "seconds": self.seconds}


@dataclass
class Rule:
    rule: str
    passed: bool
    reason: str


@dataclass
class Report:
    """``zkml check``: one row per policy rule; ``passed`` when every rule passes."""

    attestation: Path
    rules: list[Rule]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rules)

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"

    def failed(self) -> list[Rule]:
        return [r for r in self.rules if not r.passed]

    def to_json(self) -> dict:
        return {"verdict": self.verdict, "attestation": str(self.attestation),
                "rules": [{"rule": r.rule, "passed": r.passed, "reason": r.reason} for r in self.rules]}
