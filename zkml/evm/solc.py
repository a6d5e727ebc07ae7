"""Offline Solidity compilation with one pinned compiler: a native ``solc`` of that exact
version on PATH, else solc-js from node_modules (installed by ``make install``). Never a
download at run time."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from zkml.errors import ZkmlError

SOLC_VERSION = "0.8.37"
ROOT = Path(__file__).resolve().parent.parent.parent
SOLCJS = ROOT / "node_modules" / "solc"

_NODE_COMPILE = r"""
const solc = require(process.argv[1]);
let input = '';
process.stdin.on('data', d => input += d);
process.stdin.on('end', () => {
  const out = solc.compile(input);
  process.stdout.write(JSON.stringify({version: solc.version(), output: JSON.parse(out)}));
});
"""


def _standard_input(source: str, name: str) -> str:
    return json.dumps({
        "language": "Solidity",
        "sources": {f"{name}.sol": {"content": source}},
        "settings": {"optimizer": {"enabled": True, "runs": 200}, "evmVersion": "paris",
                     "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}}},
    })


def _native() -> str | None:
    exe = shutil.which("solc")
    if not exe:
        return None
    out = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    return exe if f"Version: {SOLC_VERSION}+" in out else None


def compile_contract(source: str, name: str) -> dict:
    """{abi, bytecode, deployed_bytecode, compiler} for contract ``name`` in ``source``."""
    std = _standard_input(source, name)
    native = _native()
    if native:
        res = subprocess.run([native, "--standard-json"], input=std, capture_output=True, text=True, timeout=300)
        version, output = f"solc {SOLC_VERSION} (native)", json.loads(res.stdout)
    elif SOLCJS.exists() and shutil.which("node"):
        res = subprocess.run(["node", "-e", _NODE_COMPILE, str(SOLCJS)], input=std, capture_output=True, text=True, timeout=600)
        if res.returncode:
            raise ZkmlError(f"solc-js failed: {res.stderr.strip().splitlines()[-1] if res.stderr.strip() else 'no output'}")
        data = json.loads(res.stdout)
        version, output = f"solc-js {data['version']}", data["output"]
    else:
        raise ZkmlError(f"no Solidity compiler: install solc {SOLC_VERSION} on PATH, or run `make install` "
                        "(it installs solc-js into node_modules)")
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise ZkmlError(f"Solidity compilation failed: {errors[0].get('formattedMessage', errors[0].get('message'))}")
    c = output["contracts"][f"{name}.sol"][name]
    return {"abi": c["abi"], "bytecode": "0x" + c["evm"]["bytecode"]["object"],
            "deployed_bytecode": "0x" + c["evm"]["deployedBytecode"]["object"], "compiler": version}
