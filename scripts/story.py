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

    role("INSURER", "test the evaluation attestation against a policy")
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
    strict = out / "policy-strict.toml"
    strict.write_text(policy.read_text().replace("min_accuracy = 0.75", "min_accuracy = 0.75\nmin_samples = 500"))
    print(f"\na stricter policy asks for at least 500 samples ({strict}):")
    zkml("check", str(ev), "--policy", str(strict), expect=1)

    role("MODEL OWNER", "revoke the evaluation attestation")
    zkml("attest", "revoke", str(ev), "--private-key-file", str(key))
    role("INSURER and AUDITOR", "see the revocation")
    zkml("check", str(ev), "--policy", str(policy), expect=1)
    zkml("audit", "--registry", registry)
    print("\nstory finished: the embedded chain ends with this process; with `zkml chain up` and --rpc it persists.")


if __name__ == "__main__":
    main_story(Path(sys.argv[1] if len(sys.argv) > 1 else "demo-out"))
