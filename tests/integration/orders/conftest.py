"""Fixtures for orders against real Postgres and NATS: a migrated schema and a running service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
import pytest

from soleflip.common.bus import Names
from soleflip.common.crypto import Crypto
from soleflip.common.http import hash_token
from soleflip.common.settings import ApiToken, Settings
from soleflip.orders.app import create_app
from soleflip.orders.service import OrdersService
from soleflip.orders.settings import OrdersSettings
from tests.integration.orders.support import migrate_orders, run_service, serving

FERNET_KEY = Crypto.generate_key()
WRITER_TOKEN = "sf_stock_writer_token_for_tests"


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


@dataclass
class Rest:
    """The orders REST API over real HTTP (no StockX, no polling) and its service."""

    client: httpx.AsyncClient
    service: OrdersService

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {WRITER_TOKEN}", **kwargs.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kwargs)


@pytest.fixture
async def rest(orders_settings: Settings) -> AsyncIterator[Rest]:
    token = ApiToken(name="writer", scopes=frozenset({"write"}), sha256=hash_token(WRITER_TOKEN))
    settings = msgspec.structs.replace(orders_settings, api_tokens=(token,))
    app = create_app(settings, OrdersSettings(polling=False))
    async with serving(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        yield Rest(client, app.dependencies["service"].dependency())
