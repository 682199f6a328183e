"""Benchmark of orders (issues 4, 17): events/s applied (batch path), webhook→row latency.

    .venv/bin/python bench/orders.py [--events 30000] [--rate 500] [--duration 10]
        [--only batch|webhook] [--batch-sizes 1000,100] [--statements]

Uses the Postgres and NATS of SOLEFLIP_BENCH_DATABASE_URL / SOLEFLIP_BENCH_NATS_URL (default: the
local dev servers), a fresh database and a fresh NATS prefix per run.

1. Batch path: `--events` order events (new orders and status changes) wait in INGEST; the orders
   consumer starts and applies them (inbox claim, never-backwards upsert, history, outbox, one
   transaction per fetched batch). Prints events/s from the first to the last applied batch, and
   (`cpu`) the CPU time per event of this process (consumer and outbox relay, until every
   resulting event is published) and of its Postgres backends, with the machine's busy cores and
   load: on a shared box the wall-clock rate swings with the load, CPU per event much less.
   Run once per `--batch-sizes` entry (the first is the headline `batch_path`, the others
   `batch_path_<n>`); `batch_cost_ratio` is the CPU per event (orders + Postgres) of each other
   size against the first (issue 17: batch 100 within 1.5 x batch 1,000).
   Baseline (`unnest_baseline`): the same rows (the same order numbers, statuses and versions, in
   the same order and batches of the first size) upserted by a plain `INSERT ... SELECT FROM
   unnest(...) ON CONFLICT DO UPDATE ... WHERE newer`, one transaction per batch, into a fresh
   orders database (the same table, indexes and triggers), from this process; no inbox, history,
   outbox or bus. `ratio_to_unnest` is orders' rate over the baseline's in the same run (issue
   17's target: >= 0.5), `cpu_ratio_to_unnest` the same in CPU per event (orders + Postgres).
   `--statements` first runs the first size once more with every query metered
   (`postgres_statements`: each statement's backend CPU per event, bench/_pgstat.py; the local
   Postgres has no pg_stat_statements), so a reader sees which statement the Postgres cost is.
2. Webhook path: `soleflip serve ingest` and `soleflip serve orders` run as processes (polling
   idle: no StockX); this process sends signed webhooks at `--rate` per second (open loop) and
   measures, per event, the time from sending the HTTP request to ingest to the order row written
   (`request_to_row`: `synced_at`, taken by the upsert statement; issue 17's target p99 < 15 ms),
   the same from ingest's 202 (`webhook_202_to_row`), and from the 202 to the
   `orders.order.upserted` event arriving on NATS (after commit and the outbox relay: an upper
   bound). Prints the distributions as JSON, with the RSS of both
   services at the end and every 10 s (a 10-minute soak of every service: bench/soak.py).

The batch path prints this process's RSS (it runs the consumer and the relay).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import secrets
import sys
import time
import urllib.parse
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._cpu import CpuMeter, rss_mb
from bench._load import LoadSpec, signer
from bench._pgstat import StatementMeter
from bench._served import NATS, RssSeries, fresh_database, served
from soleflip.common.bus import Names, Outgoing, Publisher, connect, ensure_streams, stream_spec
from soleflip.common.crypto import Crypto
from soleflip.common.settings import Settings
from soleflip.orders.app import build_service
from soleflip.orders.domain import order_rank
from soleflip.orders.settings import OrdersSettings

STATUSES = ("CREATED", "SHIPPED")
UNPUBLISHED = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
CLAIMS = "SELECT count(*) FROM inbox"
BATCH = int(os.environ.get("SOLEFLIP_BENCH_BATCH", "1000"))
#: issue 17's targets: orders' rate against the plain upsert, batch 100's cost against 1,000's.
TARGET_RATIO_TO_UNNEST = 0.5
TARGET_BATCH_COST_RATIO = 1.5
TARGET_REQUEST_TO_ROW_P99_MS = 15.0


def order_event(number: str, status: str, step: int) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": secrets.token_hex(16),
        "source": "bench",
        "type": "stockx.order.updated",
        "data": {
            "orderNumber": number,
            "listingId": None,
            "amount": "102",
            "currencyCode": "EUR",
            "status": status,
            "createdAt": "2026-01-01T09:00:00.000Z",
            "updatedAt": f"2026-01-01T1{step}:00:00.000Z",
            "variant": {"variantId": "bench-variant"},
            "product": {"productId": "bench-product"},
            "payout": None,
            "inventoryType": "STANDARD",
        },
    }


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"n": len(ordered), "p50_ms": at(0.5), "p90_ms": at(0.9), "p99_ms": at(0.99),
            "max_ms": round(ordered[-1] * 1000, 2)}  # fmt: skip


def settings_for(dsn: str, prefix: str) -> Settings:
    return Settings(
        database_url=dsn,
        nats_url=(NATS,),
        nats_prefix=prefix,
        stockx_api_url="http://127.0.0.1:9/v2",
        fernet_keys=(Crypto.generate_key(),),
        log_level="warning",
    )


async def count(dsn: str, sql: str) -> int:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "orders"})
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


def burst_of(events: int) -> list[dict[str, Any]]:
    """`events` order events: every order CREATED, then every order SHIPPED (stream order)."""
    orders = events // len(STATUSES)
    return [
        order_event(f"B-{n:07d}", status, step)
        for step, status in enumerate(STATUSES)
        for n in range(orders)
    ]


UNNEST_UPSERT_SQL = """
INSERT INTO "order" AS o (order_number, status, status_rank, variant_id, product_id, amount,
                          currency, inventory_type, created_at, updated_at, synced_at)
