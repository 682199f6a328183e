"""Convergence and StockX budget benchmarks against the simulator, one scenario per function.
Not a test.

    .venv/bin/python bench/convergence.py [--scenario orders|market] [--products 200]
        [--orders 300] [--listings 500]

Uses SOLEFLIP_BENCH_DATABASE_URL (an admin DSN; default the local dev Postgres) for a throwaway
database and SOLEFLIP_BENCH_NATS_URL (default nats://127.0.0.1:4222) under a random prefix.
Prints one JSON document, a key per scenario.

`orders`: a real orders service against the simulator, relay lossy, relay off, a clock jump;
time from the last change to zero mismatches against one interval plus the longest poll; idle
StockX calls per poll per kind; 429s. See `bench/_orders_convergence.py`.

`market`: pricing's market poller against an in-process simulator (no per-second limit, so the
poller's share and not the key's rate is measured), 200 products on a simulated clock moved a
minute per tick (the simulator's clock with it, so its request log carries simulated times).
Start-up: 80 products have stock, 60 of them get listings after two minutes (orders' first sync).
After an hour (the tier change): 30 listings expire and 60 products without stock get one.
Reported per phase: the most market calls in any 10 minutes against the share's 10 minutes
(`SOLEFLIP_PRICING_MARKET_BUDGET_SHARE` of the daily key), the ratio (the bound is 1.2), total
calls and 429s. The simulated run cannot judge the per-second limit (a simulated minute passes
in milliseconds), so a last phase starts a fresh poller on the wall clock for `--realtime-s`
seconds against the simulator enforcing StockX's 1 request/s, the client paced 10 % below it as
the shared budget does: its 429s must be 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import secrets
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any, cast

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._orders_convergence import orders
from soleflip.common.db import migrate
from soleflip.common.runtime import ServiceRuntime
from soleflip.common.settings import Settings
from soleflip.common.stockx import LocalBudget, StaticToken, StockXClient
from soleflip.common.testing.plugin import database_dsn
from soleflip.pricing.app import SERVICE, STREAMS
from soleflip.pricing.pollers import DAY_S, MarketPoller
from soleflip.pricing.service import PricingService
from soleflip.pricing.settings import PricingSettings
from soleflip.stockx_sim import SimConfig
from soleflip.stockx_sim import create_app as create_sim
from soleflip.stockx_sim.clock import parse_iso

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
TICK_S = 60.0
WINDOW_S = 600.0
TOKEN_FORM = {
    "grant_type": "refresh_token", "refresh_token": "sim-refresh", "client_id": "sim-client",
    "client_secret": "sim-secret", "audience": "gateway.stockx.com",
}  # fmt: skip


class Clock:
    """The poller's simulated clock, moved by the scenario."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@asynccontextmanager
async def pricing_runtime() -> AsyncIterator[ServiceRuntime]:
    """Pricing's runtime (pool, NATS, no tasks) on a throwaway database."""
    admin = os.environ.get(
        "SOLEFLIP_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    nats_url = os.environ.get("SOLEFLIP_BENCH_NATS_URL", "nats://127.0.0.1:4222")
    name = f"bench_convergence_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    try:
        dsn = database_dsn(admin, name)
        await migrate(dsn, SERVICE, files("soleflip.pricing").joinpath("migrations"))
        settings = Settings(
            database_url=dsn, nats_url=(nats_url,), nats_prefix=f"b{secrets.token_hex(4)}_",
            log_level="warning",
        )  # fmt: skip
        runtime = ServiceRuntime(SERVICE, settings, streams=STREAMS, use_stockx=False)
        async with runtime.lifespan():
            yield runtime
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


@asynccontextmanager
async def simulator(
    products: int, rate_per_s: float = 0.0
) -> AsyncIterator[tuple[httpx.AsyncClient, StockXClient]]:
    config = SimConfig(
        seed=11, products=products, listings=0, orders=0, rate_per_s=rate_per_s,
        daily_limit=10**9, settle_delay_s=0.0, token_ttl_s=10**8,
    )  # fmt: skip
    pace = rate_per_s / 1.1 if rate_per_s else 1e6  # the shared budget's 10 % margin
    # Litestar's ASGI signature is narrower than httpx's `_ASGIApp`; it is an ASGI app all the same.
    transport = httpx.ASGITransport(app=cast(Any, create_sim(Settings(), config)))
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://sim") as control,
        httpx.AsyncClient(transport=transport, base_url="http://sim/v2/") as api,
    ):
        token = (await control.post("/oauth/token", data=TOKEN_FORM)).json()["access_token"]
        client = StockXClient(
            Settings(stockx_api_key="sim-api-key", stockx_api_url="http://sim/v2"),
            tokens=StaticToken(token),
            budget=LocalBudget(rate_per_s=pace, daily=10**9),
            http=api,
        )
        yield control, client


def peak_per_window(times: list[float]) -> int:
    """The most entries of the sorted `times` inside any `WINDOW_S`-long window."""
    most, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= WINDOW_S:
            start += 1
        most = max(most, end - start + 1)
    return most


async def _list(pool: asyncpg.Pool, variants: list[str], first: int, count: int) -> None:
    for index in range(first, first + count):
        await pool.execute(
            "INSERT INTO listing (listing_id, status, variant_id, amount, currency)"
            " VALUES ($1, 'ACTIVE', $2, 150, 'EUR')",
            f"L{index}", variants[index],
        )  # fmt: skip


