"""Memory soak of every service (issue 17): each one's RSS under a mixed load, flat for 10 minutes.

    .venv/bin/python bench/soak.py [--minutes 10] [--webhooks 40] [--reads 20]

Runs what `./soleflip dev` runs, each as its own process: the StockX simulator (`soleflip serve
stockx-sim`: StockX's 1 request/s enforced, its clock at `SIM_SPEED` so orders move through their
lifecycle, its relay posting signed change events to ingest) and `soleflip serve ingest`,
`catalog`, `orders` and `pricing` against it, on a fresh database (every schema) of
SOLEFLIP_BENCH_DATABASE_URL (default the local Postgres) and a fresh NATS prefix of
SOLEFLIP_BENCH_NATS_URL, or else a NATS server of its own from the wheel `soleflip dev` runs (a
consumer of several subjects needs NATS 2.10+), polling the simulator every `POLL_INTERVAL_S`.
A pricing rule recommends a price for every listing. Then, for `--minutes`, open-loop generator
processes (bench/_load.py) send:

- signed StockX webhooks to ingest at `--webhooks`/s: the simulator's orders again, its listings
  at moved asks, its products with their variants, and market data of its variants (asks and bids
  moving), all with fresh event ids; and a buyer buys a listing at the simulator every
  `BUY_EVERY_S` (the new order reaches ingest through the relay and the orders poll);
- signed n8n purchases (`inventory.item.purchased` of the simulator's styles and sizes) at a
  tenth of that rate;
- authenticated REST reads at `--reads`/s to each of catalog, orders and pricing (lists,
  lookups, reports).

Every 10 s it samples each service's RSS; prints one JSON document with the series, each service's
growth over the second half (the first is warm-up) and `soak_memory_flat`: every service grew by at
most `SOAK_FLAT_MB`. Also, per target, the statuses answered and the latency, the rows the services
hold at the end, and the machine's load: on a shared box rates and latencies swing, memory is the
figure this bench is for.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack, contextmanager, suppress
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import asyncpg
import httpx
import msgspec
from nats import connect as nats_connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._load import LoadSpec, RequestFactory, run_load, signer, summarize
from bench._served import NATS, RssSeries, fresh_database, served
from soleflip.common.crypto import Crypto
from soleflip.common.http.auth import hash_token
from soleflip.common.localinfra import NatsServer
from soleflip.common.localinfra.devstack import SIM_ENV

SERVICES = ("catalog", "orders", "pricing", "ingest")  # ingest last: the consumers exist first
#: Most a service's RSS may grow over the second half of a soak and still count as flat.
SOAK_FLAT_MB = 5.0
POLL_INTERVAL_S = 60.0
SIM_SPEED = 60.0
BUY_EVERY_S = 5.0
SIM_ENV_SEED = {"SOLEFLIP_SIM_SEED": "17", "SOLEFLIP_SIM_PRODUCTS": "100",
                "SOLEFLIP_SIM_LISTINGS": "200", "SOLEFLIP_SIM_ORDERS": "100",
                "SOLEFLIP_LOG_LEVEL": "warning"}  # fmt: skip
SUPPLIERS = ("Nike SNKRS", "END.", "Solebox", "Zalando", "private")
ROWS_SQL = {
    "catalog_products": "SELECT count(*) FROM catalog.product",
    "orders_orders": 'SELECT count(*) FROM orders."order"',
    "orders_listings": "SELECT count(*) FROM orders.listing",
    "orders_stock_items": "SELECT count(*) FROM orders.stock_item",
    "pricing_market_snapshots": "SELECT count(*) FROM pricing.market_snapshot",
    "pricing_recommendations": "SELECT count(*) FROM pricing.recommendation",
}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _event(kind: str, msg_id: str, data: Any) -> bytes:
    return msgspec.json.encode(
        {"specversion": "1.0", "id": msg_id, "source": "soak", "type": kind, "time": _now(),
         "data": data}
    )  # fmt: skip


def webhooks(world: dict[str, Any], spec: LoadSpec) -> RequestFactory:
    """StockX's webhooks in turn: orders, listings, market data (three in eight), products."""
    sign, rng = signer(spec), random.Random(spec.id_prefix)
    kinds = ("order", "market", "listing", "market", "product", "order", "market", "listing")

    def data(kind: str) -> tuple[str, Any]:
        if kind == "order":
            return "stockx.order.updated", rng.choice(world["orders"])
        if kind == "listing":
            listing = rng.choice(world["listings"])
            ask = max(1, int(listing["amount"]) + rng.randint(-10, 10))
            return "stockx.listing.updated", {**listing, "amount": str(ask), "updatedAt": _now()}
        if kind == "product":
            return "stockx.product.updated", rng.choice(world["products"])
        markets = []
        for variant_id, product_id in rng.sample(world["variants"], rng.randint(1, 3)):
            ask = rng.randint(90, 260)
            markets.append(
                {"variantId": variant_id, "productId": product_id, "currencyCode": "EUR",
                 "lowestAskAmount": str(ask), "highestBidAmount": str(ask - rng.randint(5, 40)),
                 "sellFasterAmount": str(ask - 1), "earnMoreAmount": str(ask + 9)}
            )  # fmt: skip
        return "stockx.market.updated", markets

    def build(n: int) -> bytes:
        msg_id = f"{spec.id_prefix}-{n}"
        kind, payload = data(kinds[n % len(kinds)])
        return sign(msg_id, _event(kind, msg_id, payload))

    return build