SELECT t.*, clock_timestamp()
FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::numeric[],
            $7::text[], $8::text[], $9::timestamptz[], $10::timestamptz[]) AS t
ON CONFLICT (order_number) DO UPDATE SET
    status = excluded.status, status_rank = excluded.status_rank,
    variant_id = excluded.variant_id, product_id = excluded.product_id,
    amount = excluded.amount, currency = excluded.currency,
    inventory_type = excluded.inventory_type, updated_at = excluded.updated_at,
    synced_at = excluded.synced_at
WHERE (excluded.updated_at, excluded.status_rank) > (o.updated_at, o.status_rank)
"""


SHIPPED_SQL = """SELECT count(*) FROM "order" WHERE status = 'SHIPPED'"""


def _columns(chunk: list[dict[str, Any]]) -> list[list[Any]]:
    """The baseline's parameters: one array per column, from the events' `data`."""
    data = [e["data"] for e in chunk]
    return [
        [d["orderNumber"] for d in data],
        [d["status"] for d in data],
        [order_rank(d["status"]) for d in data],
        [d["variant"]["variantId"] for d in data],
        [d["product"]["productId"] for d in data],
        [Decimal(d["amount"]) for d in data],
        [d["currencyCode"] for d in data],
        [d["inventoryType"] for d in data],
        [datetime.fromisoformat(d["createdAt"]) for d in data],
        [datetime.fromisoformat(d["updatedAt"]) for d in data],
    ]


async def unnest_baseline(events: int, batch: int) -> dict[str, Any]:
    """The same rows as the batch path, upserted by one plain `unnest` statement per batch."""
    burst = burst_of(events)
    async with fresh_database("orders") as dsn:
        conn = await asyncpg.connect(dsn, server_settings={"search_path": "orders"})
        try:
            meter = CpuMeter()
            meter.add_backends([conn.get_server_pid()])
            started = time.perf_counter()
            meter.start()
            for start in range(0, len(burst), batch):
                async with conn.transaction():
                    await conn.execute(UNNEST_UPSERT_SQL, *_columns(burst[start : start + batch]))
            elapsed = time.perf_counter() - started
            cpu = meter.report(len(burst))
            rows = int(await conn.fetchval('SELECT count(*) FROM "order"'))
            shipped = int(await conn.fetchval(SHIPPED_SQL))
        finally:
            await conn.close()
    return {
        "events": len(burst),
        "batch_size": batch,
        "rows": rows,
        "shipped": shipped,
        "seconds": round(elapsed, 3),
        "events_per_s": round(len(burst) / elapsed),
        "cpu": cpu,
    }


def _cost_us(result: dict[str, Any]) -> float | None:
    """CPU per event of a run: this process plus its Postgres backends (None if unreadable)."""
    cpu = result["cpu"]
    if cpu["postgres_cpu_us_per_event"] is None:
        return None
    return float(cpu["orders_cpu_us_per_event"] + cpu["postgres_cpu_us_per_event"])


def statement_meter() -> StatementMeter:
    """Names the statements of the batch path (consumer, handlers, outbox, relay)."""
    from soleflip.common.db import _inbox, _outbox, _relay
    from soleflip.orders import repository
    from soleflip.orders.repository import _fees, _orders, _stock

    modules = [_inbox, _outbox, _relay, repository, _fees, _orders, _stock]
    return StatementMeter(modules, ignore=(CLAIMS, UNPUBLISHED))


async def batch_path(
    events: int, batch: int = BATCH, *, statements: bool = False
) -> dict[str, Any]:
    """Events/s the consumer applies when a backlog waits in INGEST; with `statements`, the
    Postgres CPU per event of each statement too (it slows the run: not for the ratios)."""
    prefix = f"bo{secrets.token_hex(3)}"
    names = Names(prefix)
    burst = burst_of(events)
    async with fresh_database("orders") as dsn:
        nc = await connect((NATS,), name="bench")
        js = nc.jetstream()
        await ensure_streams(js, names, specs=[stream_spec("INGEST")])
        publisher = Publisher(js, names)
        for start in range(0, len(burst), 2000):
            chunk = burst[start : start + 2000]
            await publisher.publish_many(
                [Outgoing(f"ingest.{e['type']}", msgspec.json.encode(e), e["id"]) for e in chunk]
            )
        await nc.close()
        settings = settings_for(dsn, prefix)
        service = build_service(
            settings, OrdersSettings(polling=False, pool_size=4, batch_size=batch)
        )
        meter = CpuMeter()
        per_statement = statement_meter()
        # One connection watches the progress, opened before the meter starts: a connection per
        # poll (20 a second) cost this process 5-15 % on top of what it measures.
        watch = await asyncpg.connect(dsn, server_settings={"search_path": "orders"})
        try:
            # From before start-up (pool, NATS, consumer creation): a conservative figure.
            started = time.perf_counter()
            meter.start()
            measuring = per_statement.measuring() if statements else contextlib.nullcontext()
            with measuring:
                result = await _apply_burst(service, watch, meter, len(burst), started)
            history = int(await watch.fetchval("SELECT count(*) FROM order_status_history"))
        finally:
            await watch.close()
    if statements:
        result["postgres_statements"] = per_statement.report(result["done"])
    done = result.pop("done")
    return {
        "events": len(burst),
        "batch_size": batch,
        "seconds": result["seconds"],
        "events_per_s": round(done / result["seconds"]),
        "history_rows": history,
        **{k: v for k, v in result.items() if k != "seconds"},
    }


async def _apply_burst(
    service: Any, watch: asyncpg.Connection, meter: CpuMeter, events: int, started: float
) -> dict[str, Any]:
    async with service.runtime.lifespan():
        meter.add_backends(await backend_pids(watch))
        # The database is the truth of "applied"; polling it every 50 ms is the measurement.
        while (done := int(await watch.fetchval(CLAIMS))) < events:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        # CPU until the relay published every resulting event too: otherwise a loaded box
        # (relay lagging) would look cheaper per event than an idle one.
        while await watch.fetchval(UNPUBLISHED) > 0:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        meter.add_backends(await backend_pids(watch))
        cpu = meter.report(done)
        rss = rss_mb(os.getpid())
    return {
        "done": done,
        "seconds": round(elapsed, 3),
        "cpu": cpu,
        # The consumer and relay run in this process (with the burst it published beforehand).
        "orders_rss_mb": rss,
    }


async def backend_pids(watch: asyncpg.Connection) -> list[int]:
    """The orders pool's Postgres backends (every other session of the fresh database than the
    bench's own `watch`)."""
    sql = "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
    return [r["pid"] for r in await watch.fetch(sql + " AND pid <> pg_backend_pid()")]


