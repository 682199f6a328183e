"""Benchmark of pricing's full re-evaluation (issue 6) over 10,000 active listings. Not a test.

    .venv/bin/python bench/pricing.py [--listings 10000]

Uses SOLEFLIP_BENCH_DATABASE_URL (an admin DSN; default the local dev Postgres), creates a
throwaway database and migrates pricing into it; fills listings, stock (landed cost), markets and
five rules with auto-reprice on. Then measures, for every active listing: the domain alone
(rule, floor, strategy, payout, profit and next action, exact in Decimal), and the service's full
re-evaluation in one unit of work (`handlers.reevaluate`: load context rows, evaluate, store the
recommendations, book reprices and enqueue their events in the outbox) and the outbox relay
publishing every event it enqueued to JetStream (SOLEFLIP_BENCH_NATS_URL, a fresh prefix), all
inside the timed window, three times after a market move of every variant with cool-downs
expired (the worst case: a recommendation and a reprice request per listing). Prints one JSON
document with the median, its ratio to the domain-only rate of the same run (issue 17's target:
>= 0.5) and the machine's load (Postgres and NATS share it); per pass also this process's CPU per
recommendation, its Postgres backends', and the relay's CPU per published event (figures that
swing less with a shared box's load than the rates), and this process's resident memory (RSS)
after the pass: it runs what the service would, the re-evaluation and the relay. Last, the
bus-only floor: the last pass's events published again (fresh message ids) straight from memory
in the relay's batches, so the report can say how much of the window JetStream alone needs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
from nats.js import JetStreamContext

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._cpu import CpuMeter, rss_mb
from soleflip.common.bus import Names, Outgoing, Publisher, connect, ensure_streams, stream_spec
from soleflip.common.db import OutboxMessage, OutboxRelay, UnitOfWork, create_pool, migrate
from soleflip.common.runtime import freeze_startup_objects
from soleflip.common.testing.plugin import database_dsn
from soleflip.pricing import handlers, queries

NATS = os.environ.get("SOLEFLIP_BENCH_NATS_URL", "nats://127.0.0.1:4222")
RELAY_BATCH = 500  # the relay's default batch
BRANDS = ["Nike", "Jordan", "adidas", "New Balance", "ASICS"]
RULES = [
    {"strategy": "beat_lowest_ask", "beat_amount": "1", "brand": "Nike", "priority": 10},
    {"strategy": "beat_lowest_ask", "beat_pct": "2", "brand": "adidas", "priority": 10},
    {"strategy": "sell_faster", "brand": "Jordan", "priority": 20},
    {"strategy": "earn_more", "brand": "ASICS", "priority": 20, "ceiling": "400"},
    {"strategy": "match_lowest_ask", "priority": 100, "min_margin_pct": "10"},
]
FILL_SQL = """
INSERT INTO variant (variant_id, product_id, brand, style_id)
SELECT 'v' || i, 'p' || (i / 10), ($2::text[])[1 + i % 5], 'S-' || (i / 10)
FROM generate_series(0, $1 - 1) AS i;
"""
LISTINGS_SQL = """
INSERT INTO listing (listing_id, status, variant_id, product_id, stock_item_id, amount, currency)
SELECT 'l' || i, 'ACTIVE', 'v' || i, 'p' || (i / 10), i, 150 + i % 50, 'EUR'
FROM generate_series(0, $1 - 1) AS i
"""
STOCK_SQL = """
INSERT INTO stock_item (stock_item_id, variant_id, listing_id, status, unit_cost, currency)
SELECT i, 'v' || i, 'l' || i, 'LISTED', 60 + (i % 70), 'EUR' FROM generate_series(0, $1 - 1) AS i
"""
RESET_SQL = """
UPDATE listing SET pending_amount = NULL, pending_since = NULL, last_reprice_at = NULL,
                   rec_price = NULL, rec_status = NULL