def purchases(world: dict[str, Any], spec: LoadSpec) -> RequestFactory:
    """n8n's purchase log: a unit of one of the simulator's styles and sizes each."""
    sign, rng = signer(spec), random.Random(spec.id_prefix)

    def build(n: int) -> bytes:
        msg_id = f"{spec.id_prefix}-{n}"
        style, size = rng.choice(world["sizes"])
        cost = {"amount": f"{rng.randint(60, 180)}.00", "currency": "EUR"}
        data = {
            "sku": style, "size": size, "size_type": "us m", "quantity": 1, "unit_cost": cost,
            "purchased_at": _now(), "supplier": rng.choice(SUPPLIERS), "external_id": msg_id,
        }  # fmt: skip
        return sign(msg_id, _event("inventory.item.purchased", msg_id, data))

    return build


def reads(targets: list[str], token: str, spec: LoadSpec) -> RequestFactory:
    """GETs of `targets` in turn, with the bearer token."""
    tail = f"HTTP/1.1\r\nhost: {spec.host}\r\nauthorization: Bearer {token}\r\n\r\n".encode()

    def build(n: int) -> bytes:
        return b"GET " + targets[n % len(targets)].encode() + b" " + tail

    return build


def read_targets(world: dict[str, Any]) -> dict[str, list[str]]:
    """What a dashboard reads from each service: lists, lookups by the simulator's ids, reports."""
    rng = random.Random(5)
    product, variant = rng.choice(world["products"]), rng.choice(world["variants"])
    per_id: dict[str, Callable[[], list[str]]] = {
        "catalog": lambda: [
            f"/api/v1/products/{rng.choice(world['products'])['productId']}",
            f"/api/v1/products/by-sku/{quote(rng.choice(world['sizes'])[0], safe='')}",
            _by_size(rng.choice(world["products"]), rng),
            "/api/v1/products?q=dunk&limit=20", "/api/v1/products?limit=50",
            "/api/v1/enrichment?limit=20",
        ],
        "orders": lambda: [
            f"/api/v1/orders/{rng.choice(world['orders'])['orderNumber']}",
            f"/api/v1/listings/{rng.choice(world['listings'])['listingId']}",
            "/api/v1/orders?limit=50", "/api/v1/listings?limit=50", "/api/v1/stock?limit=50",
            "/api/v1/reports/inventory", "/api/v1/reports/sales?group_by=product",
            "/api/v1/payouts/pending", "/api/v1/suppliers", "/api/v1/polls",
        ],
        "pricing": lambda: [
            f"/api/v1/market/{rng.choice(world['variants'])[0]}",
            f"/api/v1/market?product_id={product['productId']}&currency=EUR",
            f"/api/v1/recommendations?variant_id={variant[0]}", "/api/v1/recommendations?limit=50",
            "/api/v1/rules", "/api/v1/fees", "/api/v1/autoreprice", "/api/v1/polls",
        ],
    }  # fmt: skip
    return {name: [t for _ in range(50) for t in make()] for name, make in per_id.items()}


