"""Benchmark of the orders reports (issue 14): KPI latency and CSV export. Not a test.

    .venv/bin/python bench/reports.py [--orders 100000] [--units 50000] [--requests 50]

Uses the Postgres and NATS of SOLEFLIP_BENCH_DATABASE_URL / SOLEFLIP_BENCH_NATS_URL (default: the
local dev servers) with a fresh database. Seeds `--units` stock units (4,000 variants, 3,000 with
a market in EUR and USD) and `--orders` orders (two years of sales, half linked to a unit, 2 %
waiting to ship; 800 products of 5 brands), runs `soleflip serve orders` as a process and
measures, one request at a time after a warm-up, every KPI endpoint (p50/p90/p99), then the CSV
export of every order and of every unit: wall time, rows, bytes and the server's resident memory
before and at its peak while streaming (sampled every 20 ms). Next to each wall time it prints
the CPU time the server process and its Postgres backends spent (`cpu_ms_per_request`,
`cpu_s`), which a loaded shared machine swings much less than the wall clock. For comparison,
`csv_orders_keyset_python` renders the same orders the way exports did before the COPY path
(keyset pages, `csv_lines` per row) in this process, without HTTP. Last, what
the summary triggers cost the write path (`write_us_per_row`): purchases, sales, a unit
marked sold and a status change, 20 batches of 100 rows each, with the triggers and with
them disabled (each round rolled back), µs per row. Prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._cpu import _proc_cpu_s
from bench._served import NATS, fresh_database, served
from bench.orders import percentiles, settings_for
from soleflip.common.http import csv_lines, hash_token, keyset_chunks
from soleflip.orders import queries
from soleflip.orders.http._export import ORDER_COLUMNS

SEED_UNITS = """
INSERT INTO stock_item (external_id, unit, sku, size, size_type, unit_cost, landed_cost,
                        currency, supplier, purchased_at, status, variant_id)
SELECT 'bench-' || i, 1, 'SKU-' || (i % 500), (6 + i % 8)::text, 'us m',
       40 + (i % 200), 45 + (i % 200), CASE WHEN i % 5 = 0 THEN 'USD' ELSE 'EUR' END,
       (ARRAY['Nike SNKRS', 'Zalando', 'Private', 'Auction'])[1 + i % 4],
       now() - make_interval(days => i % 700, mins => i % 1440),
       (ARRAY['IN_STOCK', 'LISTED', 'SOLD', 'SHIPPED', 'ORDERED', 'KEPT'])[1 + i % 6],
       'var-' || (i % 4000)
FROM generate_series(1, $1) AS i
"""
SEED_MARKET = """
INSERT INTO market_latest (variant_id, currency, lowest_ask, highest_bid, observed_at)
SELECT 'var-' || v, c, 150 + v % 90, 110 + v % 70, now()
FROM generate_series(0, 2999) AS v, unnest(ARRAY['EUR', 'USD']) AS c
"""
SEED_ORDERS = """
INSERT INTO "order" (order_number, status, status_rank, created_at, updated_at, currency,
                     amount, net_proceeds, landed_cost, profit, cancellation_fee, stock_item_id,
                     product_id, shipment)
SELECT 'B-' || lpad(i::text, 7, '0'), st, 1, at, at, CASE WHEN i % 5 = 0 THEN 'USD' ELSE 'EUR' END,
       100 + i % 300, 80 + i % 250, CASE WHEN linked THEN 45 + (i % 200) END,
       CASE WHEN linked THEN 35 + i % 250 - i % 200 END,
       CASE WHEN st = 'DIDNOTSHIP' THEN 15 END, CASE WHEN linked THEN i END,
       'prod-' || (i % 800),
       CASE WHEN st = 'CREATED'
            THEN jsonb_build_object('shipByDate', to_char(at + interval '3 days',
                                                          'YYYY-MM-DD"T"HH24:MI:SS"Z"')) END
