"""REST controllers of orders (`/api/v1`, bearer scopes read/write, problem+json errors)."""

from soleflip.orders.http._listings import ListingController, StockController
from soleflip.orders.http._orders import OrderController, ProfitController, SyncController

CONTROLLERS = [
    OrderController,
    ProfitController,
    SyncController,
    ListingController,
    StockController,
]

__all__ = [
    "CONTROLLERS",
    "ListingController",
    "OrderController",
    "ProfitController",
    "StockController",
    "SyncController",
]
