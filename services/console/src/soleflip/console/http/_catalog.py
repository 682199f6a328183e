"""*Catalog*: look a product up by SKU (style id) or a variant by barcode, with its sizes and
the current market per size."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, get
from litestar.response import Template

from soleflip.console.backends import Outcome, ServiceError, attempt
from soleflip.console.http._common import AnyRequest, Service, page, session_of
from soleflip.console.service import ConsoleService


async def _lookup(service: ConsoleService, q: str) -> dict[str, Any]:
    backends = service.backends
    if q.isdigit() and len(q) >= 8:  # a GTIN / EAN / UPC barcode
        variant = await backends.get("catalog", f"/api/v1/variants/by-gtin/{q}")
        product_id = variant.get("product_id")
        return await backends.get("catalog", f"/api/v1/products/{product_id}")  # type: ignore[no-any-return]
    try:
        return await backends.get("catalog", "/api/v1/products/by-sku", sku=q)  # type: ignore[no-any-return]
    except ServiceError as exc:
        if exc.status != 404:
            raise
    page_ = await backends.get("catalog", "/api/v1/products", q=q, limit=1)
    if not page_.get("items"):
        raise ServiceError("catalog", 404, f"no product matches {q!r}")
    first = page_["items"][0]
    return await backends.get("catalog", f"/api/v1/products/{first['id']}")  # type: ignore[no-any-return]


async def _market(service: ConsoleService, product: dict[str, Any]) -> dict[str, Any]:
    product_id = product.get("stockx_product_id") or product.get("id")
    answer = await service.backends.get("pricing", "/api/v1/market", product_id=product_id)
    items = answer.get("items", answer if isinstance(answer, list) else [])
    return {str(i.get("variant_id")): i for i in items if isinstance(i, dict)}


class CatalogController(Controller):
    path = "/catalog"
    include_in_schema = False

    @get("/")
    async def catalog(self, request: AnyRequest, service: Service) -> Template:
        session = session_of(request, service)
        q = request.query_params.get("q", "").strip()[:100]
        product: Outcome[dict[str, Any]] = Outcome()
        market: Outcome[dict[str, Any]] = Outcome()
        if q:
            product = await attempt(_lookup(service, q))
            if product.value is not None:
                (market,) = await asyncio.gather(attempt(_market(service, product.value)))
        return page(
            request, "catalog.html", session, active="catalog", q=q, product=product, market=market
        )
