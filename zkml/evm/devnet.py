"""A local anvil devnet (npm package @foundry-rs/anvil-linux-amd64), bound to 127.0.0.1, with
its state persisted in a data folder so deploy and verify can be separate commands."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from zkml.errors import ZkmlError

ROOT = Path(__file__).resolve().parent.parent.parent
ANVIL = ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
DEFAULT_DIR = Path(".zkml-chain")
# anvil funds the accounts of this public development mnemonic; never use it on a real chain
DEV_MNEMONIC = "test test test test test test test test test test test junk"


def dev_key() -> str:
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(DEV_MNEMONIC, account_path="m/44'/60'/0'/0/0").key.hex()


def _info(data_dir: Path) -> dict | None:
    """The running devnet's record, or None; a damaged record is one line naming it."""
    from zkml.formats.jsonfile import field, read_json

    f = Path(data_dir) / "chain.json"
    if not f.exists():
        return None
    info = read_json(f)
    where = f"{f} (delete it if no devnet runs)"
    for name, kind in (("pid", int), ("rpc", str), ("chain_id", int)):
        field(info, name, kind, where)
    return info


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def up(data_dir: Path = DEFAULT_DIR, port: int = 8545, chain_id: int = 31337) -> dict:
    data_dir = Path(data_dir)
    info = _info(data_dir)
    if info and _alive(info["pid"]):
        return info
    if not ANVIL.exists():
        raise ZkmlError("anvil is not installed: run `make install` (npm package @foundry-rs/anvil-linux-amd64)")
    data_dir.mkdir(parents=True, exist_ok=True)
    log = open(data_dir / "anvil.log", "ab")
    proc = subprocess.Popen(
        [str(ANVIL), "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(chain_id),
         "--state", str(data_dir / "state.json"), "--silent"],
        stdout=log, stderr=log, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        if proc.poll() is not None:
            raise ZkmlError(f"anvil exited at start (see {data_dir / 'anvil.log'}); is port {port} in use?")
        if _rpc_ok(url):
            break
        time.sleep(0.1)
    else:
        proc.terminate()
        raise ZkmlError(f"anvil did not answer on {url} within 10 s (see {data_dir / 'anvil.log'})")
    info = {"pid": proc.pid, "rpc": url, "chain_id": chain_id, "data_dir": str(data_dir)}
    (data_dir / "chain.json").write_text(json.dumps(info))
    (data_dir / "dev.key").write_text(dev_key() + "\n")
    os.chmod(data_dir / "dev.key", 0o600)
    return info


def _rpc_ok(url: str) -> bool:
    from web3 import Web3

    try:  # loopback only: the devnet this module started
        return int(Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 1})).eth.chain_id) > 0
    except Exception:
        return False


def down(data_dir: Path = DEFAULT_DIR) -> bool:
    info = _info(Path(data_dir))
    if not info or not _alive(info["pid"]):
        return False
    os.killpg(info["pid"], signal.SIGTERM)  # anvil writes its state on the way out
    for _ in range(50):
        if not _alive(info["pid"]):
            break
        time.sleep(0.1)
    return True


def status(data_dir: Path = DEFAULT_DIR) -> dict | None:
    info = _info(Path(data_dir))
    if not info or not _alive(info["pid"]) or not _rpc_ok(info["rpc"]):
        return None
    return info