FROM (
    SELECT i, now() - make_interval(mins => (i * 7) % (730 * 1440)) AS at,
           i <= $2 AND i % 2 = 0 AS linked,
           CASE WHEN i % 50 = 0 THEN 'CREATED' WHEN i % 37 = 0 THEN 'CANCELED'
                WHEN i % 41 = 0 THEN 'DIDNOTSHIP' ELSE 'COMPLETED' END AS st
    FROM generate_series(1, $1) AS i
) s
"""
SEED_CATALOG = """
INSERT INTO catalog_product (stockx_product_id, style_keys, title, brand)
SELECT 'prod-' || i, ARRAY['SKU-' || i], 'Product ' || i,
       (ARRAY['Nike', 'Jordan', 'adidas', 'New Balance', 'Asics'])[1 + i % 5]
FROM generate_series(0, 799) AS i
"""
# The write path's cost of the report summaries (migrations 0014, 0016, 0018, 0020): purchases,
# sales and status changes in batches, with the summary triggers and with them disabled.
SUMMARY_TRIGGERS = {
    "stock_item": (
        "stock_summary_insert", "stock_summary_update", "stock_summary_delete",
        "supplier_summary_insert", "supplier_summary_update", "supplier_summary_delete",
        "sales_fact_unit_update", "held_summary_insert", "held_summary_update",
        "held_summary_delete",
    ),
    '"order"': ("sales_fact_order_insert", "sales_fact_order_update", "sales_fact_order_delete"),
}  # fmt: skip
WRITE_UNITS = """
INSERT INTO stock_item (external_id, unit, sku, size, size_type, unit_cost, landed_cost,
                        currency, supplier, purchased_at, status, variant_id)
SELECT 'write-' || i, 1, 'SKU-' || (i % 500), (6 + i % 8)::text, 'us m', 40 + i % 200,
       45 + i % 200, 'EUR', (ARRAY['Nike SNKRS', 'Zalando', 'Private', 'Auction'])[1 + i % 4],
       now() - make_interval(days => i % 700), 'IN_STOCK', 'var-' || (i % 4000)
FROM generate_series($1::int, $2::int) AS i
RETURNING id
"""
WRITE_SALES = """
INSERT INTO "order" (order_number, status, status_rank, created_at, updated_at, currency,
                     amount, net_proceeds, landed_cost, profit, stock_item_id, product_id)
SELECT 'W-' || u.id, 'CREATED', 1, now(), now(), 'EUR', 200, 170, 100, 70, u.id,
       'prod-' || (u.n % 800)
