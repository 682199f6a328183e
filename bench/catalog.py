"""Benchmark of catalog lookups (issues 5, 17) on a 50,000-variant catalog. Not a test.

    .venv/bin/python bench/catalog.py [--variants 50000] [--lookups 5000]

Uses SOLEFLIP_BENCH_DATABASE_URL (an admin DSN; default the local dev Postgres), creates a
throwaway database, migrates the catalog into it and fills it through the service's own write
path (`repository.upsert_product`: products with 20 variants, six size systems and GTINs each).
Then, one lookup at a time on one connection (the latency a request sees): variant by
(product, size type, size value), product search by text, and product by style id, first as
queries on one database connection (`queries`, target p99 < 5 ms), then through HTTP (`http`):
the catalog served by `soleflip serve catalog` (uvicorn, NATS of SOLEFLIP_BENCH_NATS_URL under a
fresh prefix), each request a `GET /api/v1/...` with a bearer token on one keep-alive connection,
timed from the request's first byte to the answer's last (issue 17's target: p99 < 3 ms). The
HTTP phase also prints the service's CPU time per lookup and its resident memory (RSS) after
each kind of lookup. Prints one JSON document with lookups/s, p50, p99 and max in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.resources
import json
import os
import random
import secrets
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import asyncpg

from soleflip.catalog import queries, repository
from soleflip.catalog.app import SERVICE
from soleflip.common.contracts.catalog import ProductData, SizeData, VariantData
from soleflip.common.crypto import Crypto
from soleflip.common.db import Conn, create_pool, migrate
from soleflip.common.http.auth import hash_token
from soleflip.common.testing.plugin import database_dsn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._cpu import _proc_cpu_s, rss_mb
from bench._served import NATS, served

TOKEN = secrets.token_urlsafe(24)
SYSTEMS = [("us m", "9.5"), ("uk", "8"), ("eu", "42"), ("cm", "27.5"), ("us w", "11")]
WORDS = ["dunk", "air max", "samba og", "nike panda", "gel kayano", "old sk", "550 olive"]
IDLE_S = 5.0
VARIANTS_PER_PRODUCT = 20
BRANDS = ["Nike", "Jordan", "adidas", "New Balance", "ASICS", "Puma", "Vans"]
MODELS = ["Dunk Low", "Air Max 90", "Samba OG", "550", "Gel-Kayano 14", "Suede", "Old Skool"]
COLORS = ["Panda", "Bred", "University Blue", "Sail", "Triple White", "Grey Fog", "Olive"]


def _variant(rng: random.Random, index: int, us: float) -> VariantData:
    value = f"{us:g}"
    sizes = [
        SizeData(type="us m", value=value, label=f"US M {value}"),
        SizeData(type="us w", value=f"{us + 1.5:g}", label=f"US W {us + 1.5:g}"),
        SizeData(type="uk", value=f"{us - 1:g}", label=f"UK {us - 1:g}"),
        SizeData(type="eu", value=f"{us + 33:g}", label=f"EU {us + 33:g}"),
        SizeData(type="cm", value=f"{us + 18:g}", label=f"CM {us + 18:g}"),
        SizeData(type="kr", value=f"{(us + 18) * 10:g}", label=f"KR {(us + 18) * 10:g}"),
    ]
    gtin = "19" + "".join(str(rng.randrange(10)) for _ in range(10))
    return VariantData(
        variant_id="",
        stockx_variant_id=f"v-{index}-{secrets.token_hex(6)}",
        variant_value=value,
        default_size_type="us m",
        sizes=sizes,
        gtins=[gtin],
    )


def _product(rng: random.Random, index: int) -> ProductData:
    # Brands in turn: the first chunk, stored alone, creates them all before concurrent writers.
    brand, model, color = BRANDS[index % len(BRANDS)], rng.choice(MODELS), rng.choice(COLORS)
    style = (
        f"{rng.choice('ABCDEFGHJK')}{rng.choice('LMNPRSTVWX')}{index:04d}-{rng.randrange(999):03d}"
    )
    sizes = [4 + 0.5 * i for i in range(VARIANTS_PER_PRODUCT)]
    return ProductData(
        product_id="",
        stockx_product_id=f"p-{index}-{secrets.token_hex(6)}",
        title=f"{brand} {model} {color} {index}",
        style_id=style,
        style_codes=[style],
        brand=brand,
        product_type="sneakers",
        variants=[_variant(rng, index * 100 + i, us) for i, us in enumerate(sizes)],
    )


async def _fill(pool: asyncpg.Pool, products: list[ProductData]) -> None:
    async def store(chunk: list[ProductData]) -> None:
        async with pool.acquire() as conn, conn.transaction():
            for product in chunk:
                await repository.upsert_product(conn, product, attributes={})

    chunks = [products[i : i + 50] for i in range(0, len(products), 50)]
    await store(chunks.pop(0))
    for start in range(0, len(chunks), 8):
        await asyncio.gather(*(store(c) for c in chunks[start : start + 8]))
    await pool.execute("ANALYZE")


async def _measure(count: int, lookup: Callable[[int], Awaitable[Any]]) -> dict[str, float]:
    for i in range(min(200, count)):  # warm the plan cache and the buffers
        await lookup(i)
    timings = []
    started = time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        await lookup(i)
        timings.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    timings.sort()
    return {
        "lookups_per_s": round(count / elapsed),
        "p50_ms": round(statistics.median(timings), 3),
        "p99_ms": round(timings[int(len(timings) * 0.99) - 1], 3),
        "max_ms": round(timings[-1], 3),
    }


async def _bench(conn: Conn, products: list[dict[str, Any]], n: int) -> dict[str, Any]:
    picks = _picks(products, n)

    async def by_size(i: int) -> None:
        kind, value = SYSTEMS[i % len(SYSTEMS)]
        found = await queries.variant_ids_by_size(conn, picks[i]["id"], kind, value)
        assert len(found) == 1

    async def search(i: int) -> None:
        await queries.search_products(
            conn, q=WORDS[i % len(WORDS)], brand=None, style_id=None, after=None, limit=20
        )

    async def by_style(i: int) -> None:
        assert len(await queries.products_by_sku(conn, picks[i]["style_id"].lower())) == 1

    return {
        "variant_by_size": await _measure(n, by_size),
        "product_search_text": await _measure(n, search),
        "product_by_style_id": await _measure(n, by_style),
    }


def _picks(products: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    return [rng.choice(products) for _ in range(n)]


class _KeepAlive:
    """One HTTP/1.1 keep-alive connection, one request at a time: the latency a caller sees."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.head = f"host: 127.0.0.1\r\nauthorization: Bearer {TOKEN}\r\n\r\n".encode()

    async def get(self, target: str) -> int:
        self.writer.write(b"GET " + target.encode() + b" HTTP/1.1\r\n" + self.head)
        head = (await self.reader.readuntil(b"\r\n\r\n")).lower()
        start = head.index(b"content-length:") + 15
        await self.reader.readexactly(int(head[start : head.index(b"\r\n", start)]))
        return int(head[9:12])


