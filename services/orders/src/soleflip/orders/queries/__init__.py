"""Read SQL of the orders schema: the pollers' questions and the REST views."""

from soleflip.orders.queries import _reports as reports
from soleflip.orders.queries import _suppliers as suppliers
from soleflip.orders.queries._api import (
    Output,
    StockFilter,
    export_listings,
    export_orders,
    export_stock,
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
    stock_settings,
)
from soleflip.orders.queries._payouts import payout_columns, pending_payouts, pending_totals
from soleflip.orders.queries._state import (
    ListingAmount,
    fee_schedule,
    fee_version,
    listing_amounts,
    listing_status,
)
from soleflip.orders.queries._sync import (
    newest_created,
    orders_needing_detail,
    unseen_listings,
    unseen_orders,
    vanished_since,
)

__all__ = [
    "ListingAmount",
    "Output",
    "StockFilter",
    "export_listings",
    "export_orders",
    "export_stock",
    "fee_schedule",
    "fee_version",
    "get_listing",
    "get_order",
    "list_listings",
    "list_orders",
    "list_stock",
    "listing_amounts",
    "listing_operations",
    "listing_status",
    "newest_created",
    "order_history",
    "orders_needing_detail",
    "payout_columns",
    "pending_payouts",
    "pending_totals",
    "profit",
    "reports",
    "stock_by_ids",
    "stock_history",
    "stock_settings",
    "suppliers",
    "unseen_listings",
    "unseen_orders",
    "vanished_since",
]
