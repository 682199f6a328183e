"""Filters of the list endpoints, turned into StockX's query parameters (plain comma lists)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True, kw_only=True)
class ListingFilters:
    """Filters of GET /selling/listings. Expired listings are hidden unless `is_expired`."""

    product_ids: Sequence[str] | None = None
    variant_ids: Sequence[str] | None = None
    batch_ids: Sequence[str] | None = None
    from_date: date | None = None
    to_date: date | None = None
    listing_statuses: Sequence[str] | None = None
    inventory_types: Sequence[str] | None = None
    initiated_shipment_display_ids: Sequence[str] | None = None
    is_expired: bool | None = None

    def params(self) -> dict[str, object]:
        return {
            "productIds": self.product_ids,
            "variantIds": self.variant_ids,
            "batchIds": self.batch_ids,
            "fromDate": self.from_date,
            "toDate": self.to_date,
            "listingStatuses": self.listing_statuses,
            "inventoryTypes": self.inventory_types,
            "initiatedShipmentDisplayIds": self.initiated_shipment_display_ids,
            "isExpired": self.is_expired,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ActiveOrderFilters:
    """Filters of GET /selling/orders/active (StockX offers no date filter here)."""

    order_status: str | None = None
    product_id: str | None = None
    variant_id: str | None = None
    sort_order: str | None = None
    inventory_types: Sequence[str] | None = None
    initiated_shipment_display_ids: Sequence[str] | None = None

    def params(self) -> dict[str, object]:
        return {
            "orderStatus": self.order_status,
            "productId": self.product_id,
            "variantId": self.variant_id,
            "sortOrder": self.sort_order,
            "inventoryTypes": self.inventory_types,
            "initiatedShipmentDisplayIds": self.initiated_shipment_display_ids,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderHistoryFilters:
    """Filters of GET /selling/orders/history; dates filter on order creation."""

    from_date: date | None = None
    to_date: date | None = None
    order_status: str | None = None
    product_id: str | None = None
    variant_id: str | None = None
    inventory_types: Sequence[str] | None = None
    initiated_shipment_display_ids: Sequence[str] | None = None

    def params(self) -> dict[str, object]:
        return {
            "fromDate": self.from_date,
            "toDate": self.to_date,
            "orderStatus": self.order_status,
            "productId": self.product_id,
            "variantId": self.variant_id,
            "inventoryTypes": self.inventory_types,
            "initiatedShipmentDisplayIds": self.initiated_shipment_display_ids,
        }
