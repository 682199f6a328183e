"""Listing resources: listings, their asynchronous operations, and batch listing jobs."""

from __future__ import annotations

from decimal import Decimal

from soleflip.common.contracts.bounds import check_amount
from soleflip.common.stockx._models_common import (
    AuthenticationDetails,
    InitiatedShipments,
    ListingChanges,
    Page,
    Payout,
    ProductRef,
    StockXModel,
    Timestamp,
    VariantRef,
)

#: Operation statuses after which polling stops.
OPERATION_FINAL = frozenset({"SUCCEEDED", "FAILED"})
#: Batch statuses after which polling stops.
BATCH_FINAL = frozenset({"COMPLETED"})


class ListingOperation(StockXModel):
    """An asynchronous listing write (`ListingAsyncOperationResponse` / `OperationApi`).

    A write returns it PENDING; poll until SUCCEEDED or FAILED (`error` then says why).
    """

    listing_id: str
    operation_id: str
    operation_type: str | None = None
    operation_status: str | None = None
    operation_url: str | None = None
    operation_initiated_by: str | None = None
    operation_initiated_via: str | None = None
    created_at: Timestamp = None
    updated_at: Timestamp = None
    changes: ListingChanges | None = None
    error: str | None = None

    @property
    def is_final(self) -> bool:
        return self.operation_status in OPERATION_FINAL

    @property
    def succeeded(self) -> bool:
        return self.operation_status == "SUCCEEDED"


class OperationsPage(StockXModel):
    """One page of a listing's operation history; `next_cursor` is null on the last page."""

    next_cursor: str | None = None
    operations: tuple[ListingOperation, ...] = ()


class ListingBatchRef(StockXModel):
    """The batch that created or changed a listing, if any."""

    batch_id: str | None = None
    task_id: str | None = None


class ListingAsk(StockXModel):
    """The ask on the market that a listing maps to."""

    ask_id: str | None = None
    ask_created_at: Timestamp = None
    ask_updated_at: Timestamp = None
    ask_expires_at: Timestamp = None


class ListingOrderRef(StockXModel):
    """The order a MATCHED listing became."""

    order_number: str | None = None
    order_created_at: Timestamp = None
    order_status: str | None = None


class LastOperation(StockXModel):
    """The latest operation on a listing, as embedded in the listing."""

    operation_id: str | None = None
    operation_type: str | None = None
    operation_status: str | None = None
    operation_initiated_by: str | None = None
    operation_initiated_via: str | None = None
    operation_created_at: Timestamp = None
    operation_updated_at: Timestamp = None
    changes: ListingChanges | None = None
    error: str | None = None


class ListingSummary(StockXModel):
    """A listing as returned by the listings list (no payout, no last operation)."""

    listing_id: str
    status: str | None = None
    amount: Decimal | None = None
    currency_code: str | None = None
    inventory_type: str | None = None
    created_at: Timestamp = None
    updated_at: Timestamp = None
    batch: ListingBatchRef | None = None
    ask: ListingAsk | None = None
    order: ListingOrderRef | None = None
    product: ProductRef | None = None

    def __post_init__(self) -> None:
        check_amount(self.amount, "amount")

    variant: VariantRef | None = None
    authentication_details: AuthenticationDetails | None = None
    initiated_shipments: InitiatedShipments | None = None
    condition: str | None = None
    condition_description: str | None = None


class Listing(ListingSummary):
    """A listing in full (GET /selling/listings/{listingId})."""

    payout: Payout | None = None
    last_operation: LastOperation | None = None


class ListingsPage(Page):
    """One page of listings."""

    listings: tuple[ListingSummary, ...] = ()


class BatchStatus(StockXModel):
    """State of a batch job; `item_statuses` counts items by lower-case status."""

    batch_id: str
    status: str | None = None
    total_items: int = 0
    item_statuses: dict[str, int] = {}
    created_at: Timestamp = None
    updated_at: Timestamp = None
    completed_at: Timestamp = None

    @property
    def is_final(self) -> bool:
        return self.status in BATCH_FINAL


class BatchListingInput(StockXModel):
    """The input of one batch item; create, update and delete items fill different fields
    (a delete item carries only `id`)."""

    id: str | None = None
    listing_id: str | None = None
    variant_id: str | None = None
    active: bool | None = None
    currency_code: str | None = None
    expires_at: Timestamp = None
    amount: Decimal | None = None


class BatchItemResult(StockXModel):
    """The listing a successful batch item produced or changed."""

    ask_id: str | None = None
    listing_id: str | None = None


class BatchItem(StockXModel):
    """One item of a batch; each succeeds or fails on its own."""

    item_id: str | None = None
    status: str | None = None
    listing_input: BatchListingInput | None = None
    result: BatchItemResult | None = None
    error: str | None = None


class BatchItems(StockXModel):
    """The items of a batch."""

    items: tuple[BatchItem, ...] = ()


class BatchResult(StockXModel):
    """A finished batch with its per-item results (what `await_batch` returns)."""

    batch: BatchStatus
    items: tuple[BatchItem, ...] = ()
