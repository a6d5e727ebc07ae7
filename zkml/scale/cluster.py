"""Starting or joining Ray. A local Ray is started inside the command, on 127.0.0.1 only, and
stopped at the end; `--ray HOST:PORT` joins an existing cluster after a bounded TCP check, so an
unreachable address is a one-line error, not a hang."""

from __future__ import annotations

import os
import socket
from contextlib import contextmanager

from zkml.errors import ZkmlError

CONNECT_TIMEOUT_S = 5


def _loopback_env() -> None:
    # Ray 2.60 binds the host's interface address unless told otherwise (see issue 10)
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")  # no core-worker lines among our output


def check_reachable(address: str) -> None:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ZkmlError(f"--ray {address}: expected HOST:PORT of the cluster's head (its GCS port, 6379 by default)")
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as e:
        raise ZkmlError(f"--ray {address}: cannot connect within {CONNECT_TIMEOUT_S} s ({e.strerror or type(e).__name__}); "
                        "is the Ray head running there?") from None


@contextmanager
def ray_session(address: str | None, workers: int):
    """Ray for the length of a command: local (workers CPUs, loopback) or a cluster."""
    _loopback_env()
    import ray

    if address:
        check_reachable(address)
        ray.init(address=address, log_to_driver=False, logging_level="ERROR")
    else:
        ray.init(address="local", num_cpus=workers, include_dashboard=False, _node_ip_address="127.0.0.1",
                 log_to_driver=False, logging_level="ERROR")
    try:
        yield ray
    finally:
        ray.shutdown()
