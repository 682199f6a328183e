"""Operator commands under failure, as an operator runs them (own process, real NATS): with NATS
or Postgres unreachable each prints one line naming it and exits 1, without a traceback and
without waiting out a connect timeout; next to a `soleflip dev` they find its URLs in dev.env."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from soleflip.common.bus import Names
from soleflip.common.cli_env import write_env_values
from soleflip.common.localinfra import free_port

FERNET = "kO7mV1m2ZqB8y0pX3r9cS5sQb6tWn4uYh2dJfLgA1eE="  # a fixed test key, never a real one


def closed_url(scheme: str) -> str:
    """A URL nobody listens on (a free port, not bound)."""
    user = "postgres@" if scheme == "postgresql" else ""
    return f"{scheme}://{user}127.0.0.1:{free_port()}" + ("/x" if user else "")


def run_cli(
    *args: str, env: dict[str, str], cwd: Path | None = None
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "soleflip.common.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done, time.monotonic() - started


def base_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOLEFLIP_")}
    return env | {"SOLEFLIP_FERNET_KEYS": FERNET} | values


COMMANDS = [
    (("dlq", "list"), "NATS"),
    (("sync", "orders"), "Postgres"),
    (("sync", "catalog"), "Postgres"),
    (("sync", "market"), "Postgres"),
    (("migrate", "all"), "Postgres"),
]


@pytest.mark.parametrize(("args", "named"), COMMANDS, ids=[" ".join(a) for a, _ in COMMANDS])
def test_an_unreachable_dependency_is_one_line_and_exit_1(
    args: tuple[str, ...], named: str, tmp_path: Path
) -> None:
    pg, nats = closed_url("postgresql"), closed_url("nats")
    env = base_env(SOLEFLIP_DATABASE_URL=pg, SOLEFLIP_NATS_URL=nats)
    done, took = run_cli(*args, env=env, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"soleflip: error: {' '.join(args)}: "), line
    assert f"{named} is unreachable at 127.0.0.1:" in line
    assert "Traceback" not in done.stderr
    assert took < 30  # no 30 s first-connect wait


def test_sync_names_nats_when_only_nats_is_down(database_url: str, tmp_path: Path) -> None:
    env = base_env(SOLEFLIP_DATABASE_URL=database_url, SOLEFLIP_NATS_URL=closed_url("nats"))
    done, _ = run_cli("sync", "orders", env=env, cwd=tmp_path)
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert "NATS is unreachable" in line


def test_dlq_list_next_to_soleflip_dev_finds_its_nats_in_dev_env(
    nats_url: str, names: Names, tmp_path: Path
) -> None:
    dev_env = tmp_path / ".soleflip" / "dev.env"
    dev_env.parent.mkdir()
    write_env_values(dev_env, {"SOLEFLIP_NATS_URL": nats_url, "SOLEFLIP_NATS_PREFIX": names.prefix})
    done, _ = run_cli("dlq", "list", env=base_env(), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # no dead letters: nothing on stdout

    # The environment wins over dev.env: the closed port is the one reported.
    closed = closed_url("nats")
    done, _ = run_cli("dlq", "list", env=base_env(SOLEFLIP_NATS_URL=closed), cwd=tmp_path / ".")
    assert done.returncode == 1
    assert closed.removeprefix("nats://") in done.stderr
