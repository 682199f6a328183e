"""Catalog endpoints (C1-C9 of docs/stockx-api.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from soleflip.common.stockx._budget import Priority
from soleflip.common.stockx._models_catalog import (
    IngestionCreated,
    IngestionInput,
    IngestionItem,
    IngestionItems,
    Product,
    ProductVariant,
    ProductVariantDetails,
    SearchPage,
    SearchProduct,
    VariantMarketData,
)
from soleflip.common.stockx._pagination import MAX_PAGES, iter_page_items
from soleflip.common.stockx._transport import Transport, call

_CATALOG = Priority.CATALOG_REFRESH
_MARKET = Priority.MARKET_DATA


class CatalogApi:
    """Search, products, variants, market data and catalog ingestion."""

    _t: Transport

    async def search_catalog(
        self,
        query: str,
        *,
        page_number: int = 1,
        page_size: int = 10,
        priority: Priority = _CATALOG,
    ) -> SearchPage:
        """Fuzzy search by keyword, GTIN or style id (`page_size` <= 50)."""
        params = {"query": query, "pageNumber": page_number, "pageSize": page_size}
        return await self._t.json(
            call("GET", "/catalog/search", priority, params=params), SearchPage
        )

    def iter_catalog_search(
        self,
        query: str,
        *,
        page_size: int = 50,
        max_pages: int = MAX_PAGES,
        priority: Priority = _CATALOG,
    ) -> AsyncIterator[SearchProduct]:
        """Every search hit, fetching page after page as the caller consumes them."""

        async def fetch(number: int) -> SearchPage:
            return await self.search_catalog(
                query, page_number=number, page_size=page_size, priority=priority
            )

        return iter_page_items(fetch, lambda page: page.products, max_pages)

    async def get_product(self, product_id: str, *, priority: Priority = _CATALOG) -> Product:
        request = call(
            "GET", "/catalog/products/{productId}", priority, path={"productId": product_id}
        )
        return await self._t.json(request, Product)

    async def get_product_variants(
        self, product_id: str, *, priority: Priority = _CATALOG
    ) -> list[ProductVariant]:
        request = call(
            "GET",
            "/catalog/products/{productId}/variants",
            priority,
            path={"productId": product_id},
        )
        return await self._t.json(request, list[ProductVariant])

    async def get_variant(
        self, product_id: str, variant_id: str, *, priority: Priority = _CATALOG
    ) -> ProductVariantDetails:
        request = call(
            "GET",
            "/catalog/products/{productId}/variants/{variantId}",
            priority,
            path={"productId": product_id, "variantId": variant_id},
        )
        return await self._t.json(request, ProductVariantDetails)

    async def get_variants_by_gtin(
        self, gtin: str, *, priority: Priority = _CATALOG
    ) -> ProductVariantDetails:
        """The variant carrying a UPC/EAN/ITF-14 barcode."""
        request = call(
            "GET", "/catalog/products/variants/gtins/{gtin}", priority, path={"gtin": gtin}
        )
        return await self._t.json(request, ProductVariantDetails)

    async def get_product_market_data(
        self, product_id: str, *, currency_code: str | None = None, priority: Priority = _MARKET
    ) -> list[VariantMarketData]:
        """Market data of every variant in one call: the cheap way to watch prices."""
        request = call(
            "GET",
            "/catalog/products/{productId}/market-data",
            priority,
            path={"productId": product_id},
            params={"currencyCode": currency_code},
        )
        return await self._t.json(request, list[VariantMarketData])

    async def get_variant_market_data(
        self,
        product_id: str,
        variant_id: str,
        *,
        currency_code: str | None = None,
        priority: Priority = _MARKET,
    ) -> VariantMarketData:
        """Market data of one variant; unlike the product call it accounts for our own asks."""
        request = call(
            "GET",
            "/catalog/products/{productId}/variants/{variantId}/market-data",
            priority,
            path={"productId": product_id, "variantId": variant_id},
            params={"currencyCode": currency_code},
        )
        return await self._t.json(request, VariantMarketData)

    async def create_ingestion(
        self, items: Sequence[IngestionInput], *, priority: Priority = Priority.USER_WRITE
    ) -> IngestionCreated:
        """Submit products to StockX's catalog (beta, approved per account)."""
        request = call("POST", "/catalog/ingestion", priority, body={"items": list(items)})
        return await self._t.json(request, IngestionCreated)

    async def get_ingestion_items(
        self, ingestion_id: str, *, status: str | None = None, priority: Priority = _CATALOG
    ) -> tuple[IngestionItem, ...]:
        request = call(
            "GET",
            "/catalog/ingestion/{ingestionId}",
            priority,
            path={"ingestionId": ingestion_id},
            params={"status": status},
        )
        return (await self._t.json(request, IngestionItems)).items
