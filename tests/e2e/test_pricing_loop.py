"""The reactive pricing loop end to end: the StockX simulator and ingest run as real processes
(`soleflip serve`), pricing runs against real Postgres and NATS. A market move at the simulator is
relayed as a signed webhook to ingest, lands on NATS, and pricing answers with a recommendation
and `pricing.reprice.requested`. Orders' part (applying the command at StockX and reporting the
listing back) is played by the test through the simulator's API, as orders does it."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Any

import asyncpg
import httpx
import msgspec
import nats
import pytest
from cryptography.fernet import Fernet
from nats.js.api import ConsumerConfig, DeliverPolicy

from soleflip.common.bus import STREAMS, Names
from soleflip.common.db import migrate
from soleflip.common.testing.procs import served
from soleflip.pricing.app import create_app
from soleflip.pricing.sync import sync_market
from soleflip.stockx_sim.process import served_simulator
from tests.integration.pricing.conftest import AUTH, Clock, Service, make_settings, pricing_settings

SETTLED = "SELECT pending_amount IS NULL FROM listing"
DRY_RUNS = "SELECT count(*) FROM recommendation WHERE status = 'dry_run'"
SECRET = "whsec_" + base64.b64encode(b"pricing-e2e-relay-secret-0123456").decode()
COST = "80.00"
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FLOOR = 103  # payout(103) = 103 - 9.27 - 3.09 - 10 = 80.64 covers 80; payout(102) = 79.76 does not


class Stack:
    """The simulator and ingest processes of this module, under one NATS prefix."""

    def __init__(self, sim: str, ingest: str, names: Names) -> None:
        self.sim, self.ingest, self.names = sim, ingest, names


@pytest.fixture(scope="module")
def stack(nats_url: str) -> Iterator[Stack]:
    names = Names(prefix=f"t{secrets.token_hex(4)}")
    ingest_env = {
        "SOLEFLIP_NATS_URL": nats_url,
        "SOLEFLIP_NATS_PREFIX": names.prefix,
        "SOLEFLIP_WEBHOOK_SECRETS_STOCKX": SECRET,
    }
    with (
        served_simulator(rate_per_s=0, settle_delay_s=0) as sim,
        served("serve", "ingest", env=ingest_env) as ingest,
    ):
        relay = {"url": f"{ingest}/webhooks/stockx", "secret": SECRET}
        httpx.put(f"{sim}/_sim/relay", json=relay, timeout=5).raise_for_status()
        yield Stack(sim, ingest, names)
    asyncio.run(_delete_streams(nats_url, names))


async def _delete_streams(nats_url: str, names: Names) -> None:
    nc = await nats.connect(nats_url)
    for spec in STREAMS:
        with contextlib.suppress(Exception):
            await nc.jetstream().delete_stream(names.stream(spec.name))
    await nc.close()


@pytest.fixture
async def service(fresh_database: str, nats_url: str, stack: Stack) -> AsyncIterator[Service]:
    await migrate(fresh_database, "pricing", files("soleflip.pricing").joinpath("migrations"))
    clock = Clock()
    settings = make_settings(fresh_database, nats_url, stack.names)
    app = create_app(settings, pricing_settings(), clock=clock, poll=False)
    runtime = app.state.runtime
    transport = httpx.ASGITransport(app=app)
    async with runtime.lifespan(), httpx.AsyncClient(transport=transport, base_url="http://p") as c:
        yield Service(c, runtime, clock)


class Seller:
    """Our StockX account at the simulator, and the orders service's part of the loop."""

    def __init__(self, stack: Stack, service: Service, http: httpx.AsyncClient) -> None:
        self.stack, self.service, self.http = stack, service, http
        self.headers: dict[str, str] = {}
        self.variant_id = self.listing_id = ""
        self.version = 0

    async def list_item(self, amount: int) -> None:
        form = {
            "grant_type": "refresh_token", "refresh_token": "sim-refresh",
            "client_id": "sim-client", "client_secret": "sim-secret",
            "audience": "gateway.stockx.com",
        }  # fmt: skip
        token = (await self.http.post(f"{self.stack.sim}/oauth/token", data=form)).json()
        self.headers = {
            "Authorization": f"Bearer {token['access_token']}",
            "x-api-key": "sim-api-key",
        }
        state = await self.http.get(f"{self.stack.sim}/_sim/state/products")
        self.variant_id = state.json()["products"][3]["variants"][4]["variantId"]
        body = {
            "amount": str(amount),
            "variantId": self.variant_id,
            "currencyCode": "EUR",
            "active": True,
        }
        op = await self.http.post(
            f"{self.stack.sim}/v2/selling/listings", json=body, headers=self.headers
        )
        assert op.status_code == 201, op.text
        self.listing_id = op.json()["listingId"]
        await self.service.publish("orders.stock.upserted", "orders.stock.upserted", {
            "stock_item_id": 1, "external_id": "e2e", "sku": "X", "size": "10", "size_type": "us m",
            "status": "LISTED", "unit_cost": {"amount": COST, "currency": "EUR"},
            "variant_id": self.variant_id, "listing_id": self.listing_id,
        })  # fmt: skip
        await self.report(amount)

    async def apply(self, command: dict[str, Any]) -> None:
        """What orders does with `pricing.reprice.requested`: update the ask, report back."""
        amount = command["amount"]["amount"]
        url = f"{self.stack.sim}/v2/selling/listings/{command['listing_id']}"
        answer = await self.http.patch(url, json={"amount": amount}, headers=self.headers)
        assert answer.status_code == 200, answer.text
        await self.report(int(amount))

    async def report(self, amount: int) -> None:
        self.version += 1  # each report is newer than the last, as orders' updatedAt would be
        listing = {
            "listing_id": self.listing_id, "status": "ACTIVE", "variant_id": self.variant_id,
            "stock_item_id": 1, "amount": {"amount": str(amount), "currency": "EUR"},
            "updated_at": (START + timedelta(seconds=self.version)).isoformat(),
        }  # fmt: skip
        await self.service.publish("orders.listing.upserted", "orders.listing.upserted", listing)

    async def sim_amount(self) -> str:
        listings = (await self.http.get(f"{self.stack.sim}/_sim/state/listings")).json()["listings"]
        return next(x["amount"] for x in listings if x["listingId"] == self.listing_id)

    async def move_market(self, lowest_ask: int) -> float:
        body = {
            "variant_id": self.variant_id,
            "currency": "EUR",
            "lowest_ask": lowest_ask,
            "highest_bid": 90,
        }
        started = time.monotonic()
        (await self.http.put(f"{self.stack.sim}/_sim/market", json=body)).raise_for_status()
        return started


