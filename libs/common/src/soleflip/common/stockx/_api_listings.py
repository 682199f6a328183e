"""Single-listing endpoints (L1-L9). Every write returns a PENDING `ListingOperation`; use
`await_operation` to wait for SUCCEEDED or FAILED."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal

from soleflip.common.stockx._budget import Priority
from soleflip.common.stockx._filters import ListingFilters
from soleflip.common.stockx._models_listings import (
    Listing,
    ListingOperation,
    ListingsPage,
    ListingSummary,
    OperationsPage,
)
from soleflip.common.stockx._pagination import (
    MAX_PAGES,
    iter_cursor_items,
    iter_page_items,
    poll_until,
)
from soleflip.common.stockx._requests import listing_body
from soleflip.common.stockx._transport import Transport, call

_WRITE = Priority.USER_WRITE
_SYNC = Priority.LISTING_SYNC
_ONE = "/selling/listings/{listingId}"


class ListingsApi:
    """Create, change, read and list listings and their operations."""

    _t: Transport

    async def create_listing(
        self,
        variant_id: str,
        amount: Decimal | int,
        *,
        currency_code: str | None = None,
        expires_at: datetime | None = None,
        active: bool | None = None,
        inventory_type: str | None = None,
        priority: Priority = _WRITE,
    ) -> ListingOperation:
        """Ask `amount` (whole units) for a variant; StockX defaults: USD, 999 days, active."""
        body = listing_body(
            amount=amount,
            currency_code=currency_code,
            expires_at=expires_at,
            variantId=variant_id,
            active=active,
            inventoryType=inventory_type,
        )
        return await self._t.json(
            call("POST", "/selling/listings", priority, body=body), ListingOperation
        )

    async def update_listing(
        self,
        listing_id: str,
        *,
        amount: Decimal | int | None = None,
        currency_code: str | None = None,
        expires_at: datetime | None = None,
        priority: Priority = _WRITE,
    ) -> ListingOperation:
        body = listing_body(amount=amount, currency_code=currency_code, expires_at=expires_at)
        return await self._write("PATCH", _ONE, listing_id, priority, body)

    async def delete_listing(
        self, listing_id: str, *, priority: Priority = _WRITE
    ) -> ListingOperation:
        return await self._write("DELETE", _ONE, listing_id, priority, None)

    async def activate_listing(
        self,
        listing_id: str,
        *,
        amount: Decimal | int | None = None,
        currency_code: str | None = None,
        expires_at: datetime | None = None,
        priority: Priority = _WRITE,
    ) -> ListingOperation:
        # StockX requires a body here even when it is empty.
        body = listing_body(amount=amount, currency_code=currency_code, expires_at=expires_at)
        return await self._write("PUT", _ONE + "/activate", listing_id, priority, body)

    async def deactivate_listing(
        self, listing_id: str, *, priority: Priority = _WRITE
    ) -> ListingOperation:
        return await self._write("PUT", _ONE + "/deactivate", listing_id, priority, None)

    async def _write(
        self, method: str, template: str, listing_id: str, priority: Priority, body: object
    ) -> ListingOperation:
        request = call(method, template, priority, path={"listingId": listing_id}, body=body)
        return await self._t.json(request, ListingOperation)

    async def get_listing(self, listing_id: str, *, priority: Priority = _SYNC) -> Listing:
        request = call("GET", _ONE, priority, path={"listingId": listing_id})
        return await self._t.json(request, Listing)

    async def list_listings(
        self,
        filters: ListingFilters | None = None,
        *,
        page_number: int = 1,
        page_size: int = 10,
        priority: Priority = _SYNC,
    ) -> ListingsPage:
        """One page of listings (`page_size` <= 100)."""
        params = (filters or ListingFilters()).params()
        params |= {"pageNumber": page_number, "pageSize": page_size}
        request = call("GET", "/selling/listings", priority, params=params)
        return await self._t.json(request, ListingsPage)

    def iter_listings(
        self,
        filters: ListingFilters | None = None,
        *,
        page_size: int = 100,
        max_pages: int = MAX_PAGES,
        priority: Priority = _SYNC,
    ) -> AsyncIterator[ListingSummary]:
        async def fetch(number: int) -> ListingsPage:
            return await self.list_listings(
                filters, page_number=number, page_size=page_size, priority=priority
            )

        return iter_page_items(fetch, lambda page: page.listings, max_pages)

    async def get_listing_operation(
        self, listing_id: str, operation_id: str, *, priority: Priority = _SYNC
    ) -> ListingOperation:
        request = call(
            "GET",
            _ONE + "/operations/{operationId}",
            priority,
            path={"listingId": listing_id, "operationId": operation_id},
        )
        return await self._t.json(request, ListingOperation)

    async def list_listing_operations(
        self,
        listing_id: str,
        *,
        page_size: int | None = None,
        cursor: str | None = None,
        priority: Priority = _SYNC,
    ) -> OperationsPage:
        request = call(
            "GET",
            _ONE + "/operations",
            priority,
            path={"listingId": listing_id},
            params={"pageSize": page_size, "cursor": cursor},
        )
        return await self._t.json(request, OperationsPage)

    def iter_listing_operations(
        self,
        listing_id: str,
        *,
        page_size: int = 100,
        max_pages: int = MAX_PAGES,
        priority: Priority = _SYNC,
    ) -> AsyncIterator[ListingOperation]:
        async def fetch(cursor: str | None) -> OperationsPage:
            return await self.list_listing_operations(
                listing_id, page_size=page_size, cursor=cursor, priority=priority
            )

        return iter_cursor_items(fetch, max_pages)

    async def await_operation(
        self,
        listing_id: str,
        operation_id: str,
        *,
        timeout: float = 60.0,  # noqa: ASYNC109 - a poll budget in seconds, not a cancel scope
        priority: Priority = _WRITE,
    ) -> ListingOperation:
        """Poll (1 s, 2 s, 4 s ... 10 s) until SUCCEEDED or FAILED; check `.succeeded` and
        `.error`. Raises `StockXPollTimeout` after `timeout` seconds."""

        async def fetch() -> ListingOperation:
            return await self.get_listing_operation(listing_id, operation_id, priority=priority)

        return await poll_until(
            fetch,
            lambda op: op.is_final,
            what=f"operation {operation_id}",
            limit_s=timeout,
            sleep=self._t.sleep,
        )
