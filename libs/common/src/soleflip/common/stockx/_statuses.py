"""StockX's order-status vocabulary, spelt once for every service and the simulator: the
OpenAPI enums `ActiveOrderStatus` and `HistoricalOrderStatus` (docs/stockx-api.md, section 4).

An order's `status` is still any string on the wire (StockX types it "OrderStatus or any
string", with UNKNOWN as its fallback): these name the values we know and refuse no other.
"""

from __future__ import annotations

#: The statuses of `GET /selling/orders/active` (its `orderStatus` filter), in the API's order.
ACTIVE_ORDER_STATUSES = (
    "CREATED",
    "CCAUTHORIZATIONFAILED",
    "SHIPPED",
    "RECEIVED",
    "AUTHENTICATING",
    "AUTHENTICATED",
    "PAYOUTPENDING",
    "PAYOUTCOMPLETED",
    "SYSTEMFULFILLED",
    "PAYOUTFAILED",
    "SUSPENDED",
    "PENDING",
    "DONOTSHIP",
)
#: The statuses of `GET /selling/orders/history` (its `orderStatus` filter).
HISTORICAL_ORDER_STATUSES = ("AUTHFAILED", "DIDNOTSHIP", "CANCELED", "COMPLETED", "RETURNED")
#: Every order status StockX documents: the active ones, then the historical ones.
ORDER_STATUSES = ACTIVE_ORDER_STATUSES + HISTORICAL_ORDER_STATUSES
#: Orders that ended without a sale (docs/domain.md, lifecycles): the buyer's card failed
#: (CCAUTHORIZATIONFAILED), the order was cancelled (CANCELED) or must not be shipped
#: (DONOTSHIP), the seller missed the ship-by date (DIDNOTSHIP), or the pair failed
#: authentication and goes back to the seller (AUTHFAILED, RETURNED). Their price is no
#: realised sale price and their unit is the seller's to sell again.
NO_SALE_ORDER_STATUSES = frozenset(
    {"CCAUTHORIZATIONFAILED", "CANCELED", "DONOTSHIP", "DIDNOTSHIP", "AUTHFAILED", "RETURNED"}
)