FROM unnest($1::bigint[]) WITH ORDINALITY AS u (id, n)
RETURNING order_number
"""
WRITE_STATUS = """
UPDATE "order" SET status = 'SHIPPED', status_rank = 2, updated_at = now()
WHERE order_number = ANY($1::text[])
"""
WRITE_LINK = "UPDATE stock_item SET status = 'SOLD' WHERE id = ANY($1::bigint[])"
KPIS = {
    "inventory": "/api/v1/reports/inventory",
    "inventory_eur": "/api/v1/reports/inventory?currency=EUR",
    "sales_by_day_90d": "/api/v1/reports/sales?group_by=day&from={d90}",
    "sales_by_week_1y": "/api/v1/reports/sales?group_by=week&from={d365}",
    "sales_by_month_2y": "/api/v1/reports/sales?group_by=month&from={d730}",
    "sales_by_product_1y": "/api/v1/reports/sales?group_by=product&from={d365}",
    "sales_by_brand_1y": "/api/v1/reports/sales?group_by=brand&from={d365}",
    "sales_by_size_1y": "/api/v1/reports/sales?group_by=size&from={d365}",
    "sales_by_supplier_1y": "/api/v1/reports/sales?group_by=supplier&from={d365}",
    "need_to_ship": "/api/v1/reports/need-to-ship?limit=50",
    "suppliers_all": "/api/v1/reports/suppliers",
    "suppliers_1y": "/api/v1/reports/suppliers?from={d365}",
}


async def seed(dsn: str, orders: int, units: int) -> None:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "orders"})
    try:
        await conn.execute("ALTER TABLE stock_item DISABLE TRIGGER stock_item_audit")
        await conn.execute(SEED_UNITS, units)
        await conn.execute("ALTER TABLE stock_item ENABLE TRIGGER stock_item_audit")
        await conn.execute(SEED_MARKET)
        await conn.execute(SEED_CATALOG)
        await conn.execute(SEED_ORDERS, orders, units)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def _write_round(conn: asyncpg.Connection, batches: int, size: int) -> dict[str, float]:
    """Seconds spent in each kind of write over `batches` batches of `size` rows."""
    spent = {"purchase": 0.0, "sale": 0.0, "unit_sold": 0.0, "status_change": 0.0}
    for b in range(batches):
        started = time.perf_counter()
        ids = [r["id"] for r in await conn.fetch(WRITE_UNITS, b * size, (b + 1) * size - 1)]
        spent["purchase"] += time.perf_counter() - started
        started = time.perf_counter()
        numbers = [r["order_number"] for r in await conn.fetch(WRITE_SALES, ids)]
        spent["sale"] += time.perf_counter() - started
        started = time.perf_counter()
        await conn.execute(WRITE_LINK, ids)
        spent["unit_sold"] += time.perf_counter() - started
        started = time.perf_counter()
        await conn.execute(WRITE_STATUS, numbers)
        spent["status_change"] += time.perf_counter() - started
    return spent


async def write_cost(dsn: str, batches: int = 20, size: int = 100) -> dict[str, Any]:
    """Microseconds per row of each write, with the summary triggers and without them (each
    round in a transaction that is rolled back, so the data set stays as seeded)."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "orders"})
    result: dict[str, Any] = {"batches": batches, "batch_size": size}
    try:
        rounds = (("warm_up", True), ("with_triggers", True), ("without_triggers", False))
        for label, enabled in rounds:
            tx = conn.transaction()
            await tx.start()
            if not enabled:
                for table, names in SUMMARY_TRIGGERS.items():
                    for name in names:
                        await conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER {name}")
            spent = await _write_round(conn, batches, size)
            await tx.rollback()
            rows = batches * size
            if label != "warm_up":
                result[label] = {k: round(v * 1e6 / rows, 1) for k, v in spent.items()}
    finally:
        await conn.close()
    on, off = result["with_triggers"], result["without_triggers"]
    result["trigger_us_per_row"] = {k: round(on[k] - off[k], 1) for k in on}
    return result


