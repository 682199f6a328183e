"""Exact matching over the simulator's tricky catalog (near-miss style ids, combined codes,
duplicate UK labels, missing GTINs): every case resolves correctly or is unresolved, never wrong.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from soleflip.catalog import queries
from soleflip.catalog.domain import AmbiguousSize, pick_variant
from soleflip.common.stockx import StockXClient
from tests.integration.catalog.support import enrich_sku
from tests.support.sim import Sim

TTL = 3600.0
# (asked SKU, style id of the one right product, or None: must stay unresolved)
CASES: list[tuple[str, str | None]] = [
    ("DD1391-100", "DD1391-100"),
    ("DD1391-103", "DD1391-103"),
    ("  dd1391-100 ", "DD1391-100"),
    ("DD1391 100", "DD1391-100"),
    ("DD1391-101", None),  # near miss of two real codes
    ("DD1391-10", None),
    ("DD1391", None),  # a prefix is not a style id
    ("315122-111", "315122-111/CW2288-111"),
    ("CW2288-111", "315122-111/CW2288-111"),
    ("315122-111/CW2288-111", "315122-111/CW2288-111"),
    ("cw2288-111 / 315122-111", "315122-111/CW2288-111"),
    ("315122-112", None),
    ("DD1503-101", "DD1503-101"),
    ("CP9654", "CP9654"),
    ("CP9655", None),
    ("B75806", "B75806"),
    ("BB550WT1", "BB550WT1"),
    ("BB550WT2", None),
    ("M990GL6", "M990GL6"),
    ("M990GL", None),
    ("1201A019-107", "1201A019-107"),
    ("1201A019-108", None),
    ("ZZ0000-000", None),
]


@pytest.fixture
def catalog(sim: Sim) -> list[dict[str, Any]]:
    sim.seed(5, 60)
    return sim.products()


async def _resolve(pool: asyncpg.Pool, stockx: StockXClient, sku: str) -> str | None:
    outcome = await enrich_sku(pool, stockx, sku, ttl_s=TTL)
    if outcome.status != "resolved":
        assert outcome.product_id is None
        return None
    async with pool.acquire() as conn:
        product = await queries.product(conn, str(outcome.product_id))
    assert product is not None
    return product.stockx_product_id


async def test_every_case_resolves_exactly_or_stays_unresolved(
    pool: asyncpg.Pool, stockx: StockXClient, catalog: list[dict[str, Any]]
) -> None:
    by_style = {p["styleId"]: p["productId"] for p in catalog if p["styleId"]}
    generated = [(s, s) for s in by_style if s not in {c for _, c in CASES}]
    wrong = []
    for sku, style in [*CASES, *generated]:
        expected = by_style[style] if style else None
        got = await _resolve(pool, stockx, sku)
        if got != expected:
            wrong.append((sku, expected, got))
    assert wrong == []
    assert len(generated) > 30


async def test_gtins_resolve_to_their_product_and_unknown_gtins_stay_unresolved(
    pool: asyncpg.Pool, stockx: StockXClient, catalog: list[dict[str, Any]]
) -> None:
    with_gtin = [(p, v) for p in catalog[10:20] for v in p["variants"] if v["gtins"]][:5]
    without = [v for p in catalog for v in p["variants"] if not v["gtins"]]
    assert with_gtin
    assert without
    for product, variant in with_gtin:
        got = await _resolve(pool, stockx, variant["gtins"][0]["identifier"])
        assert got == product["productId"]
    assert await _resolve(pool, stockx, "190000000000") is None


async def test_duplicate_uk_labels_are_ambiguous_and_other_systems_are_exact(
    pool: asyncpg.Pool, stockx: StockXClient, catalog: list[dict[str, Any]]
) -> None:
    panda = next(p for p in catalog if p["styleId"] == "DD1391-100")
    assert await _resolve(pool, stockx, "DD1391-100") == panda["productId"]
    async with pool.acquire() as conn:
        product = await queries.product(conn, panda["productId"])
        assert product is not None
        with pytest.raises(AmbiguousSize) as ambiguous:
            pick_variant(await queries.variant_ids_by_size(conn, product.id, "uk", "6"))
        eu39 = pick_variant(await queries.variant_ids_by_size(conn, product.id, "eu", "39"))
        us7 = pick_variant(await queries.variant_ids_by_size(conn, product.id, "us m", "7"))
        # The HTTP route's one-statement form, by catalog id or StockX id, agrees.
        by_uk = await queries.product_variants_by_size(conn, product.id, "uk", "6")
        by_eu = await queries.product_variants_by_size(conn, panda["productId"], "eu", "39")
        no_size = await queries.product_variants_by_size(conn, product.id, "eu", "99")
        no_product = await queries.product_variants_by_size(conn, "no-such-product", "eu", "39")
    assert by_uk is not None
    assert by_eu is not None
    assert sorted(v.id for v in by_uk) == sorted(ambiguous.value.variant_ids)
    assert [v.id for v in by_eu] == [eu39]
    assert by_eu[0].product_id == product.id
    assert {(s.type, s.value) for s in by_eu[0].sizes} >= {("us m", "6.5"), ("uk", "6")}
    assert (no_size, no_product) == ([], None)
    assert len(ambiguous.value.variant_ids) == 2
    assert eu39 in ambiguous.value.variant_ids
    assert us7 in ambiguous.value.variant_ids
    assert eu39 != us7
    variants = {v.id: v for v in product.variants or []}
    assert {(s.type, s.value) for s in variants[eu39].sizes} >= {("us m", "6.5"), ("uk", "6")}
    assert {(s.type, s.value) for s in variants[us7].sizes} >= {("eu", "40"), ("uk", "6")}
