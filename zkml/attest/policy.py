"""The insurer's side: test one attestation against a policy file and say PASS or FAIL per rule,
with the reason. A rule that cannot be checked (no chain to ask, an unreadable document) is never
a PASS: it raises ``CannotCheck`` and the command exits 2.

    [policy]                      # policy.toml
    signers = ["0x…"]             # required: addresses allowed to sign attestations
    models = ["0x…"]              # model ids accepted (default: any)
    kinds = ["evaluation"]        # claim kinds accepted (default: any)
    min_accuracy = 0.9            # evaluations: proved correct / n at least this
    min_accuracy_lower_bound = 0.95  # evaluations: the exact lower confidence bound on accuracy
    min_recall = {pedestrian = 0.9}  # evaluations: TP / (TP + FN) of each named class (name or index)
    min_recall_lower_bound = {3 = 0.9}  # evaluations: the exact lower confidence bound on recall
    confidence = 0.95             # the bounds' confidence level, in (0, 1) (default 0.95)
    min_samples = 100             # evaluations: n at least this
    max_age_days = 30             # issued no longer ago than this
    require_onchain = true        # recorded in its registry, not revoked (default true)
    require_key_check = true      # the key is made for the ONNX model's circuit (needs --onnx; default false)
    weights_commitment = "0x…"    # --weights committed: the registered weights commitment(s), hex or decimal
                                  # (or a list); a proof under other weights fails, naming both

Every document's ``valid_until`` is a rule of its own ("expiry"): past it, the check fails naming
the date. The bounds are one-sided Clopper-Pearson (zkml/attest/confidence.py) from the proved
counts; the report prints each bound with its N and the rule, so "8 of 8 right" reads as
"accuracy >= 0.688 at 95% confidence", not as 100%.
"""

from __future__ import annotations

import re
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from zkml.attest import document as D
from zkml.errors import CannotCheck, ZkmlError


@dataclass
class Policy:
    signers: list[str]
    models: list[str]
    kinds: list[str]
    min_accuracy: float | None
    min_samples: int | None
    max_age_days: float | None
    require_onchain: bool
    require_key_check: bool = False
    min_accuracy_lower_bound: float | None = None
    min_recall: dict[str, float] = field(default_factory=dict)
    min_recall_lower_bound: dict[str, float] = field(default_factory=dict)
    confidence: float = 0.95
    path: str = "policy"
    weights_commitments: list[int] = field(default_factory=list)


MAX_POLICY_BYTES = 1 << 20  # a policy is a few lines of TOML
MAX_POLICY_DEPTH = 16  # its deepest value is a list of strings under a table header

_TYPES = {"signers": list, "models": list, "kinds": list, "min_accuracy": (int, float),
          "min_samples": int, "max_age_days": (int, float), "require_onchain": bool,
          "require_key_check": bool, "min_accuracy_lower_bound": (int, float), "min_recall": dict, "min_recall_lower_bound": dict,
          "confidence": (int, float), "weights_commitment": (str, list)}


def _line_of(text: str, key: str) -> int | None:
    for i, line in enumerate(text.splitlines(), 1):
        if re.match(rf"\s*{re.escape(key)}\s*=", line):
            return i
    return None


