"""What pricing's edges share inside one process: the runtime (pool, NATS, StockX client, outbox
relay), pricing's settings and its clock. Controllers, consumers and pollers receive it."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from soleflip.common.runtime import Clock, ServiceRuntime, utc_now
from soleflip.common.stockx import StockXClient
from soleflip.pricing.settings import PricingSettings


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
