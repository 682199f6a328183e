"""`soleflip migrate` against a real Postgres: applies once, then is a no-op."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from soleflip.common import cli


def _migrate(dsn: str, target: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOLEFLIP_DATABASE_URL": dsn}
    env.pop("SOLEFLIP_ADMIN_DATABASE_URL", None)
    cmd = [sys.executable, "-m", "soleflip.common.cli", "migrate", target]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)


def test_migrate_all_applies_each_schema_once(fresh_database: str) -> None:
    targets = cli.migration_targets("all")
    if not targets:
        pytest.skip("no service with migrations is built yet")
    first = _migrate(fresh_database, "all")
    assert first.returncode == 0, first.stderr
    for service in targets:
        assert f"migrate {service}: " in first.stdout
        assert f"migrate {service}: 0 applied" not in first.stdout
    again = _migrate(fresh_database, "all")
    assert again.returncode == 0, again.stderr
    for service in targets:
        assert f"migrate {service}: 0 applied" in again.stdout


def test_migrate_reports_an_unreachable_database_without_a_traceback() -> None:
    targets = cli.migration_targets("all")
    if not targets:
        pytest.skip("no service with migrations is built yet")
    done = _migrate("postgresql://postgres@127.0.0.1:1/none", targets[0])
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"soleflip: error: migrate {targets[0]}: Postgres is unreachable"), line
    assert "Traceback" not in done.stderr