def read_policy(path: Path) -> Policy:
    from zkml.formats.jsonfile import nesting_depth, read_limited

    path = Path(path)
    raw = read_limited(path, MAX_POLICY_BYTES, CannotCheck)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CannotCheck(f"{path}: the policy is not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start})") from None
    depth = nesting_depth(raw)  # tomllib recurses per nested array: refuse deep ones before it does
    if depth > MAX_POLICY_DEPTH:
        raise CannotCheck(f"{path}: brackets nested {depth} levels deep (at most {MAX_POLICY_DEPTH}); not a policy file")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise CannotCheck(f"{path}: not valid TOML: {e}") from None  # tomllib names line and column
    except RecursionError:
        raise CannotCheck(f"{path}: nested too deeply to be a policy file") from None

    def fail(key: str, msg: str):
        line = _line_of(text, key)
        raise CannotCheck(f"{path}" + (f", line {line}" if line else "") + f": {msg}")

    p = data.get("policy", data)
    if not isinstance(p, dict):
        raise CannotCheck(f"{path}: [policy] must be a table")
    for key, value in p.items():
        if key not in _TYPES:
            fail(key, f"unknown key '{key}'; known keys: {', '.join(_TYPES)}")
        if isinstance(value, bool) and _TYPES[key] is not bool or not isinstance(value, _TYPES[key]):
            fail(key, f"'{key}' has the wrong type ({type(value).__name__})")
    for key in ("signers", "models", "kinds"):
        if key in p and not all(isinstance(x, str) for x in p[key]):
            fail(key, f"'{key}' must be a list of strings")
    for a in p.get("signers", []):
        if not re.fullmatch(r"0x[0-9a-fA-F]{40}", a):
            fail("signers", f"signer {a!r} is not a 0x address of 20 bytes")
    for m in p.get("models", []):
        if not re.fullmatch(r"0x[0-9a-fA-F]{64}", m):
            fail("models", f"model id {m!r} is not 0x and 32 bytes of hex")
    for k in p.get("kinds", []):
        if k not in D.KINDS:
            fail("kinds", f"kind {k!r} is not one of {', '.join(D.KINDS)}")
    for key in ("min_accuracy", "min_accuracy_lower_bound"):
        if key in p and not 0 <= p[key] <= 1:
            fail(key, f"{key} must lie between 0 and 1")
    if "confidence" in p and not 0 < p["confidence"] < 1:
        fail("confidence", f"confidence = {p['confidence']} must lie strictly between 0 and 1 (e.g. 0.95)")
    for key in ("min_recall", "min_recall_lower_bound"):
        for cls, v in p.get(key, {}).items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
                fail(key, f"{key}: the recall of class {cls!r} must be a number between 0 and 1")
    commitments = []
    wc = p.get("weights_commitment", [])
    for v in [wc] if isinstance(wc, str) else wc:
        value = _commitment_value(v)
        if value is None:
            fail("weights_commitment", f"weights_commitment {str(v)[:80]!r} is not a commitment (0x and 64 hex "
                 "digits, or a decimal below the field modulus, as the bundle's manifest weights.commitment gives it)")
        commitments.append(value)
    if not p.get("signers"):
        raise CannotCheck(f"{path}: 'signers' (the allow-list of signer addresses) is required under [policy]")
    return Policy([s.lower() for s in p["signers"]], [m.lower() for m in p.get("models", [])], list(p.get("kinds", [])),
                  p.get("min_accuracy"), p.get("min_samples"), p.get("max_age_days"), p.get("require_onchain", True),
                  p.get("require_key_check", False), p.get("min_accuracy_lower_bound"), dict(p.get("min_recall", {})),
                  dict(p.get("min_recall_lower_bound", {})), float(p.get("confidence", 0.95)), str(path), commitments)


def _commitment_value(v) -> int | None:
    """A weights commitment as the policy writes it: hex (64 digits, 0x optional) or decimal."""
    from zkml.crypto.bn254 import R

    if not isinstance(v, str):
        return None
    t = v.strip().lower()
    try:
        if t.startswith("0x") or (len(t) == 64 and not t.isdigit()):
            t = t.removeprefix("0x")
            value = int(t, 16) if len(t) == 64 else None
        else:
            value = int(t, 10) if t.isdigit() else None
    except ValueError:
        return None
    return value if value is not None and value < R else None


def weights_rule(doc: dict, policy: Policy) -> tuple[str, bool, str]:
    """The ``weights`` rule: a --weights committed attestation's commitment (its claim's
    weights_sha256, which its public signals and model id carry) is one the policy names."""
    c = doc["claim"]
    wanted = ", ".join(_short(v) for v in policy.weights_commitments)
    if not D.weights_committed(doc):
        return ("weights", False, f"the model's weights are fixed in its circuit (weights sha256 "
                f"{c['weights_sha256'][:16]}…), not committed; the policy requires weights commitment {wanted}")
    got = int(c["weights_sha256"], 16)
    if got in policy.weights_commitments:
        return ("weights", True, f"weights commitment {_short(got)} is the registered one")
    return ("weights", False, f"proved under weights commitment {_short(got)}, not the registered {wanted}: "
            "these are other weights")


def _short(v: int) -> str:
    """A commitment as messages show it: 0x and its first 16 of 64 hex digits."""
    return f"0x{v:064x}"[:18] + "…"


def class_index(policy: Policy, key: str, rule: str, metric: dict) -> int:
    """The class a policy names, by the claim's class names or by index; CannotCheck when the
    model has no such class."""
    pc = metric["per_class"]
    names = pc.get("names")
    n_classes = len(pc["tp"])
    if names and key in names:
        return names.index(key)
    if key.isdigit() and int(key) < n_classes:  # by index (the output's position)
        return int(key)
    known = ", ".join(repr(x) for x in names) if names else f"0..{n_classes - 1}"
    raise CannotCheck(f"{policy.path}: {rule} names class {key!r}, which the attestation's model lacks "
                      f"(its classes: {known})")


