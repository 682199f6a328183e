"""Orders settings: the service's own knobs on top of the common `Settings`.

Nothing here reads the environment: the defaults derive from the common settings (e.g. the poll
interval from `SOLEFLIP_POLL_INTERVAL_S`), and tests or benchmarks override fields explicitly.
"""

from __future__ import annotations

import msgspec

from soleflip.common.settings import Settings


class OrdersSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How orders consumes, polls and settles listing operations."""

    #: Seconds between fallback polls of each resource kind.
    poll_interval_s: float = 300.0
    #: Run the pollers at all (tests of the webhook path turn them off).
    polling: bool = True
    #: Most messages per consumer fetch (a fetch takes what is waiting, up to this): Postgres
    #: applies ~20,000 rows/s in batches, ~1,200/s singly.
    batch_size: int = 1000
    #: Days of overlap when polling history from the watermark (StockX filters by date only).
    history_overlap_days: int = 1
    #: Seconds between reads of what rarely changes and no other signal reveals: order history
    #: from the watermark and the expired listings (default: 12 poll intervals).
    settled_poll_interval_s: float | None = None
    #: 404s from StockX after which an order or listing is no longer asked for.
    missing_max_tries: int = 3
    #: Lowest-priority order-detail calls (shipment, tracking) per poll at most.
    details_per_poll: int = 100
    #: Seconds between scans of unsettled listing operations.
    operation_poll_s: float = 1.0
    #: More reprice commands than this in one batch go through StockX's batch update.
    batch_update_threshold: int = 5
    #: Seconds between announcements of a stock unit whose variant is still pending.
    variant_retry_s: float = 3600.0
    #: Most pending units announced per pass.
    variant_retry_batch: int = 100
    #: Database pool size of one process.
    pool_size: int = 10
    #: Profit is reported in the sale currency and in this one (`SOLEFLIP_BASE_CURRENCY`).
    base_currency: str = "EUR"

    @property
    def settled_interval_s(self) -> float:
        return self.settled_poll_interval_s or 12 * self.poll_interval_s

    @classmethod
    def from_settings(cls, settings: Settings) -> OrdersSettings:
        return cls(poll_interval_s=settings.poll_interval_s, base_currency=settings.base_currency)
