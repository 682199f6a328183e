"""`soleflip dev` as a developer runs it: embedded Postgres and NATS, every built service ready;
a service killed with SIGKILL is restarted alone (the others never stop answering ready); then
Ctrl-C (SIGINT) stops everything with exit status 0 and leaves no process behind.

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
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import pytest

from soleflip.common.localinfra._proc import port_is_free
from soleflip.common.localinfra.devstack import DEV_PORTS, NATS_PORT, PG_PORT, built

pytestmark = pytest.mark.slow

START_TIMEOUT_S = 240.0
RESTART_TIMEOUT_S = 90.0
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
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0  # not listening


def _service_process(proc: subprocess.Popen[str], name: str) -> psutil.Process:
    for child in psutil.Process(proc.pid).children(recursive=True):
        if child.cmdline()[-2:] == ["serve", name]:
            return child
    raise AssertionError(f"no `serve {name}` child of soleflip dev")


def _kill_and_watch(proc: subprocess.Popen[str], victim: str, others: list[str]) -> psutil.Process:
    """SIGKILL `victim`; until it answers ready again, every other service must stay ready."""
    _service_process(proc, victim).kill()
    deadline = time.monotonic() + RESTART_TIMEOUT_S
    down_seen = False
    while time.monotonic() < deadline:
        statuses = {name: _ready_status(DEV_PORTS[name]) for name in others}
        assert statuses == dict.fromkeys(others, 200), statuses
        status = _ready_status(DEV_PORTS[victim])
        down_seen = down_seen or status != 200
        if down_seen and status == 200:
            return _service_process(proc, victim)
        time.sleep(0.2)
    pytest.fail(f"{victim} not ready again within {RESTART_TIMEOUT_S}s")


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


@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm"])
def test_dev_serves_every_service_restarts_a_killed_one_alone_and_a_signal_stops_everything(
    data_dir: Path, stop: str
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

        victim = "orders" if "orders" in services else services[-1]
        started.append(_kill_and_watch(proc, victim, [s for s in services if s != victim]))

        if stop == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends, to the group
        else:
            proc.send_signal(signal.SIGTERM)  # what a process manager sends, to dev alone
        proc.wait(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    assert proc.returncode == 0
    assert proc.stdout is not None
    rest = proc.stdout.read()
    assert f"restarting {victim} in 1 s" in rest, rest
    time.sleep(0.5)  # a daemonised postmaster exits just after pg_ctl reports it stopped
    assert _alive(started) == []
    assert all(port_is_free(DEV_PORTS[name]) for name in services)