"""
MARKET_SQL = """
INSERT INTO market_latest AS m (variant_id, currency, product_id, lowest_ask, highest_bid,
                                sell_faster, earn_more, observed_at, changed_at)
SELECT 'v' || i, 'EUR', 'p' || (i / 10), 120 + (i * 7) % 90 + $2, 100 + i % 40,
       119 + (i * 7) % 90 + $2, 128 + (i * 7) % 90 + $2, now(), now()
FROM generate_series(0, $1 - 1) AS i
ON CONFLICT (variant_id, currency) DO UPDATE SET
    lowest_ask = excluded.lowest_ask, sell_faster = excluded.sell_faster,
    earn_more = excluded.earn_more
"""


BACKENDS_SQL = "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
#: The last pass's events as the relay publishes them (for the bus-only floor).
LAST_EVENTS_SQL = """
SELECT subject, payload, headers::text FROM outbox ORDER BY id DESC LIMIT $1
"""


async def _fill(pool: asyncpg.Pool, listings: int) -> None:
    async with pool.acquire() as conn:
        await conn.execute(FILL_SQL, listings, BRANDS)
        await conn.execute(LISTINGS_SQL, listings)
        await conn.execute(STOCK_SQL, listings)
        await conn.execute(MARKET_SQL, listings, 0)
        await conn.execute("ANALYZE")  # what autovacuum does for a live database
    now = datetime.now(UTC)
    async with UnitOfWork(pool) as uow:
        for rule in RULES:
            await handlers.create_rule({**rule, "auto_reprice": True}, conn=uow.conn, now=now)
        await uow.commit()
    async with pool.acquire() as conn:
        # Switched on without a re-evaluation, so the measured pass is the worst case: every
        # listing gets a recommendation and most a reprice request (two events each).
        await conn.execute("UPDATE autoreprice SET enabled = true")


async def _domain_rate(pool: asyncpg.Pool) -> dict[str, Any]:
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        context = await handlers.Context.load(conn, now)
        rows = await queries.evaluation_context(conn, None, None)
    started = time.perf_counter()
    results = handlers.evaluate_rows(rows, context, now)
    seconds = time.perf_counter() - started
    priced = [r for r in results if r.price is not None]
    assert all(r.floor is None or r.price >= r.floor for r in priced if r.price is not None)
    return {"evaluated": len(results), "priced": len(priced), "seconds": round(seconds, 3),
            "recommendations_per_s": round(len(results) / seconds)}  # fmt: skip


async def _full_rate(
    pool: asyncpg.Pool, relay: OutboxRelay, listings: int, shift: int
) -> dict[str, Any]:
    """One full re-evaluation after every variant's market moved and every cool-down expired:
    the worst case, where most listings get a recommendation and a reprice request. The window
    ends once the relay has published (PubAck) every event the pass enqueued."""
    async with pool.acquire() as conn:
        await conn.execute(RESET_SQL)
        await conn.execute(MARKET_SQL, listings, shift)
        outbox_before = await conn.fetchval("SELECT count(*) FROM outbox")
        backends = [r["pid"] for r in await conn.fetch(BACKENDS_SQL)]
    meter = CpuMeter()
    # The pool's backends served the fill and earlier passes: charge only this pass's CPU.
    meter.add_backends(backends, from_now=True)
    started = time.perf_counter()
    meter.start()
    async with UnitOfWork(pool) as uow:
        results = await handlers.reevaluate(conn=uow.conn, now=datetime.now(UTC))
        await uow.commit()
    committed, committed_cpu = time.perf_counter(), time.process_time()
    published = await relay.drain()
    seconds = time.perf_counter() - started
    publish_cpu = time.process_time() - committed_cpu
    cpu = meter.report(len(results))
    async with pool.acquire() as conn:
        events = await conn.fetchval("SELECT count(*) FROM outbox") - outbox_before
    statuses = Counter(str(r.status) for r in results)
    return {"evaluated": len(results), "statuses": statuses, "events_enqueued": events,
            "events_published": published, "seconds": round(seconds, 3),
            "publish_seconds": round(started + seconds - committed, 3),
            # This process's CPU for the relay alone (fetch, publish, PubAcks, mark) per event.
            "relay_cpu_us_per_event": round(publish_cpu / max(published, 1) * 1e6, 1),
            "cpu_us_per_recommendation": cpu["orders_cpu_us_per_event"],
            "postgres_cpu_us_per_recommendation": cpu["postgres_cpu_us_per_event"],
            "machine_busy_cores": cpu["machine_busy_cores"],
            "pricing_rss_mb": rss_mb(os.getpid()),
            "recommendations_per_s": round(len(results) / seconds)}  # fmt: skip


async def _bus_floor(
    pool: asyncpg.Pool, publisher: Publisher, events: int, window_s: float
) -> dict[str, Any]:
    """JetStream alone: the last pass's events (same subjects, payloads and headers, fresh
    message ids) published in relay-sized pipelined batches, no Postgres in between. What the
    bus needs of the window whatever pricing does."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(LAST_EVENTS_SQL, events)
    decode = msgspec.json.Decoder(dict[str, str]).decode
    messages = [
        Outgoing(r[0], bytes(r[1]), f"floor-{i}-{secrets.token_hex(4)}", decode(r[2]))
        for i, r in enumerate(reversed(rows))
    ]
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(messages), RELAY_BATCH):
        await publisher.publish_many(messages[start : start + RELAY_BATCH])
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"messages": len(messages), "seconds": round(seconds, 3),
            "cpu_us_per_message": round(cpu / max(len(messages), 1) * 1e6, 1),
            "share_of_median_window": round(seconds / window_s, 3)}  # fmt: skip


