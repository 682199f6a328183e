"""The simulator clock: wall time, optionally running `speed` times faster, plus the jumps that
`POST /_sim/advance` adds."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime


class SimClock:
    """Sim time in epoch seconds. Wall time keeps flowing (`speed` sim seconds per wall second,
    1 by default); `advance` adds a jump on top. Rate limits stay on the wall clock."""

    def __init__(
        self,
        wall: float | None = None,
        speed: float = 1.0,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._wall: Callable[[], float] = wall_clock if wall is None else (lambda: wall)
        self._anchor_wall = self._wall()
        self._anchor_sim = self._anchor_wall
        self._speed = speed

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> float:
        return self._anchor_sim + (self._wall() - self._anchor_wall) * self._speed

    def advance(self, seconds: float) -> None:
        self._anchor_sim += seconds

    def set_speed(self, speed: float) -> None:
        """Change the pace from now on; sim time does not jump."""
        self._anchor_sim, self._anchor_wall = self.now(), self._wall()
        self._speed = speed


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