async def webhook_path(rate: float, duration: float) -> dict[str, Any]:
    """Open-loop webhooks at `rate`/s through ingest; 202 → row and 202 → published event."""
    prefix = f"bw{secrets.token_hex(3)}"
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    async with fresh_database("orders") as dsn:
        s = settings_for(dsn, prefix)
        env = {
            "SOLEFLIP_DATABASE_URL": dsn, "SOLEFLIP_NATS_URL": NATS,
            "SOLEFLIP_NATS_PREFIX": prefix, "SOLEFLIP_STOCKX_API_URL": s.stockx_api_url,
            "SOLEFLIP_FERNET_KEYS": s.fernet_keys[0], "SOLEFLIP_POLL_INTERVAL_S": "3600",
            "SOLEFLIP_WEBHOOK_SECRETS_STOCKX": secret, "SOLEFLIP_LOG_LEVEL": "warning",
            "SOLEFLIP_WEBHOOK_RATE_PER_S": str(rate * 4),
        }  # fmt: skip
        async with served("orders", env) as orders, served("ingest", env) as ingest:
            rss = RssSeries({"orders": orders.pid, "ingest": ingest.pid})
            return await _drive(ingest.url, dsn, prefix, secret, rate, duration, rss)


async def _drive(
    ingest: str, dsn: str, prefix: str, secret: str, rate: float, duration: float, rss: RssSeries
) -> dict[str, Any]:
    sent: dict[str, float] = {}
    accepted: dict[str, float] = {}
    failed: list[str] = []
    published: dict[str, float] = {}
    nc = await connect((NATS,), name="bench-watch")

    async def on_event(msg: Any) -> None:
        number = json.loads(msg.data)["data"]["order_number"]
        published.setdefault(number, time.time())

    await nc.subscribe(Names(prefix).subject("orders.order.upserted"), cb=on_event)
    total = int(rate * duration)
    host, port = urllib.parse.urlsplit(ingest).hostname, urllib.parse.urlsplit(ingest).port
    queue: asyncio.Queue[int | None] = asyncio.Queue()

    sign = signer(LoadSpec(str(host), port or 80, "/webhooks/stockx", 32, duration, secret=secret))

    def request(i: int) -> tuple[str, bytes]:
        number = f"W-{i:07d}"
        event = order_event(number, "CREATED", 0)
        return number, sign(event["id"], msgspec.json.encode(event))

    async def connection() -> None:
        # Raw keep-alive HTTP/1.1: an HTTP client library costs more CPU than ingest itself.
        reader, writer = await asyncio.open_connection(host, port)
        while (i := await queue.get()) is not None:
            number, raw = request(i)
            sent[number] = time.time()
            writer.write(raw)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            if head.startswith(b"HTTP/1.1 202"):
                accepted[number] = time.time()
            else:
                failed.append(f"{number}:{head[:12]!r}")
        writer.close()

    async with rss:
        workers = [asyncio.create_task(connection()) for _ in range(32)]
        start = time.perf_counter()
        for i in range(total):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait(i)
        for _ in workers:
            queue.put_nowait(None)
        await asyncio.gather(*workers)
        sent_s = time.perf_counter() - start
    deadline = time.monotonic() + 60
    while await count(dsn, 'SELECT count(*) FROM "order"') < len(accepted):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)
    await nc.close()
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "orders"})
    rows = await conn.fetch('SELECT order_number, extract(epoch FROM synced_at) AS t FROM "order"')
    await conn.close()
    to_row = [
        float(r["t"]) - accepted[r["order_number"]] for r in rows if r["order_number"] in accepted
    ]
    from_request = [
        float(r["t"]) - sent[r["order_number"]] for r in rows if r["order_number"] in accepted
    ]
    to_event = [published[n] - t for n, t in accepted.items() if n in published]
    return {
        "rate_per_s": rate,
        "sent": total,
        "accepted_202": len(accepted),
        "failed": len(failed),
        "achieved_rate_per_s": round(total / sent_s, 1),
        "rows": len(rows),
        "request_to_row": percentiles([max(0.0, v) for v in from_request]),
        "target_request_to_row_p99_ms": TARGET_REQUEST_TO_ROW_P99_MS,
        "webhook_202_to_row": percentiles([max(0.0, v) for v in to_row]),
        "webhook_202_to_published_event": percentiles([max(0.0, v) for v in to_event]),
        **rss.report(),
    }


