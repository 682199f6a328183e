"""Orders through a 3-minute Postgres outage (a Postgres of the test's own; never the shared one).

Events keep arriving on INGEST while the database is down. The consumer must hold them, spend no
delivery and dead-letter nothing; once Postgres is back every event is applied, by the same
service instance (no restart), which must answer 503, not 500, meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import msgspec
import pytest

from soleflip.common.bus import Names, list_dead_letters
from soleflip.common.contracts import uuid7
from soleflip.common.http import hash_token
from soleflip.common.localinfra import PostgresServer
from soleflip.common.settings import ApiToken, Settings
from soleflip.orders.app import create_app
from soleflip.orders.service import OrdersService
from soleflip.orders.settings import OrdersSettings
from tests.integration.orders.conftest import FERNET_KEY
from tests.integration.orders.support import (
    event,
    migrate_orders,
    order_resource,
    publish_events,
    run_service,
    serving,
)
from tests.support import servers
from tests.support.wait import until

OUTAGE_S = 180.0
EVENTS = 500

pytestmark = pytest.mark.slow


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A Postgres on a free port that this test may stop and start again."""
    with servers.own_postgres("soleflip-pg-outage-") as pg:
        yield pg


def settings_for(pg: PostgresServer, nats_url: str, names: Names) -> Settings:
    return Settings(
        database_url=pg.url,
        nats_url=(nats_url,),
        nats_prefix=names.prefix,
        stockx_api_url="http://127.0.0.1:9/v2",  # no StockX: polling is off
        fernet_keys=(FERNET_KEY,),
    )


async def orders_applied(service: OrdersService) -> int:
    try:
        async with service.pool.acquire() as conn:
            return int(await conn.fetchval('SELECT count(*) FROM "order"'))
    except Exception:  # the database may still be coming back
        return -1


@pytest.mark.timeout(OUTAGE_S + 240)
async def test_500_events_during_a_3_minute_postgres_outage_are_all_applied_after_it(
    own_postgres: PostgresServer, nats_url: str, names: Names
) -> None:
    await migrate_orders(own_postgres.url)
    settings = settings_for(own_postgres, nats_url, names)
    async with run_service(settings, OrdersSettings(polling=False)) as service:
        runners = list(service.runtime.consumers)
        await asyncio.to_thread(own_postgres.stop)
        events = [
            event("stockx.order.updated", order_resource(f"1-{uuid7()}")) for _ in range(EVENTS)
        ]
        for start in range(0, EVENTS, 50):  # arriving over the outage, not all at once
            await publish_events(service.runtime.publisher, events[start : start + 50])
            await asyncio.sleep(OUTAGE_S / (EVENTS / 50))
        await asyncio.to_thread(own_postgres.start)

        async def all_applied() -> bool:
            return await orders_applied(service) == EVENTS

        await until(all_applied, 90, interval=0.5)
        js = service.runtime.js
        assert await list_dead_letters(js, names, "orders-ingest") == []
        assert service.runtime.consumers == runners
        assert all(runner.running for runner in runners)


READER = "sf_reader_token_for_outage_tests"


async def get_orders(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(
        "/api/v1/orders", headers={"Authorization": f"Bearer {READER}"}, timeout=30
    )


@pytest.mark.timeout(120)
async def test_rest_routes_answer_503_with_retry_after_while_postgres_is_down(
    own_postgres: PostgresServer, nats_url: str, names: Names
) -> None:
    await migrate_orders(own_postgres.url)
    token = ApiToken(name="reader", scopes=frozenset({"read"}), sha256=hash_token(READER))
    settings = msgspec.structs.replace(
        settings_for(own_postgres, nats_url, names), api_tokens=(token,)
    )
    app = create_app(settings, OrdersSettings(polling=False))
    async with serving(app) as base, httpx.AsyncClient(base_url=base) as client:
        assert (await get_orders(client)).status_code == 200
        await asyncio.to_thread(own_postgres.stop)
        for _ in range(3):  # the pooled connection that died, then refused new ones
            down = await get_orders(client)
            assert down.status_code == 503, down.text
            assert int(down.headers["retry-after"]) >= 1
            assert down.headers["content-type"].startswith("application/problem+json")
            assert down.json()["type"] == "urn:soleflip:problem:unavailable"
        await asyncio.to_thread(own_postgres.start)

        async def back() -> bool:
            return (await get_orders(client)).status_code == 200

        await until(back, 30, interval=0.5)
