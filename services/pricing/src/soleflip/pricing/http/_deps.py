"""What controllers receive by injection: the pool of the running service and its clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg

from soleflip.common.runtime import ServiceRuntime


def utc_now() -> datetime:
    return datetime.now(UTC)


class Pricing:
    """The request-time view of the service (the runtime's pool is open inside the lifespan)."""

    def __init__(self, runtime: ServiceRuntime, clock: Callable[[], datetime] = utc_now) -> None:
        self._runtime = runtime
        self._clock = clock

    @property
    def pool(self) -> asyncpg.Pool:
        return self._runtime.pool

    def now(self) -> datetime:
        return self._clock()
