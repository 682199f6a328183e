"""Mutable in-memory records of the seller account: listings, operations, orders, batches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Operation:
    """An asynchronous listing write; `apply` holds the field changes made when it settles."""

    operation_id: str
    listing_id: str
    type: str
    status: str
    created_at: float
    updated_at: float
    settle_at: float
    changes: dict[str, Any]
    apply: dict[str, Any]
    error: str | None = None
    initiated_by: str = "USER"
    initiated_via: str = "PUBLIC-API"


@dataclass(slots=True)
class Listing:
    """One ask of the seller (StockX maps listings 1:1 to asks)."""

    listing_id: str
    product_id: str
    variant_id: str
    amount: str
    currency: str
    inventory_type: str
    status: str
    active: bool
    created_at: float
    updated_at: float
    expires_at: float
    ask_id: str | None = None
    ask_created_at: float | None = None
    ask_updated_at: float | None = None
    batch_id: str | None = None
    task_id: str | None = None
    order_number: str | None = None
    # Flex inventory sent in through a StockX Pro inbound shipment carries its display id.
    inbound_id: str | None = None
    operations: list[Operation] = field(default_factory=list)


@dataclass(slots=True)
class Order:
    """A sale of one listing; `path` is the statuses still ahead of it in its lifecycle."""

    order_number: str
    listing_id: str | None
    ask_id: str
    product_id: str
    variant_id: str
    amount: str
    currency: str
    inventory_type: str
    status: str
    created_at: float
    updated_at: float
    ship_by: float
    shipping_id: str
    tracking_number: str
    path: list[str]
    next_at: float
    auth_status: str | None = None
    failure_notes: str | None = None
    inbound_id: str | None = None


@dataclass(slots=True)
class BatchItem:
    """One item of a batch; `request` is what the client sent for it."""

    item_id: str
    status: str
    request: dict[str, Any]
    listing_input: dict[str, Any]
    result: dict[str, Any] | None = None
    error: str | None = None


@dataclass(slots=True)
class Batch:
    """A batch of listing writes: QUEUED -> IN_PROGRESS -> COMPLETED on the sim clock."""

    batch_id: str
    kind: str
    status: str
    created_at: float
    updated_at: float
    start_at: float
    done_at: float
    items: list[BatchItem]
    completed_at: float | None = None


@dataclass(slots=True)
class Ingestion:
    """A catalog ingestion job (Beta): every item is In Review until it settles."""

    ingestion_id: str
    created_at: float
    settle_at: float
    items: list[dict[str, Any]]
    settled: bool = False
