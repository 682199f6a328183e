"""REST edge of the catalog (`/api/v1`): thin controllers over queries and the job handler.

Errors are `soleflip.common.errors` exceptions, turned into problem+json by the shared app.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

import asyncpg
import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from soleflip.catalog import domain, jobs, queries
from soleflip.catalog.domain import AmbiguousSize, pick_variant
from soleflip.catalog.service import CatalogService
from soleflip.common.contracts.catalog import SizeData
from soleflip.common.errors import Conflict, InvalidInput, NotFound
from soleflip.common.http import requires

MAX_LIMIT = 200
Service = NamedDependency[CatalogService]
MAX_SKUS = 5_000
K = TypeVar("K")
JobStatus = Literal["pending", "running", "done"]


class ProductPage(msgspec.Struct, frozen=True):
    """One page of products and the cursor of the next (null on the last page)."""

    items: list[queries.ProductView]
    next_cursor: str | None


class JobPage(msgspec.Struct, frozen=True):
    """One page of enrichment jobs, newest first, and the cursor of the next (null at the end)."""

    items: list[queries.JobSummary]
    next_cursor: str | None


class EnrichRequest(msgspec.Struct, frozen=True):
    """SKUs (style ids, combined codes or GTINs) to resolve against StockX."""

    skus: list[str]


class JobCreated(msgspec.Struct, frozen=True):
    job_id: str
    status: str
    total: int


class JobRetried(msgspec.Struct, frozen=True):
    job_id: str
    retried: int


class SizeConversion(msgspec.Struct, frozen=True):
    """A variant's size in every system (or in the asked one)."""

    variant_id: str
    default_size_type: str | None
    variant_value: str | None
    sizes: list[SizeData]


