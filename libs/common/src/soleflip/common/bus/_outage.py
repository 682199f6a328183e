"""How a consumer waits out a dependency outage: capped exponential backoff, a metric, log lines."""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog

from soleflip.common.bus.metrics import CONSUMER_PAUSED, CONSUMER_PAUSES

log = structlog.get_logger(__name__)


class OutageWait:
    """One wait of one consumer: started by the first held outcome, ended by `end()`.

    Every `wait()` sleeps the next backoff step (woken at once by `stopping`); the runner tries
    the held messages again after it, so each try is the probe of the dependency. After
    `max_hold` seconds the runner stops holding and lets the messages spend a delivery.
    """

    def __init__(
        self,
        consumer: str,
        *,
        backoff: tuple[float, float],
        max_hold: float,
        stopping: asyncio.Event,
    ) -> None:
        self._consumer, self._max_hold, self._stopping = consumer, max_hold, stopping
        self._delay, self._max_delay = backoff
        self._started: float | None = None

    @property
    def expired(self) -> bool:
        return self._started is not None and time.monotonic() - self._started > self._max_hold

    async def wait(self, error: BaseException | None, held: int) -> bool:
        """Sleep before the next try; False when the consumer is stopping (hand them back)."""
        fields = {"consumer": self._consumer, "held": held, "error": repr(error)}
        if self._started is None:
            self._started = time.monotonic()
            CONSUMER_PAUSES.labels(self._consumer).inc()
            CONSUMER_PAUSED.labels(self._consumer).set(1)
            log.warning("nats.consumer_paused", retry_in_s=self._delay, **fields)
        else:
            log.info("nats.consumer_still_paused", retry_in_s=self._delay, **fields)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=self._delay)
        self._delay = min(self._delay * 2, self._max_delay)
        return not self._stopping.is_set()

    def end(self) -> None:
        """The dependency answered again (or the consumer stops): resume fetching."""
        if self._started is None:
            return
        CONSUMER_PAUSED.labels(self._consumer).set(0)
        paused = round(time.monotonic() - self._started, 3)
        log.info("nats.consumer_resumed", consumer=self._consumer, paused_s=paused)
        self._started = None
