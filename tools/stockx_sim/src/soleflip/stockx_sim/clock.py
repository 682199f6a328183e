"""The simulator clock: wall time plus an offset that `POST /_sim/advance` moves forward."""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime


class SimClock:
    """Sim time in epoch seconds. Wall time keeps flowing; `advance` adds a jump on top."""

    def __init__(self, wall: float | None = None) -> None:
        self._offset = 0.0
        self._frozen = wall

    def now(self) -> float:
        base = time.time() if self._frozen is None else self._frozen
        return base + self._offset

    def advance(self, seconds: float) -> None:
        self._offset += seconds


def iso(ts: float) -> str:
    """StockX's timestamp format: ISO 8601 UTC with milliseconds and `Z`."""
    moment = datetime.fromtimestamp(ts, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def day(ts: float) -> str:
    """`YYYY-MM-DD` of a sim timestamp (UTC)."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d")


def parse_iso(raw: str) -> float:
    """Parse an ISO 8601 timestamp (a trailing `Z` allowed); raises ValueError."""
    moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def parse_day(raw: str) -> float:
    """Parse `YYYY-MM-DD` strictly; raises ValueError."""
    moment = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
    return moment.timestamp()


def uuid4_from(rng: random.Random) -> str:
    """A UUID v4 drawn from `rng`, so seeded worlds get the same ids."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
