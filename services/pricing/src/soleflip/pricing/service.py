"""What pricing's edges share inside one process: the runtime (pool, NATS, StockX client, outbox
relay), pricing's settings and its clock. Controllers, consumers and pollers receive it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg

from soleflip.common.runtime import ServiceRuntime
from soleflip.common.stockx import StockXClient
from soleflip.pricing.settings import PricingSettings

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class PricingService:
    """The pricing process; the runtime's pool and clients are open inside its lifespan."""

    def __init__(
        self, runtime: ServiceRuntime, options: PricingSettings, clock: Clock = utc_now
    ) -> None:
        self.runtime = runtime
        self.options = options
        self.clock = clock

    @property
    def pool(self) -> asyncpg.Pool:
        return self.runtime.pool

    @property
    def stockx(self) -> StockXClient:
        return self.runtime.stockx

    def now(self) -> datetime:
        return self.clock()
