"""Pricing's handlers: plain async functions `(message, *, conn, now, ...)` that load, decide in
the domain, write and enqueue events; the edge that opened the unit of work (a consumer, a
poller, a controller) commits it, never a handler."""

from soleflip.pricing.handlers._admin import (
    create_rule,
    delete_rule,
    fee_schedule_from,
    quote_variant,
    set_autoreprice,
    set_fees,
    update_rule,
)
from soleflip.pricing.handlers._market import from_poll, from_webhook, record_market
from soleflip.pricing.handlers._mirror import (
    apply_listing,
    apply_order,
    apply_product,
    apply_remap,
    apply_stock,
    expire_pending,
)
from soleflip.pricing.handlers._reprice import (
    SOURCE,
    Context,
    evaluate_rows,
    record_outcomes,
    reevaluate,
)

__all__ = [
    "SOURCE",
    "Context",
    "apply_listing",
    "apply_order",
    "apply_product",
    "apply_remap",
    "apply_stock",
    "create_rule",
    "delete_rule",
    "evaluate_rows",
    "expire_pending",
    "fee_schedule_from",
    "from_poll",
    "from_webhook",
    "quote_variant",
    "record_market",
    "record_outcomes",
    "reevaluate",
    "set_autoreprice",
    "set_fees",
    "update_rule",
]
