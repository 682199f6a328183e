"""What every StockX poller shares: a start-to-start schedule and items that fail alone.

`poll_forever` runs a poll every interval, measured from the start of one poll to the start of
the next, so the cycle is the interval whatever the poll takes (a poll longer than the interval
is followed at once by the next; polls never overlap). A failed poll is retried after 2, 4, 8 …
seconds, capped at the interval, instead of a whole interval later (a token endpoint not yet
listening at start-up must not leave the mirror empty for an interval).

`each_item` makes the per-item calls of a poll (one order, one listing, one product): an item
StockX answers 404 for, or that fails on its own (`soleflip.common.stockx.is_item_failure`, or any
non-StockX error of that item), is logged, counted and reported, and the pass goes on with the
rest. StockX unavailable as a whole (circuit open, transport, 429, budget) ends the pass at once:
the remaining items wait for the next poll rather than fail one by one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, NoReturn, TypeVar

from prometheus_client import Counter, Gauge

from soleflip.common.errors import NotFound
from soleflip.common.observability import get_logger
from soleflip.common.stockx import StockXError, is_item_failure

if TYPE_CHECKING:
    from soleflip.common.polls import PollLog

log = get_logger(__name__)
K = TypeVar("K")

POLL_FAILURES = Counter(
    "soleflip_poll_failures",
    "Polls that failed as a whole (retried with backoff), by poller.",
    ["poller"],
)
POLL_DURATION = Gauge(
    "soleflip_poll_duration_seconds",
    "How long the last poll took, by poller (the convergence bound is interval + this).",
    ["poller"],
)
ITEM_FAILURES = Counter(
    "soleflip_poll_item_failures",
    "Per-item calls of a poll that failed, by poller, kind and reason (missing = 404, failed).",
    ["poller", "kind", "reason"],
)
#: First retry after a failed poll; doubles per consecutive failure up to the interval.
FIRST_RETRY_S = 2.0


def retry_delay(failures: int, interval_s: float, first_s: float = FIRST_RETRY_S) -> float:
    """Seconds before retrying after `failures` consecutive failed polls: 2, 4, 8 … ≤ interval."""
    return min(first_s * 2.0 ** max(0, failures - 1), interval_s)


async def _wait(due: float, wake: asyncio.Event | None, clock: Callable[[], float]) -> bool:
    """Sleep until `due` (monotonic seconds) or until woken; True when woken before `due`."""
    delay = due - clock()
    if delay <= 0:
        return False
    if wake is None:
        await asyncio.sleep(delay)
        return False
    try:
        await asyncio.wait_for(wake.wait(), delay)
    except TimeoutError:
        return False
    return True


async def poll_forever(
    poll: Callable[[bool], Awaitable[object]],
    *,
    name: str,
    interval_s: float,
    wake: asyncio.Event | None = None,
    first_retry_s: float = FIRST_RETRY_S,
    clock: Callable[[], float] = time.monotonic,
    record: PollLog | None = None,
) -> NoReturn:
    """Call `poll(requested)` every `interval_s`, start to start, from now on.

    `requested` is True for a poll run early because `wake` was set (e.g. `POST /sync`); such a
    poll does not move the schedule. A failure is retried after `retry_delay`. Each run is
    written to `record` (`GET /api/v1/polls`) when one is given.
    """
    due, failures = clock(), 0
    while True:
        requested = await _wait(due, wake, clock)
        if wake is not None:
            wake.clear()  # a request arriving during the poll runs another one after it
        if record is not None:
            await record.started()
        started = clock()
        try:
            result = await poll(requested)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            POLL_DURATION.labels(name).set(clock() - started)
            failures += 1
            delay = retry_delay(failures, interval_s, first_retry_s)
            POLL_FAILURES.labels(name).inc()
            log.exception("poll.failed", poller=name, failures=failures, retry_in_s=delay)
            due = min(due, clock() + delay) if requested else clock() + delay
            if record is not None:
                await record.finished("failed", next_in_s=due - clock(), error=repr(exc))
            continue
        POLL_DURATION.labels(name).set(clock() - started)
        failures = 0
        if not requested:
            # Keep the grid; after a poll longer than the interval start the next one at once
            # (not one per missed slot).
            due = max(due + interval_s, clock())
        if record is not None:
            # A poll may say it was paused (StockX unavailable as a whole) by returning "paused".
            outcome = "paused" if result == "paused" else "ok"
            await record.finished(outcome, next_in_s=due - clock())


@dataclass(slots=True)
class ItemPass(Generic[K]):
    """What a pass of per-item calls did: items done, missing at StockX (404), failed."""

    done: list[K] = field(default_factory=list)
    missing: list[K] = field(default_factory=list)
    failed: list[K] = field(default_factory=list)
    #: The outage that ended the pass early (the rest waits for the next poll).
    stopped_by: StockXError | None = None

    @property
    def calls(self) -> int:
        return len(self.done) + len(self.missing) + len(self.failed)


async def each_item(
    items: Iterable[K], call: Callable[[K], Awaitable[object]], *, poller: str, kind: str
) -> ItemPass[K]:
    """`call(item)` for every item; one item's failure never stops the others (module doc)."""
    result: ItemPass[K] = ItemPass()
    for item in items:
        try:
            await call(item)
        except NotFound:
            ITEM_FAILURES.labels(poller, kind, "missing").inc()
            log.warning("poll.item_missing", poller=poller, kind=kind, item=str(item))
            result.missing.append(item)
            continue
        except StockXError as exc:
            if not is_item_failure(exc):
                result.stopped_by = exc
                log.warning("poll.items_stopped", poller=poller, kind=kind, error=repr(exc))
                break
            _failed(result, item, poller, kind, repr(exc))
            continue
        except Exception as exc:
            # A bug or a row Postgres refuses: this item only; the stack trace says why.
            log.exception("poll.item_error", poller=poller, kind=kind, item=str(item))
            _failed(result, item, poller, kind, repr(exc))
            continue
        result.done.append(item)
    return result


def _failed(result: ItemPass[K], item: K, poller: str, kind: str, error: str) -> None:
    ITEM_FAILURES.labels(poller, kind, "failed").inc()
    log.warning("poll.item_failed", poller=poller, kind=kind, item=str(item), error=error)
    result.failed.append(item)
