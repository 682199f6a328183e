"""Shared base and small reference types of the StockX models.

Every response field that StockX may omit or null has a default, enums are plain `str` (StockX
adds values without notice), money is `Decimal` decoded from StockX's strings (or numbers, which
some payout examples use) and timestamps are `datetime`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec

from soleflip.common.contracts.bounds import check_amount, check_amounts, check_ratio


class StockXModel(msgspec.Struct, rename="camel", kw_only=True, omit_defaults=True):
    """Base of every StockX payload: camelCase on the wire, unknown fields ignored."""


class ProductRef(StockXModel):
    """The product a listing or order refers to (`OrderProduct`, `ListingResponseProduct`)."""

    product_id: str = ""
    product_name: str | None = None
    style_id: str | None = None


class VariantRef(StockXModel):
    """The variant a listing or order refers to (`Variant`, `ListingResponseVariant`)."""

    variant_id: str = ""
    variant_name: str | None = None
    variant_value: str | None = None


class AuthenticationDetails(StockXModel):
    """Outcome of StockX's authentication of the item; both fields null until it happens."""

    status: str | None = None
    failure_notes: str | None = None


class Adjustment(StockXModel):
    """One payout adjustment, e.g. `Shipping Fee (10%)`; `amount` is negative for deductions."""

    adjustment_type: str | None = None
    amount: Decimal | None = None
    percentage: Decimal | None = None

    def __post_init__(self) -> None:
        # Relayed webhooks decode into these models too: refuse what Postgres cannot store.
        check_amount(self.amount, "amount")
        check_ratio(self.percentage, "percentage")


class Payout(StockXModel):
    """What the seller is paid for a sale, with the adjustments that led to it."""

    total_payout: Decimal | None = None
    sale_price: Decimal | None = None
    total_adjustments: Decimal | None = None
    currency_code: str | None = None
    adjustments: tuple[Adjustment, ...] = ()

    def __post_init__(self) -> None:
        check_amounts(self, "total_payout", "sale_price", "total_adjustments")


class InboundShipment(StockXModel):
    """A Flex inbound list, identified by the display id StockX Pro shows."""

    display_id: str | None = None


class InitiatedShipments(StockXModel):
    """Shipments a Flex listing or order belongs to."""

    inbound: InboundShipment | None = None


class ListingChanges(StockXModel):
    """The diff an operation applied to a listing; free-form because StockX nests arbitrarily."""

    additions: dict[str, object] = msgspec.field(default_factory=dict)
    updates: dict[str, object] = msgspec.field(default_factory=dict)
    removals: dict[str, object] = msgspec.field(default_factory=dict)


class Page(StockXModel):
    """The page-number envelope shared by search, listings and orders."""

    count: int = 0
    page_size: int = 0
    page_number: int = 1
    has_next_page: bool = False


Timestamp = datetime | None
