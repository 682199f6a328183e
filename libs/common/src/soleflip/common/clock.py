"""The clock of a service: its edges read it once per message, request, poll or job item and
hand the time to the handlers as `now` (tests pass another). `runtime` re-exports both."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)
