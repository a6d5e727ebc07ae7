"""The Python API: the CLI's commands as functions that return objects (zkml/api/results.py)
and raise ``zkml.errors`` types with the CLI's messages, instead of printing and exiting. The
CLI (zkml/cli.py) is a layer over these that prints and sets exit codes.

    zkml.compile, zkml.setup         zkml/api/bundles.py
    zkml.prove, zkml.verify          zkml/api/proofs.py
    zkml.attest.evaluate (keygen, sign)  zkml/api/attestations.py
    zkml.check                       zkml/api/policy_check.py

Every module here imports the stages (compiler, groth16, onnx, numba) inside its functions, so
``import zkml`` and ``zkml --version`` stay cheap.
"""

from zkml.api.attestations import evaluate, keygen, sign
from zkml.api.bundles import compile, setup  # noqa: A004 (the CLI's name)
from zkml.api.policy_check import check
from zkml.api.proofs import prove, verify
from zkml.api.results import BatchVerification, Bundle, Evaluation, Keys, Proof, Report, Rule, Verification

__all__ = ["BatchVerification", "Bundle", "Evaluation", "Keys", "Proof", "Report", "Rule", "Verification",
           "check", "compile", "evaluate", "keygen", "prove", "setup", "sign", "verify"]
