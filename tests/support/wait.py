"""The one poll-until helper of the test suite: a test waits for an outcome it can only observe
(a committed row, a counter, a log of calls), never for a fixed time."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")


@overload
async def until(
    check: Callable[[], Awaitable[T]],
    within: float = ...,
    *,
    what: str = ...,
    interval: float = ...,
) -> T: ...


@overload
async def until(
    check: Callable[[], T],
    within: float = ...,
    *,
    what: str = ...,
    interval: float = ...,
) -> T: ...


async def until(
    check: Callable[[], Any],
    within: float = 10.0,
    *,
    what: str = "condition",
    interval: float = 0.05,
) -> Any:
    """Call `check()` (sync or async) until it returns something truthy, and return that value.

    Fails the test with an `AssertionError` naming `what` after `within` seconds of loop time.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not within {within:g} s")
        await asyncio.sleep(interval)
