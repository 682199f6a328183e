"""What pricing's edges share inside one process: the runtime (pool, NATS, StockX client, outbox
relay), pricing's settings and its clock. Controllers, consumers and pollers receive it."""

from __future__ import annotations

from soleflip.common.runtime import DataService
from soleflip.pricing.settings import PricingSettings


class PricingService(DataService[PricingSettings]):
    """The pricing process: nothing beyond what every data service shares."""
