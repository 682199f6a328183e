"""`GET /api/v1/payouts/pending`: what StockX still owes the seller, per currency and per sale."""

from __future__ import annotations

from datetime import datetime

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from soleflip.common.http import requires
from soleflip.orders import queries
from soleflip.orders.http._params import decode_cursor, encode_cursor, limit_of
from soleflip.orders.http._views import PendingPayoutsPage, pending_view, total_view
from soleflip.orders.service import OrdersService

Service = NamedDependency[OrdersService]


class PayoutController(Controller):
    """Pending payouts: sales not paid out yet and not fallen through, by expected date."""

    path = "/api/v1/payouts"
    tags = ["orders"]

    @get("/pending", guards=[requires("read")])
    async def list_pending_payouts(
        self,
        service: Service,
        limit: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
    ) -> PendingPayoutsPage:
        """Totals per currency over every pending sale, then a page of them (soonest first)."""
        size = limit_of(limit)
        after = decode_cursor(cursor, tuple[datetime, str])
        async with service.pool.acquire() as conn:
            totals = await queries.pending_totals(conn)
            rows = await queries.pending_payouts(conn, after=after, limit=size)
        last = rows[-1] if len(rows) == size else None
        token = encode_cursor([last["payout_expected_at"], last["order_number"]]) if last else None
        return PendingPayoutsPage(
            [total_view(t) for t in totals], [pending_view(r) for r in rows], token
        )
