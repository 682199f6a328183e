"""Page-number, cursor and poll loops, each with a hard bound: a server that always answers
`hasNextPage: true`, repeats a cursor or never finishes an operation cannot hold us forever."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

from soleflip.common.stockx._errors import StockXPollTimeout
from soleflip.common.stockx._models_common import Page
from soleflip.common.stockx._models_listings import ListingOperation, OperationsPage

P = TypeVar("P", bound=Page)
I = TypeVar("I")  # noqa: E741
T = TypeVar("T")

#: Default bound on pages one iterator walks (x100 items is beyond any seller's inventory).
MAX_PAGES = 1_000


async def iter_page_items(
    fetch: Callable[[int], Awaitable[P]],
    items: Callable[[P], Sequence[I]],
    max_pages: int = MAX_PAGES,
) -> AsyncIterator[I]:
    """Items of pages 1, 2, ... while `hasNextPage` (StockX's `count` is not reliable for this);
    an empty page also ends the walk."""
    for number in range(1, max_pages + 1):
        page = await fetch(number)
        batch = items(page)
        for item in batch:
            yield item
        if not page.has_next_page or not batch:
            return


async def iter_cursor_items(
    fetch: Callable[[str | None], Awaitable[OperationsPage]],
    max_pages: int = MAX_PAGES,
) -> AsyncIterator[ListingOperation]:
    """Operations of every cursor page until `nextCursor` is null, empty or repeats."""
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(max_pages):
        page = await fetch(cursor)
        for operation in page.operations:
            yield operation
        cursor = page.next_cursor
        if not cursor or cursor in seen:
            return
        seen.add(cursor)


async def poll_until(
    fetch: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    what: str,
    limit_s: float,
    sleep: Callable[[float], Awaitable[None]],
    initial_delay_s: float = 1.0,
    max_delay_s: float = 10.0,
) -> T:
    """Fetch until `done`, sleeping 1 s, 2 s, 4 s ... (capped); `StockXPollTimeout` after
    `limit_s` seconds, including time spent inside a slow fetch."""
    deadline = time.monotonic() + limit_s
    delay = initial_delay_s
    last: T | None = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            async with asyncio.timeout(remaining):
                last = await fetch()
        except TimeoutError:
            break
        if done(last):
            return last
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        await sleep(min(delay, remaining))
        delay = min(delay * 2, max_delay_s)
    raise StockXPollTimeout(f"{what} not final after {limit_s:g} s (last seen: {last!r:.300})")