def encode_cursor(key: tuple[Any, ...]) -> str:
    """An opaque cursor of a page's last sort key (title and id, or created_at and id)."""
    raw = msgspec.json.encode(key)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kind: type[K]) -> K:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return msgspec.json.decode(raw, type=kind)
    except (ValueError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InvalidInput("cursor is not one this API issued") from exc


class ProductController(Controller):
    """Products: search, one product with its variants, by style id, size lookup, enrichment."""

    path = "/api/v1/products"
    tags = ["products"]

    @get("/", guards=[requires("read")])
    async def list_products(
        self,
        service: Service,
        q: FromQuery[str | None] = None,
        brand: FromQuery[str | None] = None,
        style_id: FromQuery[str | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = 50,
        cursor: FromQuery[str | None] = None,
    ) -> ProductPage:
        """Search local products by text, brand and style id, in title order."""
        after = decode_cursor(cursor, tuple[str, str]) if cursor else None
        async with service.pool.acquire() as conn:
            found = await queries.search_products(
                conn, q=q, brand=brand, style_id=style_id, after=after, limit=limit + 1
            )
        more = len(found) > limit
        items = found[:limit]
        last = items[-1] if more else None
        return ProductPage(items, encode_cursor((last.title, last.id)) if last else None)

    @get("/{product_id:str}", guards=[requires("read")])
    async def get_product(self, service: Service, product_id: FromPath[str]) -> queries.ProductView:
        """A product (by catalog id or StockX id) with every variant, size and GTIN."""
        async with service.pool.acquire() as conn:
            found = await queries.product(conn, product_id)
        if found is None:
            raise NotFound(f"no product {product_id!r}")
        return found

    @get("/by-sku/{sku:path}", guards=[requires("read")])
    async def get_product_by_sku(self, service: Service, sku: FromPath[str]) -> queries.ProductView:
        """The one product carrying this style id (case, spaces and combined codes normalised).

        The rest of the path is the style id, so a combined one such as `315122-111/CW2288-111`
        works as typed or with its slash encoded (servers decode `%2F` before routing)."""
        return await _product_by_sku(service.pool, sku.removeprefix("/"))

    @get("/by-sku", guards=[requires("read")])
    async def get_product_by_sku_query(
        self, service: Service, sku: FromQuery[str]
    ) -> queries.ProductView:
        """`?sku=`: the same lookup, for clients that would rather not put a style id in a path."""
        return await _product_by_sku(service.pool, sku)

    @get("/{product_id:str}/variants/by-size", guards=[requires("read")])
    async def get_variant_by_size(
        self,
        service: Service,
        product_id: FromPath[str],
        size_type: FromQuery[str],
        size_value: FromQuery[str],
    ) -> queries.VariantView:
        """The variant of a product with this (size type, size value); 409 when ambiguous."""
        kind = domain.size_type(size_type)
        value = domain.size_value(size_value, kind)
        async with service.pool.acquire() as conn:
            found = await queries.product_variants_by_size(conn, product_id, kind, value)
        if found is None:
            raise NotFound(f"no product {product_id!r}")
        try:
            variant_id = pick_variant([v.id for v in found])
        except AmbiguousSize as exc:
            raise Conflict(
                f"size {kind} {size_value} is ambiguous here; ask in another size system",
                errors=[{"field": "size_value", "message": v} for v in exc.variant_ids],
            ) from exc
        if variant_id is None:
            raise NotFound(f"product {product_id!r} has no size {kind} {size_value}")
        return found[0]

    @post("/enrich", guards=[requires("write")], status_code=202)
    async def create_enrichment(
        self, service: Service, data: JSONBody[EnrichRequest]
    ) -> Response[JobCreated]:
        """Start a batch enrichment job; follow it at `/api/v1/enrichment/{job_id}`."""
        skus = [s for s in data.skus if s.strip()]
        if not skus or len(skus) > MAX_SKUS:
            raise InvalidInput(f"skus must hold 1 to {MAX_SKUS} non-empty entries")
        async with service.pool.acquire() as conn, conn.transaction():
            job_id, total = await jobs.create_job(conn, skus)
        service.wake_jobs()
        return Response(
            JobCreated(job_id, "pending", total),
            status_code=202,
            headers={"Location": f"/api/v1/enrichment/{job_id}"},
        )


class VariantController(Controller):
    """Variants: by GTIN, and size conversion."""

    path = "/api/v1/variants"
    tags = ["variants"]

    @get("/by-gtin/{gtin:str}", guards=[requires("read")])
    async def get_variant_by_gtin(
        self, service: Service, gtin: FromPath[str]
    ) -> queries.VariantView:
        """The variant carrying a UPC/EAN barcode."""
        async with service.pool.acquire() as conn:
            found = await queries.variant_by_gtin(conn, gtin)
        if found is None:
            raise NotFound(f"no variant with GTIN {gtin!r}")
        return found

    @get("/{variant_id:str}/sizes", guards=[requires("read")])
    async def get_size_conversion(
        self,
        service: Service,
        variant_id: FromPath[str],
        size_type: FromQuery[str | None] = None,
    ) -> SizeConversion:
        """A variant's size in every system StockX lists (or only in `size_type`)."""
        async with service.pool.acquire() as conn:
            found = await queries.variant(conn, variant_id)
        if found is None:
            raise NotFound(f"no variant {variant_id!r}")
        sizes = found.sizes
        if size_type:
            kind = domain.size_type(size_type)
            sizes = [s for s in sizes if s.type == kind]
        return SizeConversion(found.id, found.default_size_type, found.variant_value, sizes)


class EnrichmentController(Controller):
    """Batch enrichment jobs: progress and the outcome of every SKU."""

    path = "/api/v1/enrichment"
    tags = ["enrichment"]

    @get("/", guards=[requires("read")])
    async def list_enrichment(
        self,
        service: Service,
        status: FromQuery[JobStatus | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = 50,
        cursor: FromQuery[str | None] = None,
    ) -> JobPage:
        """Enrichment jobs (API and `soleflip sync catalog`), newest first, with their counts."""
        after = decode_cursor(cursor, tuple[datetime, UUID]) if cursor else None
        async with service.pool.acquire() as conn:
            found = await queries.list_jobs(conn, status=status, after=after, limit=limit + 1)
        more = len(found) > limit
        items = found[:limit]
        last = items[-1] if more else None
        return JobPage(items, encode_cursor((last.created_at, last.id)) if last else None)

    @get("/{job_id:str}", guards=[requires("read")])
    async def get_enrichment(self, service: Service, job_id: FromPath[str]) -> dict[str, Any]:
        """The job's status, counts and per-SKU outcomes (candidates for unresolved ones)."""
        try:
            async with service.pool.acquire() as conn:
                found = await queries.job_status(conn, job_id)
        except asyncpg.DataError:  # not a UUID
            found = None
        if found is None:
            raise NotFound(f"no enrichment job {job_id!r}")
        return found

    @post("/{job_id:str}/retry", guards=[requires("write")], status_code=202)
    async def retry_enrichment(
        self, service: Service, job_id: FromPath[str]
    ) -> Response[JobRetried]:
        """Put the job's failed items back to pending; the job runs again for them."""
        try:
            found = await queries.job_exists(service.pool, job_id)
        except asyncpg.DataError:  # not a UUID
            found = False
        if not found:
            raise NotFound(f"no enrichment job {job_id!r}")
        retried = await jobs.retry_failed(service.pool, job_id)
        service.wake_jobs()
        return Response(
            JobRetried(job_id, retried),
            status_code=202,
            headers={"Location": f"/api/v1/enrichment/{job_id}"},
        )


async def _product_by_sku(pool: asyncpg.Pool, sku: str) -> queries.ProductView:
    async with pool.acquire() as conn:
        found = await queries.products_by_sku(conn, sku)
        if len(found) > 1:
            raise Conflict(
                f"{len(found)} products carry style id {sku!r}",
                errors=[{"field": "sku", "message": p.id} for p in found],
            )
        if not found:
            raise NotFound(f"no product with style id {sku!r}")
        # The product row is in hand: only its variants are left to read.
        return await queries.with_variants(conn, found[0])
