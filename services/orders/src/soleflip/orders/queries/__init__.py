"""Read SQL of the orders schema: the pollers' questions and the REST views."""

from soleflip.orders.queries._sync import (
    newest_created,
    orders_needing_detail,
    unseen_listings,
    vanished_since,
)

__all__ = ["newest_created", "orders_needing_detail", "unseen_listings", "vanished_since"]
