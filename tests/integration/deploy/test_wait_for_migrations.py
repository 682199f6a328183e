"""The initContainer script deploy/k8s/base/scripts/wait_for_migrations.py, on a real Postgres."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "deploy/k8s/base/scripts/wait_for_migrations.py"
SERVICE = "catalog"

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec(f"soleflip.{SERVICE}") is None,
    reason=f"soleflip.{SERVICE} is not installed: no migrations to wait for",
)


def run(args: list[str], dsn: str, *, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOLEFLIP_", "PG"))}
    env |= {"SOLEFLIP_DATABASE_URL": dsn, "SOLEFLIP_ADMIN_DATABASE_URL": dsn}
    return subprocess.run(
        args, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_waiting_fails_at_the_timeout_while_the_schema_is_not_migrated(
    fresh_database: str,
) -> None:
    result = run([sys.executable, str(SCRIPT), SERVICE, "--timeout", "1"], fresh_database)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "still missing" in result.stdout


def test_waiting_succeeds_once_migrate_has_applied_everything(fresh_database: str) -> None:
    soleflip = Path(sys.executable).with_name("soleflip")
    migrated = run([str(soleflip), "migrate", SERVICE], fresh_database)
    assert migrated.returncode == 0, migrated.stderr
    result = run([sys.executable, str(SCRIPT), SERVICE, "--timeout", "10"], fresh_database)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "applied" in result.stdout
