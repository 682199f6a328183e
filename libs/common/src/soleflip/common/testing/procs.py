"""`soleflip <command>` in a child process, for tests and benchmarks that need a service where
production has one: on a real port, with its own interpreter and clock. One launcher, so every
caller starts, waits for readiness and stops a process the same way."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping

import httpx

from soleflip.common.localinfra import free_port

#: importing a service (or seeding the simulator's world) takes a second or two; a loaded CI
#: runner more
START_TIMEOUT_S = 30.0


@contextlib.contextmanager
def served(
    *command: str, env: Mapping[str, str] | None = None, timeout_s: float = START_TIMEOUT_S
) -> Iterator[str]:
    """Run `soleflip <command> --port <free port>` until the block ends; yields its base URL
    once `/health/ready` answers 200. `env` adds to (and overrides) this process's environment;
    the child logs at `warning` unless `env` says otherwise."""
    port = free_port()
    full_env = {**os.environ, "SOLEFLIP_LOG_LEVEL": "warning", **(env or {})}
    cmd = [sys.executable, "-m", "soleflip.common.cli", *command, "--port", str(port)]
    proc = subprocess.Popen(cmd, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc, " ".join(command), timeout_s)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_ready(url: str, proc: subprocess.Popen[bytes], what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                return
        if proc.poll() is not None:
            raise RuntimeError(f"soleflip {what} exited with {proc.returncode} before it was ready")
        if time.monotonic() > deadline:
            raise RuntimeError(f"soleflip {what} was not ready within {timeout_s:g} s")
        time.sleep(0.1)
