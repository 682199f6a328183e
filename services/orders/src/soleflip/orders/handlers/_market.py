"""The latest market of each variant from pricing (`pricing.market.updated`), for value at
market in the inventory report."""

from __future__ import annotations

from collections.abc import Sequence

from soleflip.common.contracts.pricing import MarketSnapshot
from soleflip.common.db import Conn
from soleflip.orders import repository as repo


async def record_market(snapshots: Sequence[MarketSnapshot], *, conn: Conn) -> None:
    """Keep the newest market per (variant, currency); older observations change nothing."""
    await repo.store_market(conn, snapshots)
