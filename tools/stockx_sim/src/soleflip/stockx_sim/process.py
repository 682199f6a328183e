"""`soleflip stockx-sim` in a child process, for tests and benchmarks that need the simulator
where StockX would be: on a real port, with its own interpreter and clock."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx

#: importing the simulator and seeding its world takes a second or two; a loaded CI runner more
START_TIMEOUT_S = 30.0


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def served_simulator(**sim_env: object) -> Iterator[str]:
    """Serve a fresh simulator until the block ends; yields its base URL.

    `sim_env` are `SOLEFLIP_SIM_*` settings by their lower-case suffix: `rate_per_s=1`,
    `token_ttl_s=8`, `rotate_refresh_tokens=True`.
    """
    port = free_port()
    env = {**os.environ, "SOLEFLIP_LOG_LEVEL": "warning"}
    env.update({f"SOLEFLIP_SIM_{k.upper()}": str(v).lower() for k, v in sim_env.items()})
    cmd = [sys.executable, "-m", "soleflip.common.cli", "stockx-sim", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc, START_TIMEOUT_S)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                return
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("the StockX simulator did not start")
        time.sleep(0.1)