def _by_size(product: dict[str, Any], rng: random.Random) -> str:
    """A variant lookup by one of the product's sizes in its default size system."""
    size = rng.choice(product["variants"])["sizeChart"]["defaultConversion"]
    query = urlencode({"size_type": size["type"], "size_value": size["size"]}, quote_via=quote)
    return f"/api/v1/products/{product['productId']}/variants/by-size?{query}"


async def _world(sim: str) -> dict[str, Any]:
    """The simulator's products, variants, listings and orders, as the generators send them."""
    async with httpx.AsyncClient(base_url=sim, timeout=30) as client:
        state = {
            kind: (await client.get(f"/_sim/state/{kind}")).json()[kind]
            for kind in ("products", "listings", "orders")
        }
    products = state["products"]
    variants = [(v["variantId"], p["productId"]) for p in products for v in p["variants"]]
    sizes = [(p["styleId"].split("/")[0], v["variantValue"]) for p in products
             if p["styleId"] for v in p["variants"]]  # fmt: skip
    return {**state, "variants": variants, "sizes": sizes}


@contextmanager
def nats_server() -> Iterator[str]:
    """SOLEFLIP_BENCH_NATS_URL when set, else a server of the wheel `soleflip dev` runs: a
    consumer of several subjects needs NATS 2.10+ (an older server ignores the filters)."""
    if os.environ.get("SOLEFLIP_BENCH_NATS_URL"):
        yield NATS
        return
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as base:
        server = NatsServer(Path(base))
        server.start()
        try:
            yield server.url
        finally:
            server.stop()


def _env(dsn: str, nats: str, sim: str, token: str) -> dict[str, str]:
    return {
        **{k: v.replace("http://127.0.0.1:8090", sim) for k, v in SIM_ENV.items()},
        "SOLEFLIP_DATABASE_URL": dsn, "SOLEFLIP_NATS_URL": nats,
        "SOLEFLIP_NATS_PREFIX": f"bs{secrets.token_hex(3)}",
        "SOLEFLIP_FERNET_KEYS": Crypto.generate_key(),
        "SOLEFLIP_API_TOKENS": f"soak:read,write:{hash_token(token)}",
        "SOLEFLIP_WEBHOOK_SECRETS_STOCKX": _whsec(), "SOLEFLIP_WEBHOOK_SECRETS_N8N": _whsec(),
        "SOLEFLIP_POLL_INTERVAL_S": str(POLL_INTERVAL_S), "SOLEFLIP_LOG_LEVEL": "warning",
    }  # fmt: skip


def _whsec() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _specs(
    run: dict[str, Any],
    world: dict[str, Any],
    seconds: float,
    webhooks_per_s: float,
    reads_per_s: float,
) -> dict[str, LoadSpec]:
    env, ports, token = run["env"], run["ports"], run["token"]
    tag = secrets.token_hex(3)
    spec = partial(LoadSpec, "127.0.0.1", duration_s=seconds, id_prefix=f"soak-{tag}")
    targets = read_targets(world)
    specs = {
        "webhooks_stockx": spec(
            ports["ingest"], "/webhooks/stockx", 8, rate_per_s=webhooks_per_s,
            secret=env["SOLEFLIP_WEBHOOK_SECRETS_STOCKX"], requests=partial(webhooks, world),
        ),
        "webhooks_n8n": spec(
            ports["ingest"], "/webhooks/n8n", 2, rate_per_s=webhooks_per_s / 10,
            secret=env["SOLEFLIP_WEBHOOK_SECRETS_N8N"], requests=partial(purchases, world),
            id_prefix=f"buy-{tag}",
        ),
    }  # fmt: skip
    for name in ("catalog", "orders", "pricing"):
        specs[f"reads_{name}"] = spec(
            ports[name],
            "",
            4,
            rate_per_s=reads_per_s,
            requests=partial(reads, targets[name], token),
        )
    return specs


async def _buyer(sim: str, stop: asyncio.Event, outcomes: dict[str, int]) -> None:
    """A buyer buys one of the simulator's listings every `BUY_EVERY_S`."""
    async with httpx.AsyncClient(base_url=sim, timeout=30) as client:
        while not stop.is_set():
            status = (await client.post("/_sim/orders", json={})).status_code
            outcomes[str(status)] = outcomes.get(str(status), 0) + 1
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), BUY_EVERY_S)


