"""The shared poll loop (start-to-start, backoff after failures) and per-item isolation."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time

from soleflip.common.errors import NotFound, Unavailable
from soleflip.common.polling import each_item, poll_forever, retry_delay
from soleflip.common.stockx import StockXCircuitOpen, StockXServerError


async def _run_for(seconds: float, **kwargs: object) -> None:
    task = asyncio.create_task(poll_forever(**kwargs))  # type: ignore[arg-type]
    await asyncio.sleep(seconds)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def test_retry_delay_doubles_from_two_seconds_up_to_the_interval() -> None:
    assert [retry_delay(n, 30.0) for n in range(1, 7)] == [2, 4, 8, 16, 30, 30]


async def test_polls_start_one_interval_apart_whatever_they_take() -> None:
    starts: list[float] = []

    async def poll(_: bool) -> None:
        starts.append(time.monotonic())
        await asyncio.sleep(0.6)  # most of the interval

    await _run_for(3.3, poll=poll, name="t", interval_s=1.0)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(gaps) >= 2
    assert all(0.9 < gap < 1.3 for gap in gaps), gaps  # waiting after the poll makes 1.6


async def test_a_poll_longer_than_the_interval_is_followed_at_once_without_catch_up() -> None:
    starts: list[float] = []

    async def poll(_: bool) -> None:
        starts.append(time.monotonic())
        await asyncio.sleep(1.0 if len(starts) == 1 else 0.0)

    await _run_for(1.5, poll=poll, name="t", interval_s=0.3)
    # One poll right after the long one, then the grid again: no burst for the missed slots.
    assert 2 <= len(starts) <= 4


async def test_a_failed_poll_is_retried_with_short_exponential_backoff() -> None:
    starts: list[float] = []

    async def poll(_: bool) -> None:
        starts.append(time.monotonic())
        if len(starts) <= 3:
            raise Unavailable("token endpoint not listening yet")

    await _run_for(2.0, poll=poll, name="t", interval_s=3600.0, first_retry_s=0.2)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(starts) == 4  # three failures, then the success waits the interval
    assert [round(g, 1) for g in gaps] == [0.2, 0.4, 0.8]


async def test_woken_poll_runs_at_once_and_keeps_the_schedule() -> None:
    calls: list[bool] = []
    wake = asyncio.Event()

    async def poll(requested: bool) -> None:
        calls.append(requested)

    task = asyncio.create_task(poll_forever(poll, name="t", interval_s=3600.0, wake=wake))
    await asyncio.sleep(0.1)
    wake.set()
    await asyncio.sleep(0.1)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert calls == [False, True]


async def test_one_failing_item_never_stops_the_others() -> None:
    done: list[int] = []

    async def call(item: int) -> None:
        if item == 1:
            raise NotFound("gone at StockX")
        if item == 3:
            raise ValueError("this item's data")
        done.append(item)

    result = await each_item(range(6), call, poller="t", kind="order")
    assert done == result.done == [0, 2, 4, 5]
    assert result.missing == [1]
    assert result.failed == [3]
    assert result.stopped_by is None


async def test_one_item_answered_with_a_5xx_fails_alone() -> None:
    async def call(item: int) -> None:
        if item == 0:
            raise StockXServerError("500 for this order", status_code=500)

    result = await each_item(range(3), call, poller="t", kind="order")
    assert result.failed == [0]
    assert result.done == [1, 2]


async def test_stockx_unavailable_as_a_whole_ends_the_pass_at_once() -> None:
    async def call(item: int) -> None:
        raise StockXCircuitOpen("StockX is down")

    result = await each_item(range(10), call, poller="t", kind="order")
    assert result.calls == 0
    assert isinstance(result.stopped_by, StockXCircuitOpen)
