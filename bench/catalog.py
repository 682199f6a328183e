"""Benchmark of catalog lookups (issue 5) on a 50,000-variant catalog. Not a test.

    .venv/bin/python bench/catalog.py [--variants 50000] [--lookups 5000]

Uses SOLEFLIP_BENCH_DATABASE_URL (an admin DSN; default the local dev Postgres), creates a
throwaway database, migrates the catalog into it and fills it through the service's own write
path (`repository.upsert_product`: products with 20 variants, six size systems and GTINs each).
Then, one lookup at a time on one connection (the latency a request sees): variant by
(product, size type, size value), product search by text, and product by style id. Prints one
JSON document with lookups/s, p50, p99 and max in milliseconds; the target is p99 < 5 ms.
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
from typing import Any

import asyncpg

from soleflip.catalog import queries, repository
from soleflip.catalog.app import SERVICE
from soleflip.common.contracts.catalog import ProductData, SizeData, VariantData
from soleflip.common.db import Conn, create_pool, migrate
from soleflip.common.testing.plugin import database_dsn

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
    rng = random.Random(7)
    picks = [rng.choice(products) for _ in range(n)]
    systems = [("us m", "9.5"), ("uk", "8"), ("eu", "42"), ("cm", "27.5"), ("us w", "11")]
    words = ["dunk", "air max", "samba og", "nike panda", "gel kayano", "old sk", "550 olive"]

    async def by_size(i: int) -> None:
        kind, value = systems[i % len(systems)]
        found = await queries.variant_ids_by_size(conn, picks[i]["id"], kind, value)
        assert len(found) == 1

    async def search(i: int) -> None:
        await queries.search_products(
            conn, q=words[i % len(words)], brand=None, style_id=None, after=None, limit=20
        )

    async def by_style(i: int) -> None:
        assert len(await queries.products_by_sku(conn, picks[i]["style_id"].lower())) == 1

    return {
        "variant_by_size": await _measure(n, by_size),
        "product_search_text": await _measure(n, search),
        "product_by_style_id": await _measure(n, by_style),
    }


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
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return {
        "products": count,
        "variants": count * VARIANTS_PER_PRODUCT,
        "fill_s": round(fill_s, 1),
        "lookups": lookups,
        **report,
        "target_p99_ms": 5,
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
