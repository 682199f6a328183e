"""CatalogService fixtures: the simulator in its own process, a migrated `catalog` schema, a StockX
client and a pool on one test's database and NATS namespace."""

from __future__ import annotations

import importlib.resources
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from soleflip.catalog.app import SERVICE, build_service
from soleflip.catalog.service import CatalogService
from soleflip.catalog.settings import CatalogSettings
from soleflip.common.bus import Names, connect, disconnect
from soleflip.common.db import create_pool, migrate
from soleflip.common.settings import Settings
from soleflip.common.stockx import StockXClient
from tests.support.sim import Sim, settings_for, simulator_process


@pytest.fixture(scope="session")
def sim_url() -> Iterator[str]:
    with simulator_process() as url:
        yield url


@pytest.fixture
def sim(sim_url: str) -> Sim:
    return Sim(sim_url)


@pytest.fixture
async def catalog_settings(
    fresh_database: str, nats_url: str, names: Names, sim_url: str
) -> Settings:
    migrations = importlib.resources.files("soleflip.catalog").joinpath("migrations")
    await migrate(fresh_database, SERVICE, migrations)
    return settings_for(fresh_database, nats_url, names, sim_url)


@pytest.fixture
async def pool(catalog_settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(catalog_settings.database_url, schema=SERVICE, max_size=8)
    yield pool
    await pool.close()


@pytest.fixture
async def stockx(catalog_settings: Settings, names: Names) -> AsyncIterator[StockXClient]:
    nc = await connect(catalog_settings.nats_url, name="catalog-test")
    try:
        async with await StockXClient.connect(
            catalog_settings, nc.jetstream(), names=names
        ) as client:
            yield client
    finally:
        await disconnect(nc)


@pytest.fixture
async def catalog(catalog_settings: Settings) -> AsyncIterator[CatalogService]:
    """A running catalog runtime (consumers, outbox relay, job runner; no refresh poller)."""
    catalog = build_service(
        catalog_settings, CatalogSettings(refreshing=False, pool_size=6, fetch_timeout_s=0.4)
    )
    async with catalog.runtime.lifespan():
        yield catalog