def _metric_rules(c: dict, policy: Policy) -> list[tuple[str, bool, str]]:
    """The accuracy-bound and recall rules, each reporting its bound, N and the requirement."""
    from zkml.attest.confidence import lower_bound

    wanted = (policy.min_accuracy_lower_bound is not None or policy.min_recall or policy.min_recall_lower_bound)
    if not wanted:
        return []
    m = c.get("metric")
    if c["kind"] != "evaluation" or not m:
        return [("metric", False, "not an evaluation: no accuracy or recall to bound")]
    conf = policy.confidence
    pct = f"{conf * 100:g}%"
    out = []
    if policy.min_accuracy_lower_bound is not None:
        lb = lower_bound(m["correct"], m["n"], conf)
        want = policy.min_accuracy_lower_bound
        out.append(("accuracy", lb >= want,
                    f"{m['correct']}/{m['n']} right: accuracy >= {lb:.4f} at {pct} confidence (exact, N = {m['n']}); "
                    f"required min_accuracy_lower_bound {want}"))
    for key, bounded in [(k, False) for k in policy.min_recall] + [(k, True) for k in policy.min_recall_lower_bound]:
        rule = "min_recall_lower_bound" if bounded else "min_recall"
        want = (policy.min_recall_lower_bound if bounded else policy.min_recall)[key]
        cls = class_index(policy, key, rule, m)
        tp, fn = m["per_class"]["tp"][cls], m["per_class"]["fn"][cls]
        name = f"recall {key}"
        if tp + fn == 0:
            out.append((name, False, f"class {key!r} has no samples in the evaluation; required {rule} {want}"))
            continue
        point, lb = tp / (tp + fn), lower_bound(tp, tp + fn, conf)
        got = lb if bounded else point
        out.append((name, got >= want, f"class {key!r}: {tp}/{tp + fn} found = {point:.3f}, >= {lb:.4f} at {pct} "
                    f"confidence (exact, N = {tp + fn}); required {rule} {want}"))
    return out


def expiry(doc: dict, now: float) -> tuple[str, bool, str]:
    vu = doc.get("valid_until")
    if vu is None:
        return ("expiry", True, "no expiry date (valid_until absent)")
    if now >= vu:
        return ("expiry", False, f"expired on {D.utc(vu)} (valid_until); renew it with `zkml attest renew`")
    return ("expiry", True, f"valid until {D.utc(vu)}")


def key_rule(doc: dict, onnx_file: Path | None, ptau: Path | None = None, bundle: Path | None = None) -> tuple[str, bool, str]:
    """The ``key`` rule: the attestation's verifying key is the key of the bundle it names (or
    ``bundle``), made for the circuit ``onnx_file`` compiles to (zkml/bundle/key_binding.py)."""
    from zkml.bundle.key_binding import verify_bundle_key

    if onnx_file is None:
        raise CannotCheck("the policy requires a key check (require_key_check): pass --onnx MODEL")
    folder = bundle or doc["circuit"].get("bundle_path")
    if not folder:
        raise CannotCheck("the policy requires a key check, and the attestation names no bundle: pass --bundle")
    try:
        rep = verify_bundle_key(Path(folder), onnx_file, ptau, vk_json=doc["circuit"]["verifying_key"])
    except ZkmlError as e:
        raise CannotCheck(f"key check: {e}") from None
    return ("key", rep.ok, rep.line())


