"""Request bodies sent to StockX, and the one rule for money on the wire.

StockX accepts amounts only as strings of whole units (`"102"`, pattern `^\\d+$`): sending a number
or `"79.99"` risks a 400, so a fractional amount is refused here instead of being rounded silently.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from soleflip.common.errors import InvalidInput
from soleflip.common.stockx._models_common import StockXModel


def format_amount(amount: Decimal | int) -> str:
    """`Decimal("102")`, `Decimal("102.00")` or `102` -> `"102"`; fractions and negatives raise."""
    value = Decimal(amount)
    if not value.is_finite() or value < 0 or value != value.to_integral_value():
        raise InvalidInput(f"StockX amounts are whole non-negative units, got {amount!r}")
    return str(int(value))


def format_timestamp(value: datetime) -> str:
    """ISO 8601 UTC with milliseconds, as StockX writes them (`2021-11-09T12:44:31.000Z`)."""
    if value.tzinfo is None:
        raise InvalidInput("StockX timestamps must be timezone-aware")
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


class BatchCreateItem(StockXModel):
    """One entry of a batch create: `quantity` listings of a variant at `amount`."""

    variant_id: str
    amount: Decimal
    quantity: int = 1
    currency_code: str | None = None
    expires_at: datetime | None = None
    active: bool | None = None
    inventory_type: str | None = None


class BatchUpdateItem(StockXModel):
    """One entry of a batch update; unset fields stay as they are."""

    listing_id: str
    amount: Decimal | None = None
    currency_code: str | None = None
    expires_at: datetime | None = None
    active: bool | None = None


class BatchDeleteItem(StockXModel):
    """One entry of a batch delete."""

    listing_id: str


def listing_body(
    *,
    amount: Decimal | int | None = None,
    currency_code: str | None = None,
    expires_at: datetime | None = None,
    **extra: object,
) -> dict[str, object]:
    """A listing write body with StockX's wire formats; `None` values are left out."""
    body: dict[str, object] = {k: v for k, v in extra.items() if v is not None}
    if amount is not None:
        body["amount"] = format_amount(amount)
    if currency_code is not None:
        body["currencyCode"] = currency_code
    if expires_at is not None:
        body["expiresAt"] = format_timestamp(expires_at)
    return body


def batch_item_body(item: BatchCreateItem | BatchUpdateItem | BatchDeleteItem) -> dict[str, object]:
    """The wire form of a batch item (camelCase, whole-unit amount, no nulls)."""
    if isinstance(item, BatchDeleteItem):
        return {"listingId": item.listing_id}
    extra: dict[str, object] = {"active": item.active}
    if isinstance(item, BatchCreateItem):
        extra |= {
            "variantId": item.variant_id,
            "quantity": item.quantity,
            "inventoryType": item.inventory_type,
        }
    else:
        extra["listingId"] = item.listing_id
    return listing_body(
        amount=item.amount,
        currency_code=item.currency_code,
        expires_at=item.expires_at,
        **extra,
    )
