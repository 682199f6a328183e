"""Fixtures for pricing's integration tests: a migrated `pricing` schema in a fresh database, the
service app (its runtime, consumers and relay) against the shared NATS under the test's prefix,
a settable clock, and helpers to publish events and watch what pricing publishes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Any

import httpx
import msgspec
import nats
import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy

from soleflip.common.bus import STREAMS, Names
from soleflip.common.contracts import encode_event, new_event
from soleflip.common.db import migrate
from soleflip.common.http import hash_token
from soleflip.common.runtime import ServiceRuntime
from soleflip.common.settings import ApiToken, Settings
from soleflip.common.stockx import ClientConfig, LocalBudget, StaticToken, StockXClient
from soleflip.pricing.app import create_app
from soleflip.pricing.settings import PricingSettings
from soleflip.stockx_sim import SimConfig
from soleflip.stockx_sim import create_app as create_sim
from tests.support.wait import until

WRITE_TOKEN = "sf_pricing-writer"
READ_TOKEN = "sf_pricing-reader"
AUTH = {"Authorization": f"Bearer {WRITE_TOKEN}"}
READ_AUTH = {"Authorization": f"Bearer {READ_TOKEN}"}


class Clock:
    """A clock tests move by hand (cool-downs, rejection windows)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Service:
    """The running pricing app and what tests do with it."""

    def __init__(self, client: httpx.AsyncClient, runtime: ServiceRuntime, clock: Clock):
        self.client, self.runtime, self.clock = client, runtime, clock

    async def publish(self, subject: str, type_: str, data: Any, source: str = "test") -> str:
        event = new_event(type_, data, source=source)
        await self.runtime.publisher.publish(subject, encode_event(event), msg_id=event.id)
        return event.id

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self.runtime.pool.fetchval(sql, *args)

    async def until(self, check: Callable[[], Awaitable[Any]], within: float = 10.0) -> Any:
        """Poll `check` until it returns something truthy (the consumers work asynchronously)."""
        return await until(check, within)

    async def published(self, subject: str, *, wait: float = 1.0) -> list[dict[str, Any]]:
        """Every event pricing published on `subject` so far (a fresh ephemeral reader)."""
        sub = await self.runtime.js.pull_subscribe(
            self.runtime.names.subject(subject),
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
        )
        found: list[dict[str, Any]] = []
        with contextlib.suppress(TimeoutError, nats.errors.TimeoutError):
            while True:
                msgs = await sub.fetch(100, timeout=wait)
                found.extend(msgspec.json.decode(m.data) for m in msgs)
        await sub.unsubscribe()
        return found


class Sim:
    """An in-process StockX simulator: its control plane (`http`) and a client of its API."""

    def __init__(self, http: httpx.AsyncClient, client: StockXClient) -> None:
        self.http, self.client = http, client


@contextlib.asynccontextmanager
async def in_process_sim(
    config: SimConfig, client_config: ClientConfig | None = None
) -> AsyncIterator[Sim]:
    """The simulator over ASGI, with a client that has a static token and no pacing of its own
    (the poller's share, not the key's rate, is what the tests measure)."""
    transport = httpx.ASGITransport(app=create_sim(Settings(), config))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
        form = {
            "grant_type": "refresh_token", "refresh_token": "sim-refresh",
            "client_id": "sim-client", "client_secret": "sim-secret",
            "audience": "gateway.stockx.com",
        }  # fmt: skip
        token = (await http.post("/oauth/token", data=form)).json()["access_token"]
        api = httpx.AsyncClient(transport=transport, base_url="http://sim/v2/")
        settings = Settings(stockx_api_key="sim-api-key", stockx_api_url="http://sim/v2")
        client = StockXClient(
            settings,
            tokens=StaticToken(token),
            budget=LocalBudget(rate_per_s=1e6, daily=10**9),
            http=api,
            config=client_config,
        )
        yield Sim(http, client)
        await api.aclose()


def pricing_settings(**overrides: Any) -> PricingSettings:
    base: dict[str, Any] = {
        "reevaluate_interval_s": 3600.0,
        "reject_after_s": 60.0,
        "consumer_fetch_timeout_s": 0.3,
    }
    return PricingSettings(**{**base, **overrides})


def make_settings(dsn: str, nats_url: str, names: Names) -> Settings:
    tokens = (
        ApiToken(name="writer", scopes=frozenset({"write"}), sha256=hash_token(WRITE_TOKEN)),
        ApiToken(name="reader", scopes=frozenset({"read"}), sha256=hash_token(READ_TOKEN)),
    )
    return Settings(
        database_url=dsn,
        nats_url=(nats_url,),
        nats_prefix=names.prefix,
        api_tokens=tokens,
        log_level="warning",
    )


@pytest.fixture
async def pricing_db(fresh_database: str) -> str:
    await migrate(fresh_database, "pricing", files("soleflip.pricing").joinpath("migrations"))
    return fresh_database


@pytest.fixture
async def streams_cleanup(nats_url: str, names: Names) -> AsyncIterator[None]:
    yield
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    for spec in STREAMS:
        with contextlib.suppress(Exception):
            await js.delete_stream(names.stream(spec.name))
    await nc.close()


@pytest.fixture
async def service(
    pricing_db: str, nats_url: str, names: Names, streams_cleanup: None
) -> AsyncIterator[Service]:
    clock = Clock()
    settings = make_settings(pricing_db, nats_url, names)
    app = create_app(settings, pricing_settings(), clock=clock, poll=False)
    runtime: ServiceRuntime = app.state.runtime
    # The runtime lives in the test's event loop (Litestar's test client would run the lifespan
    # in a loop of its own, where the test could not use the pool); requests go in over ASGI.
    async with (
        runtime.lifespan(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://pricing"
        ) as client,
    ):
        yield Service(client, runtime, clock)
