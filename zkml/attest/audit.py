"""The auditor's side: re-check every attestation a registry holds, trusting nothing that can be
recomputed. For each record: the proof and public inputs are read back from the submitting
transaction; the claim hash is recomputed; the proof is verified (the engine's pairing, or py_ecc
with --reference) under the verifying
key published at the verifier's vkURI (whose hash must equal the registered vkHash) and again by
the deployed verifier; the verifier's runtime bytecode must equal the code compiled here from
that key; and an ONNX file, when given, must hash to the model id, and the published key must be
made for the circuit it compiles to (the ``key`` column: the bundle beside the key, compiled again
from the ONNX file, and its zkey checked against that R1CS and its ptau). For a --weights committed
model the key is the architecture's and the ``weights`` column checks that the commitment in the
proof's public signals is the registered model's: the model id is sha256(architecture sha256 ||
commitment), so another weight set, proved under the same key, is named; --onnx is then the
architecture (the bundle's model.onnx, which the owner publishes) and the onnx column hashes it
with the proof's commitment."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from zkml.attest import document as D
from zkml.errors import FormatError, ZkmlError
from zkml.formats.jsonfile import read_json


@dataclass
class AuditRow:
    attestation_id: int
    model_id: str
    kind: str
    claim_hash: str
    submitter: str
    block: int
    revoked: str  # "", "attestation" or "model"
    checks: dict = field(default_factory=dict)  # name -> (passed, detail)

    @property
    def ok(self) -> bool:
        return all(v[0] for v in self.checks.values())

    def as_json(self) -> dict:
        return {"attestation_id": self.attestation_id, "model_id": self.model_id, "kind": self.kind,
                "claim_hash": self.claim_hash, "submitter": self.submitter, "block": self.block,
                "revoked": self.revoked or None, "ok": self.ok,
                "checks": {k: {"passed": v[0], "detail": v[1]} for k, v in self.checks.items()}}


def onnx_model_id(path: Path) -> str:
    import onnx

    from zkml.bundle import store

    try:
        m = onnx.load(str(path), load_external_data=True)
    except Exception as e:
        raise ZkmlError(f"{path}: not a readable ONNX model ({type(e).__name__})") from None
    return D.model_id(store.sha256_file(path), store.weights_hash(m))


def committed_manifest(vk_uri: str) -> dict | None:
    """The manifest of the --weights committed bundle of the key at ``vk_uri`` (beside it, or two
    folders up for an evaluation key), else None (a fixed-weights bundle, no bundle there)."""
    from zkml.bundle.store import read_manifest

    folder = Path(unquote(urlparse(vk_uri).path)).parent
    if folder.parent.name == "evaluations" and (folder / "keys.json").is_file():
        folder = folder.parent.parent  # an evaluation key: BUNDLE/evaluations/n<N>/
    if urlparse(vk_uri).scheme != "file" or not (folder / "manifest.json").is_file():
        return None
    try:
        m = read_manifest(folder)
    except ZkmlError:
        return None
    return m if m["config"].get("weights") == "committed" and "weights" in m else None


def weights_check(manifest: dict, mid: str, public: list[int], arch_sha256: str | None = None,
                  metadata_uri: str = "") -> tuple[bool, str]:
    """(passed, detail) of the ``weights`` column: the weights commitment a committed-weights
    proof carries (its last public signal) is the registered model's, i.e. the model id is
    sha256(architecture sha256 || that commitment), and the one the model's registered metadata
    URI records in the clear (``#weights_commitment=0x…``, when it does); ``arch_sha256`` is the
    auditor's ONNX file's."""
    from zkml.attest.owner import registered_commitment
    from zkml.bundle.private_weights import commitment_hex

    if manifest["config"].get("public_signals", "packed") == "hash":
        return False, ("cannot check: the public signals are one hash, so the weights commitment is not "
                       "visible on chain; compile with --public-signals packed")
    if not public:
        return False, "no public signals: no weights commitment"
    got = commitment_hex(public[-1])
    arch = arch_sha256 or manifest["model"]["sha256"]
    recorded = registered_commitment(metadata_uri)
    if recorded is not None and recorded != got:
        return False, (f"proved under weights commitment 0x{got[:16]}…, not the registered 0x{recorded[:16]}… "
                       "(the model's registration records it): other weights than the registered model's")
    if D.model_id(arch, got) == mid:
        return True, (f"weights commitment 0x{got[:16]}… is the registered model's"
                      + (" (the registration records it)" if recorded else ""))
    registered = manifest["weights"]["commitment"]
    named = (f"the registered 0x{registered[:16]}…" if D.model_id(arch, registered) == mid
             else f"the one model {mid[:18]}… registers")
    return False, f"proved under weights commitment 0x{got[:16]}…, not {named}: other weights than the registered model's"


def _read_vk_uri(uri: str) -> dict:
    """The verifying key JSON at a file:// URI (zkml makes no network requests)."""
    u = urlparse(uri)
    if u.scheme != "file":
        raise ZkmlError(f"vkURI {uri!r} is not a file:// URI; zkml fetches nothing over the network, "
                        "so copy the key locally")
    path = Path(unquote(u.path))
    try:
        return read_json(path)  # size, UTF-8 and depth checked: the key is the owner's file, not ours
    except ZkmlError as e:
        raise ZkmlError(f"vkURI {uri}: {e}") from None


def _verifier_facts(chain, verifier: dict) -> dict:
    """Checks that hold for every attestation of one verifier, and what the rows need."""
    from zkml.evm.solc import compile_contract
    from zkml.evm.verifier_gen import generate_solidity
    from zkml.formats.snarkjs_json import vk_from_json

    facts = {"checks": {}, "vk": None, "abi": None}
    try:
        vk_json = _read_vk_uri(verifier["vk_uri"])
        vk = vk_from_json(vk_json, verifier["vk_uri"])
    except ZkmlError as e:
        facts["checks"]["vk"] = (False, str(e))
        facts["checks"]["bytecode"] = (False, "not compared: the published verifying key is unusable, so no "
                                              "code can be built from it")
        return facts
    same = bytes.fromhex(D.vk_sha256(vk_json)) == verifier["vk_hash"]
    facts["checks"]["vk"] = (same, f"sha256 of {verifier['vk_uri']} " + ("equals" if same else "differs from") + " the registered vkHash")
    facts["vk"] = vk
    art = compile_contract(generate_solidity(vk), "Groth16Verifier")
    facts["abi"] = art["abi"]
    deployed = bytes(chain.w3.eth.get_code(verifier["address"]))
    same_code = deployed == bytes.fromhex(art["deployed_bytecode"][2:])
    facts["checks"]["bytecode"] = (same_code, f"runtime code at {verifier['address']} "
                                            + ("equals" if same_code else "differs from") + f" the code {art['compiler']} builds from the key")
    return facts


def key_check_of(vk_uri: str, onnx_file: Path, ptau: Path | None = None) -> tuple[bool, str]:
    """(passed, ``key ok`` / ``key FAIL: reason``) for the key published at ``vk_uri``: the bundle
    beside it is compiled again from ``onnx_file`` and its zkey checked against that R1CS
    (zkml/bundle/key_binding.py), and the published verifying key must be that zkey's."""
    from zkml.bundle.key_binding import verify_bundle_key

    try:
        vk_json = _read_vk_uri(vk_uri)
        folder = Path(unquote(urlparse(vk_uri).path)).parent
        if folder.parent.name == "evaluations" and (folder / "keys.json").is_file():
            from zkml.bundle.key_binding import verify_evaluation_key

            rep = verify_evaluation_key(folder, onnx_file, ptau, vk_json=vk_json)
            return rep.ok, rep.line()
        if not (folder / "manifest.json").is_file():
            return False, f"key FAIL: no bundle (manifest.json, circuit.zkey) beside {vk_uri}; cannot check the key"
        rep = verify_bundle_key(folder, onnx_file, ptau, vk_json=vk_json)
    except ZkmlError as e:
        return False, f"key FAIL: cannot check: {e}"
    return rep.ok, rep.line()


def audit(chain, registry: str, model: str | None = None, onnx_file: Path | None = None, log=lambda s: None,
          ptau: Path | None = None) -> list[AuditRow]:
    from zkml.evm import registry as REG
    from zkml.groth16.data_structures import Proof
    from zkml.groth16.verifying import selected, verify

    expect_id = onnx_model_id(onnx_file) if onnx_file else None
    onnx_sha = None
    if onnx_file:
        from zkml.bundle.store import sha256_file

        onnx_sha = sha256_file(onnx_file)  # a committed model's architecture file: the id holds it and the commitment
    if model:
        model = model.lower() if model.startswith("0x") else "0x" + model.lower()
    records = REG.attestations(chain, registry)
    c = REG.contract(chain, registry)
    models: dict[str, dict] = {}
    verifiers: dict[tuple, dict] = {}
    manifests: dict[str, dict | None] = {}  # vk URI -> its committed-weights bundle manifest
    rows = []
    for rec in records:
        mid = rec["model_id"]
        if model and mid != model:
            continue
        if mid not in models:
            models[mid] = REG.model(chain, registry, bytes.fromhex(mid[2:]))
        m = models[mid]
        v = m["verifiers"][rec["verifier_index"]]
        key = (mid, rec["verifier_index"])
        if v["vk_uri"] not in manifests:  # one read per published key, not per attestation
            manifests[v["vk_uri"]] = committed_manifest(v["vk_uri"])
        committed = manifests[v["vk_uri"]]
        if (model is None and expect_id and mid != expect_id
                and not (committed and onnx_sha in (committed["model"]["sha256"], committed.get("build", {}).get("model_sha256")))):
            continue
        log(f"attestation {rec['id']}")
        if key not in verifiers:
            verifiers[key] = _verifier_facts(chain, v)
            if onnx_file:  # the key made for this model's circuit, not only registered under its id
                verifiers[key]["checks"]["key"] = key_check_of(v["vk_uri"], onnx_file, ptau)
        facts = verifiers[key]
        revoked = "model" if m["revoked"] else "attestation" if rec["revoked"] else ""
        row = AuditRow(rec["id"], mid, v["kind"], rec["claim_hash"], rec["submitter"], rec["block"], revoked)
        row.checks.update(facts["checks"])
        logs = c.events.AttestationRecorded().get_logs(from_block=0, argument_filters={"id": rec["id"]})
        tx = chain.w3.eth.get_transaction(logs[-1]["transactionHash"])
        _, args = c.decode_function_input(tx["input"])
        public = [int(x) for x in args["publicInputs"]]
        a, b, cc = args["a"], args["b"], args["c"]
        dd = args.get("d")  # a lookup proof's D (submitLookupAttestation)
        row.checks["claim"] = (D.claim_hash(public) == rec["claim_hash"], "keccak256 of the submitted public inputs")
        if facts["vk"] is not None:
            proof = Proof(a=(int(a[0]), int(a[1])), b=((int(b[0][1]), int(b[0][0])), (int(b[1][1]), int(b[1][0]))),
                          c=(int(cc[0]), int(cc[1])), d=None if dd is None else (int(dd[0]), int(dd[1])))
            try:
                ok = verify(facts["vk"], public, proof)
                row.checks["proof"] = (ok, ("verifies" if ok else "does not verify") + f" ({selected()})")
            except FormatError as e:
                row.checks["proof"] = (False, str(e))
            try:
                call_args = (a, b, cc, public) if dd is None else (a, b, cc, dd, public)
                on = bool(chain.w3.eth.contract(address=v["address"], abi=facts["abi"]).functions.verifyProof(*call_args).call())
            except Exception as e:  # a reverting or foreign contract
                on = False
                detail = f"the call failed ({type(e).__name__})"
            else:
                detail = "verifies" if on else "rejected"
            row.checks["on chain"] = (on, f"{detail} by {v['address']}")
        if committed:  # the key is the architecture's: which weights is the proof's last public signal
            row.checks["weights"] = weights_check(committed, mid, public, onnx_sha, m.get("metadata_uri", ""))
        if expect_id and committed and public:
            from zkml.bundle.private_weights import commitment_hex

            got = D.model_id(onnx_sha, commitment_hex(public[-1]))
            same = got == mid
            row.checks["onnx"] = (same, f"{onnx_file} (the architecture) with the proof's weights commitment hashes to "
                                  f"{got[:18]}…" + ("" if same else f", not {mid[:18]}…"))
        elif expect_id:
            same = expect_id == mid
            row.checks["onnx"] = (same, f"{onnx_file} hashes to {expect_id[:18]}…" + ("" if same else f", not {mid[:18]}…"))
        rows.append(row)
    return rows
