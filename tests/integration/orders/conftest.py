"""Fixtures for orders against real Postgres and NATS: a migrated schema and a running service."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from soleflip.common.bus import Names
from soleflip.common.crypto import Crypto
from soleflip.common.settings import Settings
from soleflip.orders.service import OrdersService
from soleflip.orders.settings import OrdersSettings
from tests.integration.orders.support import migrate_orders, run_service

FERNET_KEY = Crypto.generate_key()


@pytest.fixture
async def orders_dsn(fresh_database: str) -> str:
    await migrate_orders(fresh_database)
    return fresh_database


@pytest.fixture
def orders_settings(orders_dsn: str, nats_url: str, names: Names) -> Settings:
    return Settings(
        database_url=orders_dsn,
        nats_url=(nats_url,),
        nats_prefix=names.prefix,
        stockx_api_url="http://127.0.0.1:9/v2",  # no StockX: these tests never poll
        stockx_rate_per_s=1000.0,
        fernet_keys=(FERNET_KEY,),
    )


@pytest.fixture
async def orders(orders_settings: Settings) -> AsyncIterator[OrdersService]:
    async with run_service(orders_settings, OrdersSettings(polling=False)) as service:
        yield service
