"""A reply subscription whose messages nats-py hands over from its read loop, without a task."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nats.aio.msg import Msg


class ReplyInbox(asyncio.Future[Msg]):
    """What a subscription made with `future=` delivers to: nats-py's read loop calls
    `set_result` with each message (meant for one request's reply); here every call goes to
    `on_msg` at once, and the inbox never completes. A `cb=` subscription would queue each
    message (a PubAck) for a task of its own: one more task wake-up and a coroutine per publish
    before the waiting publisher even hears of it. nats-py re-subscribes it after a reconnect
    like any other subscription. `on_msg` runs inside the read loop: it must not raise."""

    def __init__(self, on_msg: Callable[[Msg], None]) -> None:
        super().__init__()
        self._on_msg = on_msg

    def set_result(self, result: Msg, /) -> None:
        self._on_msg(result)

    def cancelled(self) -> bool:
        return False
