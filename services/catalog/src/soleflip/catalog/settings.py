"""Catalog settings: the service's own knobs on top of the common `Settings`.

Nothing here reads the environment: defaults derive from the common settings (the refresh
interval from `SOLEFLIP_POLL_INTERVAL_S`), and tests or benchmarks override fields explicitly.
"""

from __future__ import annotations

import msgspec

from soleflip.common.settings import Settings

DAY_S = 86_400.0


class CatalogSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How often the catalog refreshes products and how hard it works on batch jobs."""

    #: A product older than this is refreshed from StockX (and counts as stale for enrichment).
    refresh_ttl_s: float = 7 * DAY_S
    #: Seconds between refresh rounds.
    refresh_interval_s: float = 300.0
    #: Run the refresh poller at all.
    refreshing: bool = True
    #: Job items worked on at once in one process (the shared StockX budget paces them).
    job_concurrency: int = 4
    #: Longest wait of one consumer fetch: shutdown waits for the fetch in flight.
    fetch_timeout_s: float = 2.0
    #: Database pool size of one process (a job runner keeps one idle connection for its
    #: liveness lock; workers borrow connections only for short statements, never across calls).
    pool_size: int = 10

    @classmethod
    def from_settings(cls, settings: Settings) -> CatalogSettings:
        return cls(refresh_interval_s=settings.poll_interval_s)