def _relay(pool: asyncpg.Pool, js: JetStreamContext, names: Names) -> OutboxRelay:
    publisher = Publisher(js, names)

    async def publish(messages: Sequence[OutboxMessage]) -> None:
        await publisher.publish_many(
            [Outgoing(m.subject, m.payload, m.msg_id, m.headers) for m in messages]
        )

    return OutboxRelay(pool, publish, batch=RELAY_BATCH, name="bench")


async def main(listings: int) -> dict[str, Any]:
    admin = os.environ.get(
        "SOLEFLIP_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    name = f"soleflip_bench_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    dsn = database_dsn(admin, name)
    try:
        await migrate(dsn, "pricing", files("soleflip.pricing").joinpath("migrations"))
        pool = await create_pool(dsn, schema="pricing", max_size=4)
        names = Names(f"bp{secrets.token_hex(3)}")
        nc = await connect((NATS,), name="bench-pricing")
        try:
            await ensure_streams(nc.jetstream(), names, specs=[stream_spec("PRICING")])
            relay = _relay(pool, nc.jetstream(), names)
            await _fill(pool, listings)
            await relay.drain()  # what the rules' creation enqueued, before any timed window
            freeze_startup_objects()  # as the service does once started
            domain = await _domain_rate(pool)
            passes = [await _full_rate(pool, relay, listings, shift) for shift in (7, -3, 11)]
            window = statistics.median(p["seconds"] for p in passes)
            floor = await _bus_floor(
                pool, Publisher(nc.jetstream(), names), passes[-1]["events_published"], window
            )
        finally:
            await nc.close()
            await pool.close()
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
    median = statistics.median(p["recommendations_per_s"] for p in passes)
    ratio = round(median / domain["recommendations_per_s"], 3)
    return {"bench": "pricing.full_reevaluation", "listings": listings, "domain_only": domain,
            "full_reevaluation": passes, "recommendations_per_s": median,
            "ratio_to_domain_only": ratio, "target_ratio": 0.5, "meets_target": ratio >= 0.5,
            "bus_only_floor": floor,
            "load_average_1m": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=10_000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.listings)), indent=2))
    sys.exit(0)