def check(doc: dict, policy: Policy, chain=None, now: float | None = None, where: str = "attestation",
          onnx_file: Path | None = None, ptau: Path | None = None, bundle: Path | None = None) -> list[tuple[str, bool, str]]:
    """[(rule, passed, reason)] in a fixed order."""
    now = time.time() if now is None else now
    c = doc["claim"]
    results = []
    ok, reason = D.check_proof(doc, where)
    results.append(("proof", ok, reason))
    signer = D.recover_signer(doc)  # the signature covers every field but chain (D.canonical_document)
    if signer is None:
        reason = "unsigned" if not doc.get("signature") else (
            "the signature does not cover the document as it is (a field was changed after signing) "
            "or was not made by its stated signer")
    else:
        reason = f"signed by {signer}" + ("" if signer.lower() in policy.signers else ", who is not on the allow-list")
    results.append(("signer", signer is not None and signer.lower() in policy.signers, reason))
    if policy.models:
        inside = c["model_id"].lower() in policy.models
        results.append(("model", inside, f"model {c['model_id'][:18]}… is " + ("" if inside else "not ") + "on the policy's list"))
    if policy.kinds:
        results.append(("kind", c["kind"] in policy.kinds, f"an {c['kind']} claim; accepted: {', '.join(policy.kinds)}"))
    if policy.min_accuracy is not None or policy.min_samples is not None:
        m = c.get("metric")
        if c["kind"] != "evaluation" or not m:
            results.append(("metric", False, "not an evaluation: no metric to compare"))
        elif m["n"] == 0:
            results.append(("metric", False, "the evaluation covers no samples (n = 0)"))
        else:
            acc = m["correct"] / m["n"]
            good = (policy.min_accuracy is None or acc >= policy.min_accuracy) and \
                   (policy.min_samples is None or m["n"] >= policy.min_samples)
            want = [f"accuracy >= {policy.min_accuracy}" if policy.min_accuracy is not None else "",
                    f"n >= {policy.min_samples}" if policy.min_samples is not None else ""]
            results.append(("metric", good, f"proved {m['correct']}/{m['n']} = {acc:.3f} right "
                            f"(claim: at least {m['k']}); required {' and '.join(w for w in want if w)}"))
    if policy.weights_commitments:
        results.append(weights_rule(doc, policy))
    results += _metric_rules(c, policy)
    results.append(expiry(doc, now))
    if policy.max_age_days is not None:
        age = (now - doc["issued_at"]) / 86400
        skew = 1 / 24  # an hour of clock difference is tolerated
        results.append(("age", -skew <= age <= policy.max_age_days,
                        f"issued {age:.1f} days ago, limit {policy.max_age_days}" if age >= -skew else "issued in the future"))
    if policy.require_onchain:
        results.append(anchored(doc, chain))
    if policy.require_key_check:
        results.append(key_rule(doc, onnx_file, ptau, bundle))
    return results


def anchored(doc: dict, chain) -> tuple[str, bool, str]:
    """Recorded in its registry for this claim, model and verifying key, and not revoked."""
    from zkml.evm import registry as REG

    ch = doc.get("chain")
    if not ch:
        return ("on chain", False, "never published to a registry")
    if chain is None:
        raise CannotCheck(f"the policy requires on-chain anchoring: pass --rpc to a node of chain {ch['chain_id']}")
    if chain.chain_id != ch["chain_id"]:
        raise CannotCheck(f"the attestation is anchored on chain {ch['chain_id']}, the node is chain {chain.chain_id}")
    if chain.name == "embedded chain" and not chain.w3.eth.get_code(chain.w3.to_checksum_address(ch["registry"])):
        raise CannotCheck("the attestation's registry is not on this process's embedded chain; pass --rpc to the "
                          f"node of chain {ch['chain_id']} where it was published")
    try:
        recs = REG.attestations(chain, ch["registry"])
    except ZkmlError as e:
        return ("on chain", False, str(e))
    if not 0 <= ch["attestation_id"] < len(recs):
        return ("on chain", False, f"registry {ch['registry']} holds no attestation {ch['attestation_id']}")
    rec = recs[ch["attestation_id"]]
    c = doc["claim"]
    if rec["claim_hash"] != c["claim_hash"].lower() or rec["model_id"] != c["model_id"].lower():
        return ("on chain", False, f"attestation {ch['attestation_id']} of the registry is for another claim or model")
    if rec["valid_until"] != (doc.get("valid_until") or 0):
        return ("on chain", False, f"attestation {ch['attestation_id']} is recorded valid until "
                f"{D.utc(rec['valid_until']) if rec['valid_until'] else 'no date'}, the document says otherwise")
    m = REG.model(chain, ch["registry"], bytes.fromhex(c["model_id"][2:]))
    v = m["verifiers"][rec["verifier_index"]]
    if v["vk_hash"].hex() != doc["circuit"]["vk_sha256"]:
        return ("on chain", False, "the registry verified it under another verifying key than the document's")
    if m["revoked"]:
        return ("on chain", False, "the model is revoked by its owner")
    if rec["revoked"]:
        return ("on chain", False, f"attestation {ch['attestation_id']} is revoked by the model's owner")
    return ("on chain", True, f"recorded as attestation {ch['attestation_id']} in block {rec['block']} of chain {ch['chain_id']}")
