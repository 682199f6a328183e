"""Write SQL of the orders schema (the read side lives in `soleflip.orders.queries`)."""

from soleflip.orders.repository._listings import (
    ListingRow,
    claim_listing_for_stock,
    lock_listings,
    pending_operations,
    record_operation,
    select_listings,
    settle_operation,
    touch_operation,
    upsert_listings,
)
from soleflip.orders.repository._orders import (
    OrderRow,
    StatusChange,
    insert_history,
    link_and_price,
    lock_orders,
    select_orders,
    upsert_orders,
)
from soleflip.orders.repository._stock import (
    StockUnit,
    insert_units,
    lock_stock_item,
    mark_listed,
    release_units,
    select_stock,
    set_variant,
)

__all__ = [
    "ListingRow",
    "OrderRow",
    "StatusChange",
    "StockUnit",
    "claim_listing_for_stock",
    "insert_history",
    "insert_units",
    "link_and_price",
    "lock_listings",
    "lock_orders",
    "lock_stock_item",
    "mark_listed",
    "pending_operations",
    "record_operation",
    "release_units",
    "select_listings",
    "select_orders",
    "select_stock",
    "set_variant",
    "settle_operation",
    "touch_operation",
    "upsert_listings",
    "upsert_orders",
]