async def _prepare(run: dict[str, Any]) -> None:
    """A pricing rule for every listing; the simulator's relay posting to ingest."""
    auth = {"authorization": f"Bearer {run['token']}"}
    async with httpx.AsyncClient(timeout=30) as client:
        rule = {"strategy": "match_lowest_ask", "priority": 100, "min_margin_pct": "10"}
        answer = await client.post(
            f"{run['urls']['pricing']}/api/v1/rules", json=rule, headers=auth
        )
        answer.raise_for_status()
        relay = {"url": f"{run['urls']['ingest']}/webhooks/stockx",
                 "secret": run["env"]["SOLEFLIP_WEBHOOK_SECRETS_STOCKX"]}  # fmt: skip
        (await client.put(f"{run['sim']}/_sim/relay", json=relay)).raise_for_status()


async def _rows(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        return {name: int(await conn.fetchval(sql)) for name, sql in ROWS_SQL.items()}
    finally:
        await conn.close()


async def _backlog(nats: str, prefix: str) -> dict[str, int]:
    """Messages each consumer has not acknowledged yet: did the services keep up?"""
    nc = await nats_connect(nats)
    try:
        js, backlog = nc.jetstream(), {}
        for stream in await js.streams_info():
            if stream.config.name and stream.config.name.startswith(f"{prefix}_"):
                for info in await js.consumers_info(stream.config.name):
                    waiting = (info.num_pending or 0) + (info.num_ack_pending or 0)
                    backlog[info.name.removeprefix(f"{prefix}_")] = waiting
        return dict(sorted(backlog.items()))
    finally:
        await nc.close()


async def soak(minutes: float, webhooks_per_s: float, reads_per_s: float) -> dict[str, Any]:
    seconds = minutes * 60
    token = secrets.token_urlsafe(24)
    async with AsyncExitStack() as stack:
        nats = stack.enter_context(nats_server())
        dsn = await stack.enter_async_context(fresh_database("catalog", "orders", "pricing"))
        sim_env = {**SIM_ENV_SEED, "SOLEFLIP_SIM_CLOCK_SPEED": str(SIM_SPEED)}
        sim = (await stack.enter_async_context(served("stockx-sim", sim_env))).url
        env = _env(dsn, nats, sim, token)
        procs = {name: await stack.enter_async_context(served(name, env)) for name in SERVICES}
        run = {"env": env, "sim": sim, "token": token,
               "urls": {n: p.url for n, p in procs.items()},
               "ports": {n: p.port for n, p in procs.items()}}  # fmt: skip
        await _prepare(run)
        world = await _world(sim)
        specs = _specs(run, world, seconds, webhooks_per_s, reads_per_s)
        load_start, stop, bought = os.getloadavg(), asyncio.Event(), dict[str, int]()
        buyer = asyncio.create_task(_buyer(sim, stop, bought))
        async with RssSeries({n: p.pid for n, p in procs.items()}) as rss:
            results = await asyncio.to_thread(run_load, list(specs.values()), _nothing, _nothing)
        stop.set()
        await buyer
        async with httpx.AsyncClient(base_url=sim) as client:
            relay = (await client.get("/_sim/relay")).json()
        rows = await _rows(dsn)
        backlog = await _backlog(nats, env["SOLEFLIP_NATS_PREFIX"])
    return {
        "minutes": minutes, "cpus": os.cpu_count(),
        "load_avg_start": [round(v, 2) for v in load_start],
        "load_avg_end": [round(v, 2) for v in os.getloadavg()],
        **rss.report(), "soak_flat_mb": SOAK_FLAT_MB, "soak_memory_flat": rss.flat(SOAK_FLAT_MB),
        "load": {name: summarize([r], seconds) for name, r in zip(specs, results, strict=True)},
        "sim_buys": bought, "sim_relay": relay, "rows_at_end": rows,
        "consumer_backlog_at_end": backlog,
    }  # fmt: skip


def _nothing() -> None:
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--webhooks", type=float, default=40.0, help="StockX webhooks per second")
    parser.add_argument("--reads", type=float, default=20.0, help="REST reads/s per service")
    args = parser.parse_args()
    started = time.time()
    result = asyncio.run(soak(args.minutes, args.webhooks, args.reads))
    result["wall_s"] = round(time.time() - started, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