async def csv_keyset_in_process(dsn: str) -> dict[str, Any]:
    """The orders export as it was rendered before the COPY path, for comparison in the same
    run: keyset pages of the list query, each row formatted by `csv_lines` in Python (in this
    process, no HTTP), CPU of this process and wall time."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "orders"})
    names = [column for _, column in ORDER_COLUMNS]

    async def fetch(after: Any, limit: int) -> list[asyncpg.Record]:
        return await queries.list_orders(
            conn, statuses=None, since=None, until=None, unmatched=None, after=after,
            limit=limit, base_currency="EUR",
        )  # fmt: skip

    cpu_before, started = time.process_time(), time.perf_counter()
    size = rows = 0
    try:
        async for chunk in keyset_chunks(fetch, lambda r: (r["created_at"], r["order_number"])):
            size += len(csv_lines([[r[n] for n in names] for r in chunk]))
            rows += len(chunk)
    finally:
        await conn.close()
    elapsed = time.perf_counter() - started
    return {
        "rows": rows,
        "bytes": size,
        "seconds": round(elapsed, 3),
        "python_cpu_s": round(time.process_time() - cpu_before, 3),
    }


def _when(days: int) -> str:
    stamp = time.gmtime(time.time() - days * 86400)
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", stamp)


class ServerCpu:
    """CPU seconds of the served process and of its database's Postgres backends."""

    def __init__(self, dsn: str, pid: int) -> None:
        self.dsn, self.pid = dsn, pid

    async def seconds(self) -> float:
        conn = await asyncpg.connect(self.dsn)
        try:
            pids = await conn.fetch(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await conn.close()
        return sum(_proc_cpu_s(p) or 0.0 for p in [self.pid, *(r["pid"] for r in pids)])


async def kpi_latency(client: httpx.AsyncClient, requests: int, cpu: ServerCpu) -> dict[str, Any]:
    days = {"d90": _when(90), "d365": _when(365), "d730": _when(730)}
    result = {}
    for name, template in KPIS.items():
        path = template.format(**days)
        for _ in range(5):
            (await client.get(path)).raise_for_status()
        samples = []
        cpu_before = await cpu.seconds()
        for _ in range(requests):
            started = time.perf_counter()
            response = await client.get(path)
            samples.append(time.perf_counter() - started)
            response.raise_for_status()
        cpu_ms = (await cpu.seconds() - cpu_before) * 1000 / requests
        result[name] = {**percentiles(samples), "cpu_ms_per_request": round(cpu_ms, 1)}
    return result


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


async def csv_export(
    client: httpx.AsyncClient, path: str, pid: int, cpu: ServerCpu
) -> dict[str, Any]:
    cpu_before = await cpu.seconds()
    before = _rss_mb(pid)
    peak = before
    sampling = True

    async def sample() -> None:
        nonlocal peak
        while sampling:
            peak = max(peak, _rss_mb(pid))
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    size = lines = 0
    async with client.stream("GET", path) as response:
        response.raise_for_status()
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            lines += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    sampling = False
    await sampler
    cpu_s = await cpu.seconds() - cpu_before
    return {
        "cpu_s": round(cpu_s, 3),
        "rows": lines - 1,
        "bytes": size,
        "seconds": round(elapsed, 3),
        "rows_per_s": round((lines - 1) / elapsed),
        "server_rss_mb_before": before,
        "server_rss_mb_peak": peak,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--units", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    result: dict[str, Any] = {
        "commit": _commit(),
        "cpus": os.cpu_count(),
        "load_avg_1m": os.getloadavg()[0],
        "orders": args.orders,
        "units": args.units,
    }
    token = secrets.token_urlsafe(24)
    prefix = f"br{secrets.token_hex(3)}"
    async with fresh_database("orders") as dsn:
        started = time.perf_counter()
        await seed(dsn, args.orders, args.units)
        result["seed_s"] = round(time.perf_counter() - started, 1)
        s = settings_for(dsn, prefix)
        env = {
            "SOLEFLIP_DATABASE_URL": dsn, "SOLEFLIP_NATS_URL": NATS,
            "SOLEFLIP_NATS_PREFIX": prefix, "SOLEFLIP_STOCKX_API_URL": s.stockx_api_url,
            "SOLEFLIP_FERNET_KEYS": s.fernet_keys[0], "SOLEFLIP_POLL_INTERVAL_S": "3600",
            "SOLEFLIP_LOG_LEVEL": "warning",
            "SOLEFLIP_API_TOKENS": f"bench:read:{hash_token(token)}",
        }  # fmt: skip
        async with served("orders", env) as orders:
            pid = orders.pid
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(
                base_url=orders.url, headers=headers, timeout=120
            ) as client:
                cpu = ServerCpu(dsn, pid)
                result["kpi"] = await kpi_latency(client, args.requests, cpu)
                result["kpi_worst_p99_ms"] = max(v["p99_ms"] for v in result["kpi"].values())
                result["csv_orders"] = await csv_export(
                    client, "/api/v1/orders?format=csv", pid, cpu
                )
                result["csv_stock"] = await csv_export(client, "/api/v1/stock?format=csv", pid, cpu)
        result["csv_orders_keyset_python"] = await csv_keyset_in_process(dsn)
        result["write_us_per_row"] = await write_cost(dsn)
    result["load_avg_1m_end"] = os.getloadavg()[0]
    print(json.dumps(result, indent=2))


def _commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True, check=True,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


if __name__ == "__main__":
    asyncio.run(main())
