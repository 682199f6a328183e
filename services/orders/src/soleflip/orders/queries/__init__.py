"""Read SQL of the orders schema: the pollers' questions and the REST views."""

from soleflip.orders.queries._api import (
    StockFilter,
    get_listing,
    get_order,
    list_listings,
    list_orders,
    list_stock,
    listing_operations,
    order_history,
    profit,
    stock_by_ids,
    stock_history,
)
from soleflip.orders.queries._sync import (
    newest_created,
    orders_needing_detail,
    unseen_listings,
    vanished_since,
)

__all__ = [
    "StockFilter",
    "get_listing",
    "get_order",
    "list_listings",
    "list_orders",
    "list_stock",
    "listing_operations",
    "newest_created",
    "order_history",
    "orders_needing_detail",
    "profit",
    "stock_by_ids",
    "stock_history",
    "unseen_listings",
    "vanished_since",
]
