"""`soleflip dev` as a developer runs it: embedded Postgres and NATS, every built service ready,
then Ctrl-C (SIGINT) stops everything with exit status 0 and leaves no process behind.

The dev ports are fixed by the contract (services 8000-8003, simulator 8090, Postgres 5433,
NATS 4223), so the test is skipped while anything else holds one of them.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import pytest

from soleflip.common.localinfra._proc import port_is_free
from soleflip.common.localinfra.devstack import DEV_PORTS, NATS_PORT, PG_PORT, built

pytestmark = pytest.mark.slow

START_TIMEOUT_S = 240.0
# Variables that would point `soleflip dev` at external servers instead of the embedded ones.
EXTERNAL = (
    "SOLEFLIP_DATABASE_URL",
    "SOLEFLIP_ADMIN_DATABASE_URL",
    "SOLEFLIP_NATS_URL",
    "SOLEFLIP_NATS_PREFIX",
    "SOLEFLIP_STOCKX_API_URL",
)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    taken = [p for p in [*DEV_PORTS.values(), PG_PORT, NATS_PORT] if not port_is_free(p)]
    if taken:
        pytest.skip(f"dev ports in use: {taken}")
    base = Path(tempfile.mkdtemp(prefix="soleflip-dev-smoke-"))
    base.chmod(0o755)  # as root, Postgres runs as an unprivileged user who must reach its data
    yield base
    shutil.rmtree(base, ignore_errors=True)


def _start(data_dir: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in EXTERNAL}
    cmd = [sys.executable, "-m", "soleflip.common.cli", "dev", "--data-dir", str(data_dir)]
    return subprocess.Popen(
        [*cmd, "--quiet", "--timeout", "120"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a shell job would be
    )


def _wait_until_up(proc: subprocess.Popen[str]) -> str:
    """Read the output until the 'is up' banner; the output so far for failure messages."""
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            pytest.fail(f"soleflip dev exited {proc.returncode}:\n{''.join(seen)}")
        seen.append(line)
        if "SoleFlip dev is up" in line:
            return "".join(seen)
    pytest.fail(f"soleflip dev not up within {START_TIMEOUT_S}s:\n{''.join(seen)}")


def _ready_status(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=5) as answer:
        return int(answer.status)


def _processes_of(proc: subprocess.Popen[str], data_dir: Path) -> list[psutil.Process]:
    """The dev process's descendants plus daemonised servers (Postgres) using `data_dir`."""
    found = {p.pid: p for p in psutil.Process(proc.pid).children(recursive=True)}
    for p in psutil.process_iter(["cmdline"]):
        if str(data_dir) in " ".join(p.info["cmdline"] or []):
            found[p.pid] = p
    return list(found.values())


def _alive(processes: list[psutil.Process]) -> list[str]:
    return [
        f"{p.pid} {' '.join(p.cmdline())}"
        for p in processes
        if p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    ]


def test_dev_serves_every_built_service_and_ctrl_c_stops_everything_cleanly(
    data_dir: Path,
) -> None:
    proc = _start(data_dir)
    try:
        output = _wait_until_up(proc)
        services = [name for name in DEV_PORTS if built(name)]
        assert {name: _ready_status(DEV_PORTS[name]) for name in services} == dict.fromkeys(
            services, 200
        ), output
        started = _processes_of(proc, data_dir)
        assert len(started) >= len(services) + 2, started  # services, Postgres and NATS

        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
        proc.wait(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    assert proc.returncode == 0
    time.sleep(0.5)  # a daemonised postmaster exits just after pg_ctl reports it stopped
    assert _alive(started) == []
    assert all(port_is_free(DEV_PORTS[name]) for name in services)