async def _seed_tiers(pool: asyncpg.Pool, products: list[dict[str, Any]]) -> list[str]:
    """Every variant known from catalog, 80 products with stock; each product's first variant."""
    firsts = []
    for index, product in enumerate(products):
        variants = [v["variantId"] for v in product["variants"]]
        firsts.append(variants[0])
        await pool.execute(
            "INSERT INTO variant (variant_id, product_id) SELECT unnest($1::text[]), $2",
            variants, product["productId"],
        )  # fmt: skip
        if index < 80:
            await pool.execute(
                "INSERT INTO stock_item VALUES ($1, $2, NULL, 'IN_STOCK', 80, 'EUR')",
                index, variants[0],
            )  # fmt: skip
    return firsts


async def market(products: int, realtime_s: float) -> dict[str, Any]:
    """Market calls per 10 minutes at start-up and after a tier change, against the share."""
    if products < 180:
        raise SystemExit("market: --products must be at least 180 (the scenario lists 180)")
    async with pricing_runtime() as runtime, simulator(products) as (control, client):
        state = (await control.get("/_sim/state/products")).json()["products"]
        firsts = await _seed_tiers(runtime.pool, state)
        settings = PricingSettings()
        clock = Clock()
        poller = MarketPoller(PricingService(runtime, settings, clock), stockx=lambda: client)
        await control.post("/_sim/requests/clear")
        changes: dict[int, Callable[[], Awaitable[None]]] = {
            2: lambda: _list(runtime.pool, firsts, 0, 60),
            60: lambda: _tier_change(runtime.pool, firsts),
        }
        for minute in range(120):
            if minute in changes:
                await changes[minute]()
            await poller.tick()
            clock.now += timedelta(seconds=TICK_S)
            await control.post("/_sim/advance", json={"seconds": TICK_S})
        log = (await control.get("/_sim/requests")).json()["requests"]
    share = runtime.settings.stockx_daily_budget * settings.market_budget_share * WINDOW_S / DAY_S
    calls = sorted(
        (parse_iso(r["time"]), r["status"]) for r in log if r["path"].endswith("/market-data")
    )
    start = calls[0][0] if calls else 0.0
    phases = {"start_up": (0.0, 3600.0), "after_tier_change": (3600.0, 7200.0)}
    report: dict[str, Any] = {"share_per_10min": round(share, 1), "bound_ratio": 1.2}
    for phase, (low, high) in phases.items():
        times = [t for t, _ in calls if low <= t - start < high]
        peak = peak_per_window(times)
        report[phase] = {
            "calls": len(times), "peak_per_10min": peak, "ratio": round(peak / share, 3),
        }  # fmt: skip
    report["status_429"] = sum(1 for _, status in calls if status == 429)
    report["products"] = products
    report["realtime_start_up"] = await _realtime(products, realtime_s)
    return report


async def _realtime(products: int, seconds: float) -> dict[str, Any]:
    """A fresh poller on the wall clock against a simulator enforcing 1 request/s."""
    async with pricing_runtime() as runtime, simulator(products, rate_per_s=1.0) as (sim, client):
        state = (await sim.get("/_sim/state/products")).json()["products"]
        firsts = await _seed_tiers(runtime.pool, state)
        await _list(runtime.pool, firsts, 0, 60)
        service = PricingService(
            runtime, PricingSettings(poll_tick_s=1.0), lambda: datetime.now(UTC)
        )
        poller = MarketPoller(service, stockx=lambda: client)
        started = time.monotonic()
        task = asyncio.create_task(poller.run())
        await asyncio.sleep(seconds)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        log = (await sim.get("/_sim/requests")).json()["requests"]
    statuses = [r["status"] for r in log if r["path"].endswith("/market-data")]
    return {
        "seconds": round(time.monotonic() - started, 1),
        "calls": len(statuses),
        "status_429": statuses.count(429),
    }


async def _tier_change(pool: asyncpg.Pool, firsts: list[str]) -> None:
    await pool.execute(
        "UPDATE listing SET status = 'EXPIRED' WHERE listing_id = ANY($1)",
        [f"L{index}" for index in range(30)],
    )
    await _list(pool, firsts, 120, 60)


SCENARIOS: dict[str, Callable[[argparse.Namespace], Awaitable[dict[str, Any]]]] = {
    "orders": lambda args: orders(
        os.environ.get("SOLEFLIP_BENCH_DATABASE_URL", ADMIN_DSN),
        os.environ.get("SOLEFLIP_BENCH_NATS_URL", "nats://127.0.0.1:4222"),
        args.orders,
        args.listings,
    ),
    "market": lambda args: market(args.products, args.realtime_s),
}


async def main(args: argparse.Namespace) -> dict[str, Any]:
    chosen = [args.scenario] if args.scenario else list(SCENARIOS)
    return {name: await SCENARIOS[name](args) for name in chosen}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--listings", type=int, default=500)
    parser.add_argument("--realtime-s", type=float, default=60.0)
    logging.basicConfig(level=logging.WARNING, force=True)  # keep stdout for the JSON
    print(json.dumps(asyncio.run(main(parser.parse_args())), indent=2))
