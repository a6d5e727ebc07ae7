"""The attestation story, as each role would type it, on one embedded chain.

The embedded EVM lives inside one process, so this script runs the `zkml` commands in-process
(the same click commands the shell runs) and they all see the same chain. With a real node the
same commands take `--rpc URL` and run one by one from a shell.

Usage: python scripts/story.py OUT_DIR   (after scripts/demo.sh made OUT_DIR/circuits/digits_cnn
and OUT_DIR/digit.proof.json)
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import click

from zkml.cli import main


def zkml(*args: str, expect: int = 0) -> None:
    print(f"\n$ zkml {shlex.join(args)}", flush=True)
    try:
        code = main.main(list(args), prog_name="zkml", standalone_mode=False) or 0
    except SystemExit as e:
        code = e.code or 0
    except click.exceptions.Exit as e:
        code = e.exit_code
    sys.stdout.flush()
    if code != expect:
        print(f"story: expected exit code {expect}, got {code}", file=sys.stderr)
        sys.exit(1)
    if code:
        print(f"(exit code {code}, as expected)")


def role(name: str, what: str) -> None:
    print(f"\n{'=' * 100}\n{name}: {what}\n{'=' * 100}", flush=True)


def main_story(out: Path) -> None:
    bundle = out / "circuits" / "digits_cnn"
    inf, ev = out / "digit.attestation.json", out / "evaluation.attestation.json"
    key = out / "owner.key"
    key.unlink(missing_ok=True)

    role("MODEL OWNER", "attest an inference and an evaluation on the test split, sign, publish")
    zkml("attest", "keygen", str(key))
    zkml("attest", "inference", str(out / "digit.proof.json"), "-o", str(inf))
    zkml("attest", "evaluate", str(bundle), "--data", "models/digits_cnn_test.npz", "--samples", "8", "-o", str(ev))
    zkml("attest", "sign", str(inf), "--private-key-file", str(key))
    zkml("attest", "sign", str(ev), "--private-key-file", str(key))
    zkml("attest", "publish", str(inf))
    registry = json.loads(inf.read_text())["chain"]["registry"]
    zkml("attest", "publish", str(ev), "--registry", registry)

    role("AUDITOR", "re-check everything the registry holds, and that the ONNX file is the registered model")
    zkml("audit", "--registry", registry, "--onnx", "models/digits_cnn.onnx")

    role("INSURER", "test the evaluation attestation against a policy (the claim carries every class's counts)")
    doc = json.loads(ev.read_text())
    policy = out / "policy.toml"
    policy.write_text(
        "[policy]\n"
        f'signers = ["{doc["signature"]["signer"]}"]\n'
        f'models = ["{doc["claim"]["model_id"]}"]\n'
        'kinds = ["evaluation"]\n'
        "min_accuracy = 0.75\n"
        "max_age_days = 30\n"
        "require_onchain = true\n")
    print(f"\n{policy}:\n{policy.read_text()}", end="")
    zkml("check", str(ev), "--policy", str(policy))

    role("MODEL OWNER", "revoke the inference attestation")
    zkml("attest", "revoke", str(inf), "--private-key-file", str(key))
    role("INSURER and AUDITOR", "see the revocation")
    any_kind = out / "policy-any-kind.toml"
    any_kind.write_text(f'[policy]\nsigners = ["{doc["signature"]["signer"]}"]\nrequire_onchain = true\n')
    zkml("check", str(inf), "--policy", str(any_kind), expect=1)
    zkml("audit", "--registry", registry)

    role("INSURER", "price the evidence: per-class recall, and how sure 8 samples can make anyone")
    pc = doc["claim"]["metric"]["per_class"]
    cls = max(range(len(pc["tp"])), key=lambda c: (pc["fn"][c] == 0, pc["tp"][c]))  # a class it gets all right
    strict = out / "policy-strict.toml"
    strict.write_text(policy.read_text().replace(
        "min_accuracy = 0.75\n",
        f'min_accuracy = 0.75\nmin_recall = {{ "{cls}" = 0.9 }}\nmin_accuracy_lower_bound = 0.95\nconfidence = 0.95\n'))
    print(f"\n{strict}: class {cls}'s recall at least 0.9, and accuracy at least 0.95 with 95% confidence "
          "(the exact Clopper-Pearson bound from the proved counts):\n" + strict.read_text(), end="")
    zkml("check", str(ev), "--policy", str(strict), expect=1)
    print("\n8 of 8 right bounds the accuracy only above 0.688 at 95% confidence: a 95% claim needs at least 59 "
          "samples, all right (0.05^(1/59) = 0.9505).")

    role("MODEL OWNER", "export the signed evaluation for tools that read EAS and in-toto")
    zkml("attest", "export", str(ev), "--format", "eas", "--private-key-file", str(key))
    zkml("attest", "export", str(ev), "--format", "in-toto", "--private-key-file", str(key),
         "--model", "models/digits_cnn.onnx")
    eas = json.loads((out / "evaluation.eas.json").read_text())
    print(f"EAS: schema {eas['schema']['uid']}\n     \"{eas['schema']['definition']}\"\n"
          f"     domain {eas['sig']['domain']}")
    envelope = json.loads((out / "evaluation.intoto.json").read_text())
    import base64

    statement = json.loads(base64.b64decode(envelope["payload"]))
    print(f"in-toto: {statement['_type']}, subject {statement['subject']}, DSSE keyid {envelope['signatures'][0]['keyid']}")
    print("\nstory finished: the embedded chain ends with this process; with `zkml chain up` and --rpc it persists.")


if __name__ == "__main__":
    main_story(Path(sys.argv[1] if len(sys.argv) > 1 else "demo-out"))
