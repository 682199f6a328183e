"""`/v2/catalog/*`: search, products, variants, GTIN lookup, market data and ingestion."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath

from soleflip.stockx_sim import ingestion
from soleflip.stockx_sim.catalog import Product, Variant
from soleflip.stockx_sim.clock import iso
from soleflip.stockx_sim.errors import ApiError, bad_request, not_found
from soleflip.stockx_sim.market import MARKET_CURRENCIES
from soleflip.stockx_sim.params import json_body, page, page_params, world_of
from soleflip.stockx_sim.quotes import quote
from soleflip.stockx_sim.views import product_detail, product_summary, variant_body
from soleflip.stockx_sim.world import World

_UUID = re.compile(r"^[0-9a-fA-F-]{36}$")
Req = Request[Any, Any, Any]


def _near(a: str, b: str) -> bool:
    """Same length and at most one differing character: how StockX's fuzzy search leaks."""
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) <= 1


def _score(product: Product, query: str) -> int | None:
    codes = [c.lower() for c in product.style_codes]
    if query in codes:
        return 0
    if any(_near(query, c) or c.split("-")[0] == query.split("-")[0] != query for c in codes):
        return 1
    haystack = f"{product.title} {product.brand} {product.colorway} {product.style_id}".lower()
    if all(token in haystack for token in query.split()):
        return 2
    return None


def search_products(world: World, query: str) -> list[Product]:
    """Fuzzy like StockX: exact style id first, then near-miss codes, then keyword matches."""
    query = query.strip().lower()
    if query.isdigit() and query in world.gtins:
        return [world.products[world.gtins[query].product_id]]
    scored = [
        (s, p.title, p) for p in world.products.values() if (s := _score(p, query)) is not None
    ]
    return [p for _, _, p in sorted(scored, key=lambda x: (x[0], x[1]))]


@get("/v2/catalog/search")
async def search(request: Req) -> Response[Any]:
    query = request.query_params.get("query")
    if query is None or not 1 <= len(query) <= 100:
        raise bad_request("query must be between 1 and 100 characters")
    number, size = page_params(request, 50)
    found = search_products(world_of(request), query)
    return Response(page(found, number, size, "products", product_summary))


@get("/v2/catalog/products/{product_id:str}")
async def get_product(request: Req, product_id: FromPath[str]) -> Response[Any]:
    return Response(product_detail(world_of(request).product(product_id)))


@get("/v2/catalog/products/{product_id:str}/variants")
async def get_variants(request: Req, product_id: FromPath[str]) -> Response[Any]:
    product = world_of(request).product(product_id)
    return Response([variant_body(v) for v in product.variants])


def _variant_of(world: World, product_id: str, variant_id: str) -> tuple[Product, Variant]:
    product = world.product(product_id)
    variant = world.variant(variant_id)
    if variant.product_id != product.product_id:
        raise bad_request(f"Variant {variant_id} does not belong to product {product_id}")
    return product, variant


@get("/v2/catalog/products/{product_id:str}/variants/{variant_id:str}")
async def get_variant(
    request: Req, product_id: FromPath[str], variant_id: FromPath[str]
) -> Response[Any]:
    _, variant = _variant_of(world_of(request), product_id, variant_id)
    return Response(variant_body(variant))


@get("/v2/catalog/products/variants/gtins/{gtin:str}")
async def get_variant_by_gtin(request: Req, gtin: FromPath[str]) -> Response[Any]:
    if not gtin.isdigit() or len(gtin) not in (8, 12, 13, 14):
        raise bad_request("gtin must be a UPC, EAN or ITF-14 of 8, 12, 13 or 14 digits")
    variant = world_of(request).gtins.get(gtin)
    if variant is None:
        raise not_found()
    return Response(variant_body(variant))


def _currency(request: Req) -> str:
    currency = request.query_params.get("currencyCode") or "USD"
    if currency not in MARKET_CURRENCIES:
        raise bad_request(f"currencyCode must be one of {', '.join(MARKET_CURRENCIES)}")
    return currency


def _market_product(world: World, product_id: str) -> Product:
    if not _UUID.match(product_id):
        raise not_found("Could not decode market data")
    return world.product(product_id)


@get("/v2/catalog/products/{product_id:str}/variants/{variant_id:str}/market-data")
async def get_variant_market_data(
    request: Req, product_id: FromPath[str], variant_id: FromPath[str]
) -> Response[Any]:
    world = world_of(request)
    currency = _currency(request)
    _market_product(world, product_id)
    product, variant = _variant_of(world, product_id, variant_id)
    return Response(quote(world, product, variant, currency, own=True))


@get("/v2/catalog/products/{product_id:str}/market-data")
async def get_product_market_data(request: Req, product_id: FromPath[str]) -> Response[Any]:
    world = world_of(request)
    currency = _currency(request)
    product = _market_product(world, product_id)
    return Response([quote(world, product, v, currency, own=False) for v in product.variants])


@post("/v2/catalog/ingestion")
async def create_ingestion(request: Req) -> Response[Any]:
    job = ingestion.submit(world_of(request), await json_body(request))
    return Response({"ingestionId": job.ingestion_id}, status_code=201)


@get("/v2/catalog/ingestion/{ingestion_id:str}")
async def get_ingestion(request: Req, ingestion_id: FromPath[str]) -> Response[Any]:
    if not _UUID.match(ingestion_id):
        raise bad_request("ingestionId must be a UUID")
    job = world_of(request).ingestions.get(ingestion_id)
    if job is None:
        raise ApiError(404, "Ingestion not found")
    status = request.query_params.get("status")
    items = [i for i in job.items if status is None or i["status"].lower() == status.lower()]
    return Response({"items": [ingestion_item(i) for i in items]})


def ingestion_item(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, "createdAt": iso(entry["createdAt"]), "updatedAt": iso(entry["updatedAt"])}


CATALOG_HANDLERS = [
    search,
    get_product,
    get_variants,
    get_variant,
    get_variant_by_gtin,
    get_variant_market_data,
    get_product_market_data,
    create_ingestion,
    get_ingestion,
]