class Commands:
    """A reader of one listing's `pricing.reprice.requested` (the stream is the module's)."""

    def __init__(self, service: Service, listing_id: str) -> None:
        self.service, self.listing_id = service, listing_id
        self.sub: Any = None

    async def next(self, within: float) -> dict[str, Any] | None:
        if self.sub is None:
            self.sub = await self.service.runtime.js.pull_subscribe(
                self.service.runtime.names.subject("pricing.reprice.requested"),
                config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
            )
        deadline = time.monotonic() + within
        while (left := deadline - time.monotonic()) > 0:
            try:
                [msg] = await self.sub.fetch(1, timeout=left)
            except (TimeoutError, nats.errors.TimeoutError):
                return None
            await msg.ack()
            data: dict[str, Any] = msgspec.json.decode(msg.data)["data"]
            if data["listing_id"] == self.listing_id:
                return data
        return None

    async def close(self) -> None:
        # An open pull subscription makes the runtime's NATS drain wait at shutdown.
        if self.sub is not None:
            await self.sub.unsubscribe()


async def _rule(service: Service, **extra: Any) -> None:
    rule = {"strategy": "beat_lowest_ask", "auto_reprice": True, "cooldown_s": 0, **extra}
    assert (await service.client.post("/api/v1/rules", json=rule, headers=AUTH)).status_code == 201


async def _auto(service: Service, *, dry_run: bool) -> None:
    body = {"enabled": True, "dry_run": dry_run}
    assert (
        await service.client.put("/api/v1/autoreprice", json=body, headers=AUTH)
    ).status_code == 200


async def test_market_move_reprices_the_listing_at_the_simulator_within_2_s(
    stack: Stack, service: Service
) -> None:
    async with httpx.AsyncClient(timeout=5) as http:
        seller = Seller(stack, service, http)
        await _rule(service)
        await _auto(service, dry_run=False)
        await seller.list_item(200)
        await service.until(lambda: service.fetchval("SELECT count(*) FROM stock_item"))
        await service.until(lambda: service.fetchval("SELECT count(*) FROM listing"))
        commands = Commands(service, seller.listing_id)
        started = await seller.move_market(150)
        command = await commands.next(within=2.0)
        assert command is not None, "no reprice requested within 2 s of the market move"
        assert command["amount"] == {"amount": "149", "currency": "EUR"}
        await seller.apply(command)
        elapsed = time.monotonic() - started
        assert await seller.sim_amount() == "149"
        print(f"repriced at the simulator {elapsed:.3f} s after the market move")
        await commands.close()
        assert elapsed < 2.0, elapsed
        await service.until(lambda: service.fetchval(SETTLED))


