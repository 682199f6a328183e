"""Orders handlers: plain async functions `(message, *, conn | uow, stockx, now, ...)` that
decide (in the domain) and write.

Handlers write in the caller's unit of work and never commit: the edge that opened it (a
consumer, a poller, a controller) commits, so a consumer batch or a poll page lands as one
transaction with its inbox claims and outbox events. Listing writes call StockX inside that unit
of work, so their operation row commits only once StockX accepted the write. The two that call
StockX between transactions (settling operations, ADR 0004) or commit a chunk at a time (CSV
import) are given the `pool` instead. The edge reads the clock once and passes it as `now`.
"""

from soleflip.orders.handlers._adopt import adopt_listings
from soleflip.orders.handlers._fees import apply_fee_schedules
from soleflip.orders.handlers._fx import rates_of, record_rates
from soleflip.orders.handlers._import import (
    ImportReport,
    import_chunks,
    import_purchases,
    plan_import,
)
from soleflip.orders.handlers._link import LinkStock, link_stock_by_hand
from soleflip.orders.handlers._market import record_market
from soleflip.orders.handlers._operations import reprice_listings, settle_pending
from soleflip.orders.handlers._resolve import apply_product, resolve_units, retry_pending
from soleflip.orders.handlers._stock import (
    ChangeStock,
    change_stock,
    purchase_units,
    record_purchases,
    set_link_strategy,
    set_vat_reclaimable,
)
from soleflip.orders.handlers._suppliers import (
    ChangeSupplier,
    CreateSupplier,
    change_supplier,
    create_supplier,
    delete_supplier,
)
from soleflip.orders.handlers._sync import apply_listings, apply_orders
from soleflip.orders.handlers._writes import (
    ChangeListing,
    CreateListing,
    DeleteListing,
    WriteAccepted,
    change_listing,
    create_listing,
    delete_listing,
    is_already_done,
)

__all__ = [
    "ChangeListing",
    "ChangeStock",
    "ChangeSupplier",
    "CreateListing",
    "CreateSupplier",
    "DeleteListing",
    "ImportReport",
    "LinkStock",
    "WriteAccepted",
    "adopt_listings",
    "apply_fee_schedules",
    "apply_listings",
    "apply_orders",
    "apply_product",
    "change_listing",
    "change_stock",
    "change_supplier",
    "create_listing",
    "create_supplier",
    "delete_listing",
    "delete_supplier",
    "import_chunks",
    "import_purchases",
    "is_already_done",
    "link_stock_by_hand",
    "plan_import",
    "purchase_units",
    "rates_of",
    "record_market",
    "record_purchases",
    "record_rates",
    "reprice_listings",
    "resolve_units",
    "retry_pending",
    "set_link_strategy",
    "set_vat_reclaimable",
    "settle_pending",
]
