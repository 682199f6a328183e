"""REST controllers of orders (`/api/v1`, bearer scopes read/write, problem+json errors)."""

from soleflip.orders.http._listings import ListingController
from soleflip.orders.http._orders import OrderController, ProfitController, SyncController
from soleflip.orders.http._payouts import PayoutController
from soleflip.orders.http._reports import ReportController
from soleflip.orders.http._stock import StockController, StockSettingsController
from soleflip.orders.http._suppliers import SupplierController, SupplierReportController

CONTROLLERS = [
    OrderController,
    ProfitController,
    PayoutController,
    SyncController,
    ListingController,
    StockController,
    StockSettingsController,
    ReportController,
    SupplierController,
    SupplierReportController,
]

__all__ = [
    "CONTROLLERS",
    "ListingController",
    "OrderController",
    "PayoutController",
    "ProfitController",
    "ReportController",
    "StockController",
    "StockSettingsController",
    "SupplierController",
    "SupplierReportController",
    "SyncController",
]