async def test_dry_run_only_records_a_recommendation(stack: Stack, service: Service) -> None:
    async with httpx.AsyncClient(timeout=5) as http:
        seller = Seller(stack, service, http)
        await _rule(service)
        await _auto(service, dry_run=True)
        await seller.list_item(200)
        await service.until(lambda: service.fetchval("SELECT count(*) FROM listing"))
        await seller.move_market(150)
        await service.until(lambda: service.fetchval(DRY_RUNS))
        commands = Commands(service, seller.listing_id)
        assert await commands.next(within=1.0) is None
        await commands.close()
        assert await seller.sim_amount() == "200"


async def test_ask_war_between_two_sellers_stops_at_the_floor(
    stack: Stack, service: Service
) -> None:
    """A competitor always undercuts our ask by 5; we beat the lowest ask by 5."""
    async with httpx.AsyncClient(timeout=5) as http:
        seller = Seller(stack, service, http)
        await _rule(service, beat_amount="5")
        await _auto(service, dry_run=False)
        await seller.list_item(160)
        await service.until(lambda: service.fetchval("SELECT count(*) FROM stock_item"))
        await service.until(lambda: service.fetchval("SELECT count(*) FROM listing"))
        commands, ours, prices = Commands(service, seller.listing_id), 160, []
        for _ in range(30):
            await seller.move_market(ours - 5)  # the other seller undercuts us
            command = await commands.next(within=1.5)
            if command is None:
                break  # we hold: the war is over
            ours = int(command["amount"]["amount"])
            prices.append(ours)
            await seller.apply(command)
            await service.until(lambda: service.fetchval(SETTLED))
        await commands.close()
        assert prices[-1] == FLOOR
        assert prices == sorted(prices, reverse=True)
        assert len(set(prices)) == len(prices)  # never back up: no oscillation
        assert min(prices) >= FLOOR
        assert await seller.sim_amount() == str(FLOOR)


async def test_sync_market_polls_every_tracked_product_once(
    stack: Stack, fresh_database: str, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await migrate(fresh_database, "pricing", files("soleflip.pricing").joinpath("migrations"))
    async with httpx.AsyncClient(timeout=5) as http:
        products = (await http.get(f"{stack.sim}/_sim/state/products")).json()["products"][:3]
        await http.post(f"{stack.sim}/_sim/requests/clear")
        conn = await asyncpg.connect(fresh_database, server_settings={"search_path": "pricing"})
        for product in products:
            await conn.execute(
                "INSERT INTO variant (variant_id, product_id) VALUES ($1, $2)",
                product["variants"][0]["variantId"], product["productId"],
            )  # fmt: skip
        env = {
            "SOLEFLIP_DATABASE_URL": fresh_database, "SOLEFLIP_NATS_URL": nats_url,
            "SOLEFLIP_NATS_PREFIX": stack.names.prefix, "SOLEFLIP_LOG_LEVEL": "warning",
            "SOLEFLIP_STOCKX_API_URL": f"{stack.sim}/v2", "SOLEFLIP_STOCKX_AUTH_URL": stack.sim,
            "SOLEFLIP_STOCKX_CLIENT_ID": "sim-client",
            "SOLEFLIP_STOCKX_CLIENT_SECRET": "sim-secret",
            "SOLEFLIP_STOCKX_REFRESH_TOKEN": "sim-refresh",
            "SOLEFLIP_STOCKX_API_KEY": "sim-api-key",
            "SOLEFLIP_FERNET_KEYS": Fernet.generate_key().decode(),
        }  # fmt: skip
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        assert await sync_market() == 0
        known = await conn.fetchval("SELECT count(DISTINCT product_id) FROM market_latest")
        await conn.close()
        log = (await http.get(f"{stack.sim}/_sim/requests")).json()["requests"]
    assert known == 3
    market_calls = [r for r in log if r["path"].endswith("/market-data")]
    assert len(market_calls) == 3  # one per product (EUR: no listing currency yet)
