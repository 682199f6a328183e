"""Retry timing and the per-client circuit breaker.

Every wait computed here is finite: backoff is capped, `Retry-After` is capped, and the breaker
opens for a fixed period before it lets exactly one probe through.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from soleflip.common.stockx._errors import StockXCircuitOpen
from soleflip.common.stockx._metrics import CIRCUIT_OPEN


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to wait before retrying a StockX call."""

    #: attempts per call, the first included; a forced token refresh adds one more.
    max_attempts: int = 4
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0
    #: a `Retry-After` longer than this is clipped, so one bad header cannot park a caller.
    max_retry_after_s: float = 60.0


def backoff_delay(
    retry: int, policy: RetryPolicy, rng: Callable[[], float] = random.random
) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, for retry 1, 2, ...

    The fixed half keeps a minimum spacing; the random half spreads processes that failed
    together so they do not retry in lockstep.
    """
    # The exponent is capped: a call retried for a rate limit can count many retries.
    ceiling: float = min(policy.max_delay_s, policy.base_delay_s * 2.0 ** min(retry - 1, 30))
    return ceiling / 2 + rng() * ceiling / 2


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or HTTP-date); None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


class CircuitBreaker:
    """Closed -> open after `threshold` consecutive failures -> half-open after `reset_after_s`,
    where one probe decides: success closes, failure re-opens for another period.

    Failures are 5xx, timeouts and transport errors; a 4xx proves StockX is up and counts as
    success; 429 is neutral because the budget, not the breaker, handles rate limits.
    """

    def __init__(
        self,
        threshold: int = 5,
        reset_after_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = threshold
        self._reset_after = reset_after_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self._reset_after:
            return "half_open"
        return "open"

    def before_call(self, endpoint: str = "") -> None:
        """Raise `StockXCircuitOpen` unless a call may go out now."""
        state = self.state
        if state == "closed":
            return
        if state == "half_open" and not self._probing:
            self._probing = True
            return
        assert self._opened_at is not None
        remaining = max(0.0, self._reset_after - (self._clock() - self._opened_at))
        raise StockXCircuitOpen(
            f"StockX circuit open after {self._threshold} consecutive failures",
            endpoint=endpoint,
            retry_after=remaining or 1.0,
        )

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False
        CIRCUIT_OPEN.set(0)

    def record_failure(self) -> None:
        self._failures += 1
        if self._probing or self._failures >= self._threshold:
            self._opened_at = self._clock()
            CIRCUIT_OPEN.set(1)
        self._probing = False

    def record_neutral(self) -> None:
        """The call ended without a verdict (429, cancellation): free the probe slot."""
        self._probing = False
