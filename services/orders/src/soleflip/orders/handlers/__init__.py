"""Orders handlers: plain async functions that decide (in the domain) and write.

They write in the caller's unit of work and do not commit, so a consumer batch or a poll page
lands as one transaction with its inbox claims and outbox events.
"""

from soleflip.orders.handlers._stock import purchase_units, record_purchases
from soleflip.orders.handlers._sync import apply_listings, apply_orders

__all__ = ["apply_listings", "apply_orders", "purchase_units", "record_purchases"]
