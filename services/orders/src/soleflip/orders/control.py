"""`POST /api/v1/sync` across replicas: the request reaches the poller leader over core NATS.

Only the process leading the pollers subscribes to `control.orders.sync` (namespaced by the
NATS prefix), for exactly as long as it leads; any replica that receives the HTTP request sends
a core-NATS request there and waits for the reply. So the poll runs where the poller runs, the
caller learns whether a leader took it (no responders → 503: the next leader polls as soon as it
is elected anyway), and nothing is stored: a request is worth nothing once the poll ran.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from soleflip.common.errors import InvalidInput, Unavailable
from soleflip.orders.service import OrdersService

#: Outside every stream's subjects on purpose: under `orders.>` the ORDERS stream would store the
#: request and answer it with a publish ack before the leader could.
SYNC_SUBJECT = "control.orders.sync"
SYNC_TARGETS = ("orders", "listings", "all")
#: How long the asking replica waits for the leader's reply.
SYNC_REPLY_S = 2.0


@contextlib.asynccontextmanager
async def serving_sync_requests(service: OrdersService) -> AsyncIterator[None]:
    """While the body runs (the leader's poll loop), answer sync requests from any replica."""

    async def on_request(msg: Msg) -> None:
        what = msg.data.decode()
        if what not in SYNC_TARGETS:
            await msg.respond(b"invalid")
            return
        service.request_poll(what)
        await msg.respond(b"requested")

    nc = service.runtime.nc
    sub = await nc.subscribe(service.runtime.names.subject(SYNC_SUBJECT), cb=on_request)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):  # the connection may be closing already
            await sub.unsubscribe()


async def request_sync(service: OrdersService, what: str) -> None:
    """Ask the poller leader (whichever replica it is) to poll `what` now."""
    if what not in SYNC_TARGETS:
        raise InvalidInput("what must be orders, listings or all")
    subject = service.runtime.names.subject(SYNC_SUBJECT)
    try:
        reply = await service.runtime.nc.request(subject, what.encode(), timeout=SYNC_REPLY_S)
    except (NoRespondersError, NatsTimeoutError) as exc:
        raise Unavailable("no poller leader answered; polling resumes once one is elected") from exc
    if reply.data != b"requested":
        raise InvalidInput(f"the poller refused the request: {reply.data.decode()!r}")
