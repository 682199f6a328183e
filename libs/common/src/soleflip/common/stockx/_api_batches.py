"""Batch listing endpoints (B1-B9): one job creates, updates or deletes many listings; each item
succeeds or fails on its own. `await_batch` waits for COMPLETED and returns the item results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from soleflip.common.errors import InvalidInput
from soleflip.common.stockx._budget import Priority
from soleflip.common.stockx._models_listings import BatchItem, BatchItems, BatchResult, BatchStatus
from soleflip.common.stockx._pagination import poll_until
from soleflip.common.stockx._requests import (
    BatchCreateItem,
    BatchDeleteItem,
    BatchUpdateItem,
    batch_item_body,
)
from soleflip.common.stockx._transport import Transport, call

BatchKind = Literal["create", "update", "delete"]
#: StockX documents 100 items per update/delete batch; integrators chunk creates the same way.
MAX_BATCH_ITEMS = 100
_WRITE = Priority.USER_WRITE
_SYNC = Priority.LISTING_SYNC


class BatchesApi:
    """Batch create, update and delete of listings, with status and item results."""

    _t: Transport

    async def create_listings_batch(
        self, items: Sequence[BatchCreateItem], *, priority: Priority = _WRITE
    ) -> BatchStatus:
        """Start a batch that creates `quantity` listings per item."""
        return await self._start("create", items, priority)

    async def update_listings_batch(
        self, items: Sequence[BatchUpdateItem], *, priority: Priority = _WRITE
    ) -> BatchStatus:
        return await self._start("update", items, priority)

    async def delete_listings_batch(
        self, items: Sequence[BatchDeleteItem], *, priority: Priority = _WRITE
    ) -> BatchStatus:
        return await self._start("delete", items, priority)

    async def get_listings_batch(
        self, kind: BatchKind, batch_id: str, *, priority: Priority = _SYNC
    ) -> BatchStatus:
        """Status of a batch of the given kind."""
        request = call(
            "GET",
            f"/selling/batch/{kind}-listing/{{batchId}}",
            priority,
            path={"batchId": batch_id},
        )
        return await self._t.json(request, BatchStatus)

    async def get_listings_batch_items(
        self,
        kind: BatchKind,
        batch_id: str,
        *,
        status: str | None = None,
        priority: Priority = _SYNC,
    ) -> tuple[BatchItem, ...]:
        """Items of a batch, optionally only those with `status` (QUEUED, COMPLETED, FAILED)."""
        request = call(
            "GET",
            f"/selling/batch/{kind}-listing/{{batchId}}/items",
            priority,
            path={"batchId": batch_id},
            params={"status": status},
        )
        return (await self._t.json(request, BatchItems)).items

    async def get_create_listings_batch(self, batch_id: str) -> BatchStatus:
        return await self.get_listings_batch("create", batch_id)

    async def get_update_listings_batch(self, batch_id: str) -> BatchStatus:
        return await self.get_listings_batch("update", batch_id)

    async def get_delete_listings_batch(self, batch_id: str) -> BatchStatus:
        return await self.get_listings_batch("delete", batch_id)

    async def get_create_listings_batch_items(
        self, batch_id: str, *, status: str | None = None
    ) -> tuple[BatchItem, ...]:
        return await self.get_listings_batch_items("create", batch_id, status=status)

    async def get_update_listings_batch_items(
        self, batch_id: str, *, status: str | None = None
    ) -> tuple[BatchItem, ...]:
        return await self.get_listings_batch_items("update", batch_id, status=status)

    async def get_delete_listings_batch_items(
        self, batch_id: str, *, status: str | None = None
    ) -> tuple[BatchItem, ...]:
        return await self.get_listings_batch_items("delete", batch_id, status=status)

    async def await_batch(
        self,
        batch_id: str,
        *,
        kind: BatchKind,
        timeout: float = 120.0,  # noqa: ASYNC109 - a poll budget in seconds, not a cancel scope
        priority: Priority = _WRITE,
    ) -> BatchResult:
        """Poll the batch (1 s, 2 s, 4 s ... 10 s) until COMPLETED, then fetch its items.
        Raises `StockXPollTimeout` after `timeout` seconds."""

        async def fetch() -> BatchStatus:
            return await self.get_listings_batch(kind, batch_id, priority=priority)

        final = await poll_until(
            fetch,
            lambda batch: batch.is_final,
            what=f"{kind} batch {batch_id}",
            limit_s=timeout,
            sleep=self._t.sleep,
        )
        items = await self.get_listings_batch_items(kind, batch_id, priority=priority)
        return BatchResult(batch=final, items=items)

    async def _start(
        self,
        kind: BatchKind,
        items: Sequence[BatchCreateItem] | Sequence[BatchUpdateItem] | Sequence[BatchDeleteItem],
        priority: Priority,
    ) -> BatchStatus:
        if not items or len(items) > MAX_BATCH_ITEMS:
            raise InvalidInput(
                f"a StockX batch takes 1 to {MAX_BATCH_ITEMS} items, got {len(items)}: split it"
            )
        body = {"items": [batch_item_body(item) for item in items]}
        request = call("POST", f"/selling/batch/{kind}-listing", priority, body=body)
        return await self._t.json(request, BatchStatus)
