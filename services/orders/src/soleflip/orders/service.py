"""What orders' edges share inside one process: the runtime, options, clock, fee schedule,
triggers. Controllers, consumers and pollers receive it."""

from __future__ import annotations

import asyncio

from soleflip.common.db import Conn
from soleflip.common.runtime import Clock, DataService, ServiceRuntime, utc_now
from soleflip.orders import queries
from soleflip.orders.domain import FeeBook
from soleflip.orders.settings import OrdersSettings


class OrdersService(DataService[OrdersSettings]):
    """The orders process, plus its per-process caches and poll triggers."""

    def __init__(
        self, runtime: ServiceRuntime, options: OrdersSettings, clock: Clock = utc_now
    ) -> None:
        super().__init__(runtime, options, clock)
        self._fees = FeeBook()
        self._fees_version: tuple[int, int] | None = None
        #: Set by `POST /api/v1/sync` (or a test): the poller runs now instead of waiting.
        self.poll_now = asyncio.Event()
        #: What the next triggered poll covers: "orders", "listings" or "all".
        self.poll_what = "all"
        #: Started and completed polls of this process (one at a time): a test waits for a
        #: poll that started after its request, not for one already running when it asked.
        self.polls_started = 0
        self.polls_done = 0

    def request_poll(self, what: str = "all") -> None:
        """Poll now instead of at the next interval (two different requests poll both)."""
        pending = self.poll_now.is_set()
        self.poll_what = what if not pending or self.poll_what == what else "all"
        self.poll_now.set()

    async def fees(self, conn: Conn) -> FeeBook:
        """The copy of pricing's fee schedules, re-read whenever a schedule was added."""
        current = await queries.fee_version(conn)
        if current != self._fees_version:
            self._fees = await queries.fee_schedule(conn)
            self._fees_version = current
        return self._fees
