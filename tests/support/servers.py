"""Servers of a test's own, which it may stop and start (never the shared ones every test uses)."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from soleflip.common.localinfra import (
    InfraError,
    PostgresServer,
    find_postgres_bin,
    unprivileged_user,
)


@contextlib.contextmanager
def own_postgres(prefix: str) -> Iterator[PostgresServer]:
    """A started throwaway Postgres on a free port; skips the test without local binaries."""
    try:
        find_postgres_bin(unprivileged_user())
    except InfraError as exc:
        pytest.skip(f"no local Postgres binaries: {exc}")
    base = Path(tempfile.mkdtemp(prefix=prefix))
    base.chmod(0o755)  # when root, Postgres runs as an unprivileged user who must reach it
    pg = PostgresServer(base, durable=False)
    pg.start()
    try:
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(base, ignore_errors=True)