async def batch_paths(events: int, sizes: list[int], *, statements: bool) -> dict[str, Any]:
    """The batch path at each size, the unnest baseline, and issue 17's ratios; with
    `statements` first a separate run of the first size metered per statement."""
    result: dict[str, Any] = {}
    if statements:
        run = await batch_path(events, sizes[0], statements=True)
        result["postgres_statements"] = run["postgres_statements"]
    result["batch_path"] = await batch_path(events, sizes[0])
    for size in sizes[1:]:
        result[f"batch_path_{size}"] = await batch_path(events, size)
    baseline = await unnest_baseline(events, sizes[0])
    head = result["batch_path"]
    ratio = round(head["events_per_s"] / baseline["events_per_s"], 3)
    head_cost, base_cost = _cost_us(head), _cost_us(baseline)
    costs: dict[str, float | None] = {}
    for size in sizes[1:]:
        cost = _cost_us(result[f"batch_path_{size}"])
        costs[f"{size}_vs_{sizes[0]}"] = round(cost / head_cost, 2) if cost and head_cost else None
    result["unnest_baseline"] = baseline
    result["ratio_to_unnest"] = ratio
    result["cpu_ratio_to_unnest"] = (
        round(base_cost / head_cost, 3) if base_cost and head_cost else None
    )
    result["target_ratio_to_unnest"] = TARGET_RATIO_TO_UNNEST
    result["batch_cost_ratio"] = costs
    result["target_batch_cost_ratio"] = TARGET_BATCH_COST_RATIO
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--only", choices=["batch", "webhook"])
    parser.add_argument(
        "--batch-sizes", default=f"{BATCH},100",
        help="consumer batch sizes of the batch path, the first the headline and the baseline's",
    )  # fmt: skip
    parser.add_argument(
        "--statements", action="store_true",
        help="also print the batch path's Postgres CPU per event of each statement (extra run)",
    )  # fmt: skip
    args = parser.parse_args()
    result: dict[str, Any] = {"cpus": os.cpu_count(), "load_avg_1m": os.getloadavg()[0]}
    if args.only in (None, "batch"):
        sizes = [int(b) for b in args.batch_sizes.split(",")]
        result.update(await batch_paths(args.events, sizes, statements=args.statements))
    if args.only in (None, "webhook"):
        result["webhook_path"] = await webhook_path(args.rate, args.duration)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