def _catalog_env(dsn: str) -> dict[str, str]:
    """What `soleflip serve catalog` runs with here: its database, a fresh NATS prefix, a
    bearer token for the lookups, StockX never called, pollers idle."""
    return {
        "SOLEFLIP_DATABASE_URL": dsn,
        "SOLEFLIP_NATS_URL": NATS,
        "SOLEFLIP_NATS_PREFIX": f"bc{secrets.token_hex(3)}",
        "SOLEFLIP_STOCKX_API_URL": "http://127.0.0.1:9/v2",  # never called by lookups
        "SOLEFLIP_FERNET_KEYS": Crypto.generate_key(),
        "SOLEFLIP_API_TOKENS": f"bench:read:{hash_token(TOKEN)}",
        "SOLEFLIP_POLL_INTERVAL_S": "3600",
        "SOLEFLIP_LOG_LEVEL": "warning",
    }


async def _bench_http(
    port: int, pid: int, products: list[dict[str, Any]], n: int
) -> dict[str, Any]:
    picks = _picks(products, n)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    conn = _KeepAlive(reader, writer)

    async def ok(target: str) -> None:
        status = await conn.get(target)
        assert status == 200, (status, target)

    async def by_size(i: int) -> None:
        kind, value = SYSTEMS[i % len(SYSTEMS)]
        query = urlencode({"size_type": kind, "size_value": value}, quote_via=quote)
        await ok(f"/api/v1/products/{picks[i]['id']}/variants/by-size?{query}")

    async def search(i: int) -> None:
        await ok(f"/api/v1/products?{urlencode({'q': WORDS[i % len(WORDS)], 'limit': 20})}")

    async def by_style(i: int) -> None:
        await ok(f"/api/v1/products/by-sku/{quote(picks[i]['style_id'].lower())}")

    # What the service burns with no request (consumers' fetches, leases, pollers): the per-
    # lookup figures below include it, so a slow phase shows whether requests or idling cost.
    cpu, started = _proc_cpu_s(pid) or 0.0, time.perf_counter()
    await asyncio.sleep(IDLE_S)
    idle = ((_proc_cpu_s(pid) or 0.0) - cpu) / (time.perf_counter() - started)
    report: dict[str, Any] = {"service_idle_cpu_pct": round(100 * idle, 1)}
    for name, lookup in (
        ("variant_by_size", by_size),
        ("product_search_text", search),
        ("product_by_style_id", by_style),
    ):
        cpu = _proc_cpu_s(pid) or 0.0
        figures = await _measure(n, lookup)
        spent = (_proc_cpu_s(pid) or 0.0) - cpu  # the warm-up's 200 lookups included
        report[name] = {
            **figures,
            "service_cpu_us_per_lookup": round(spent / (n + min(200, n)) * 1e6, 1),
            "service_rss_mb": rss_mb(pid),
        }
    writer.close()
    return report


async def run(admin_dsn: str, variants: int, lookups: int) -> dict[str, Any]:
    name = f"soleflip_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = database_dsn(admin_dsn, name)
    try:
        await migrate(dsn, SERVICE, importlib.resources.files("soleflip.catalog") / "migrations")
        pool = await create_pool(dsn, schema=SERVICE, max_size=9)
        rng = random.Random(42)
        count = max(1, variants // VARIANTS_PER_PRODUCT)
        started = time.perf_counter()
        await _fill(pool, [_product(rng, i) for i in range(count)])
        fill_s = time.perf_counter() - started
        async with pool.acquire() as conn:
            products = [
                dict(r) for r in await conn.fetch("SELECT id::text AS id, style_id FROM product")
            ]
            report = await _bench(conn, products, lookups)
        await pool.close()
        async with served("catalog", _catalog_env(dsn)) as service:
            http = await _bench_http(service.port, service.pid, products, lookups)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return {
        "products": count,
        "variants": count * VARIANTS_PER_PRODUCT,
        "fill_s": round(fill_s, 1),
        "lookups": lookups,
        "queries": {**report, "target_p99_ms": 5},
        "http": {**http, "target_p99_ms": 3},
        "http_p99_ms_max": max(f["p99_ms"] for f in http.values() if isinstance(f, dict)),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=50_000)
    parser.add_argument("--lookups", type=int, default=5_000)
    args = parser.parse_args(argv)
    dsn = os.environ.get(
        "SOLEFLIP_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    print(json.dumps(asyncio.run(run(dsn, args.variants, args.lookups)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
