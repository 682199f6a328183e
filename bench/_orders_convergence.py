"""The `orders` scenario of bench/convergence.py: a real orders service mirrors the simulator.

300 orders and 500 listings at the simulator (which enforces `RATE` requests/s; orders' client is
configured to the same rate, so the shared budget paces 10 % below it), ingest in process, orders'
poller every `INTERVAL_S`. After the backfill (and its order details), each scenario changes the
simulator and measures the time from the last change to zero mismatches (status, amount,
currency, payout, timestamps of every order and listing), against the bound: one interval plus
the longest poll seen meanwhile (`soleflip_poll_duration_seconds`). Scenarios: relay lossy (30 %
loss, 20 % duplicates, reordering), relay off, and a clock jump of three days with the relay off.
Then three idle polls: StockX calls per poll per kind from the simulator's request log. 429s are
counted over the whole run.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from math import ceil
from typing import Any

import asyncpg
import msgspec
from prometheus_client import REGISTRY

from soleflip.common.crypto import Crypto
from soleflip.common.settings import Settings
from soleflip.common.stockx import HISTORICAL_ORDER_STATUSES
from soleflip.common.testing.plugin import database_dsn
from soleflip.ingest.app import create_app as create_ingest_app
from soleflip.orders.service import OrdersService
from soleflip.orders.settings import OrdersSettings
from tests.integration.orders.support import (
    migrate_orders,
    mismatches,
    run_service,
    running_sim,
    serving,
    shipment_mismatches,
    sim_config,
    sim_get,
    sim_post,
    with_sim,
)

INTERVAL_S = 10.0
RATE = 10.0
SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
LOSSY = {"loss": 0.3, "duplicate": 0.2, "reorder": 0.3}


@asynccontextmanager
async def _database(admin: str) -> AsyncIterator[str]:
    name = f"bench_orders_conv_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    try:
        dsn = database_dsn(admin, name)
        await migrate_orders(dsn)
        yield dsn
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


class Watch:
    """Samples the service while it converges: the longest poll and the time to zero mismatches."""

    def __init__(self, service: OrdersService, sim_url: str) -> None:
        self.service, self.sim_url = service, sim_url

    def _poll_s(self) -> float:
        value = REGISTRY.get_sample_value("soleflip_poll_duration_seconds", {"poller": "orders"})
        return value or 0.0

    async def converge(
        self, check: Callable[[], Awaitable[list[str]]], within: float, polls: int = 1
    ) -> dict[str, Any]:
        """Time until `check()` finds nothing, against `polls` x (interval + longest poll)."""
        started, seen_polls, longest = time.monotonic(), self.service.polls_done, 0.0
        while (left := await check()) and time.monotonic() - started < within:
            if self.service.polls_done != seen_polls:
                seen_polls, longest = self.service.polls_done, max(longest, self._poll_s())
            await asyncio.sleep(0.25)
        elapsed = time.monotonic() - started
        longest = max(longest, self._poll_s())
        bound = polls * (INTERVAL_S + longest)
        return {
            "converged_s": round(elapsed, 1) if not left else None,
            "bound_s": round(bound, 1),
            "within_bound": not left and elapsed <= bound,
            "longest_poll_s": round(longest, 1),
            "mismatches_left": len(left),
        }

    async def rows(self) -> list[str]:
        return await mismatches(self.service, self.sim_url)

    async def shipments(self) -> list[str]:
        return await shipment_mismatches(self.service, self.sim_url)


async def _changes(sim_url: str, advance_s: float, buys: int) -> None:
    """Orders move on (the simulator's clock jumps) and buyers buy."""
    await sim_post(sim_url, "/_sim/advance", {"seconds": advance_s})
    for _ in range(buys):
        await sim_post(sim_url, "/_sim/orders", {})


def _kind(path: str) -> str:
    if path in ("/v2/selling/orders/active", "/v2/selling/orders/history"):
        return path.rsplit("/", 1)[-1] + "_orders"
    if path.startswith("/v2/selling/orders/"):
        return "order_detail"
    return "listings" if path == "/v2/selling/listings" else "listing_detail"


async def _idle(watch: Watch, polls: int = 3) -> dict[str, Any]:
    """StockX calls of the next `polls` polls of a shop where nothing changes."""
    target = watch.service.polls_done + 1
    while watch.service.polls_done < target:  # noqa: ASYNC110 - let the poll under way end
        await asyncio.sleep(0.05)
    before = len((await sim_get(watch.sim_url, "/_sim/requests"))["requests"])
    target += polls
    while watch.service.polls_done < target:  # noqa: ASYNC110 - a counter, no event
        await asyncio.sleep(0.05)
    log = (await sim_get(watch.sim_url, "/_sim/requests"))["requests"][before:]
    kinds = Counter(_kind(r["path"]) for r in log)
    pages = await _pages(watch.sim_url)
    return {
        "polls": polls,
        "calls_per_poll": {k: round(n / polls, 2) for k, n in kinds.items()},
        "pages_per_kind": pages,  # StockX has no date filter on these lists
        "calls_beyond_pages_per_poll": round(
            (sum(kinds.values()) - polls * sum(pages.values())) / polls, 2
        ),
    }


async def _pages(sim_url: str) -> dict[str, int]:
    """Pages of the two lists every poll reads: active orders and changeable listings."""
    orders = (await sim_get(sim_url, "/_sim/state/orders"))["orders"]
    listings = (await sim_get(sim_url, "/_sim/state/listings"))["listings"]
    now = (await sim_post(sim_url, "/_sim/advance", {"seconds": 0}))["now"]
    active = sum(o["status"] not in HISTORICAL_ORDER_STATUSES for o in orders)
    changeable = sum(
        x["status"] in ("ACTIVE", "INACTIVE", "MATCHED")
        and not (x["ask"] and x["ask"]["askExpiresAt"] <= now)
        for x in listings
    )
    return {"active_orders": max(1, ceil(active / 100)), "listings": max(1, ceil(changeable / 100))}


async def orders(admin: str, nats_url: str, orders_n: int, listings_n: int) -> dict[str, Any]:
    """The scenarios above; one JSON document."""
    config = sim_config(orders=orders_n, listings=listings_n, seed=5, rate_per_s=RATE)
    report: dict[str, Any] = {"orders": orders_n, "listings": listings_n, "interval_s": INTERVAL_S}
    report["rate_per_s"] = RATE
    async with _database(admin) as dsn, running_sim(config) as sim_url:
        settings = Settings(
            database_url=dsn, nats_url=(nats_url,), nats_prefix=f"b{secrets.token_hex(4)}_",
            fernet_keys=(Crypto.generate_key(),), log_level="warning",
            webhook_secrets_stockx=(SECRET,),
        )  # fmt: skip
        options = OrdersSettings(poll_interval_s=INTERVAL_S)
        stockx = msgspec.structs.replace(with_sim(settings, sim_url), stockx_rate_per_s=RATE)
        async with (
            serving(create_ingest_app(settings)) as ingest_url,
            run_service(stockx, options) as service,
        ):
            watch = Watch(service, sim_url)
            report["backfill"] = await watch.converge(watch.rows, 300)
            lacking = ceil(orders_n / options.details_per_poll)
            report["backfill_shipments"] = await watch.converge(watch.shipments, 300, lacking)
            relay = {"url": f"{ingest_url}/webhooks/stockx", "secret": SECRET}
            await sim_post(sim_url, "/_sim/relay", relay | LOSSY, method="PUT")
            await _changes(sim_url, 6 * 3600, 10)
            report["relay_lossy"] = await watch.converge(watch.rows, 120)
            await sim_post(sim_url, "/_sim/relay", {"url": None}, method="PUT")
            await _changes(sim_url, 6 * 3600, 10)
            report["relay_off"] = await watch.converge(watch.rows, 120)
            await _changes(sim_url, 3 * 86_400, 0)
            report["clock_jump_3_days"] = await watch.converge(watch.rows, 120)
            report["idle"] = await _idle(watch)
        log = (await sim_get(sim_url, "/_sim/requests"))["requests"]
    report["stockx_calls"] = len(log)
    report["status_429"] = sum(1 for r in log if r["status"] == 429)
    return report
