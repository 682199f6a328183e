"""Connecting to NATS the way a long-running service must: never give up reconnecting.

nats-py's defaults stop reconnecting after about two minutes and retry every server on a fixed
beat; services instead reconnect forever with jitter, log every state change, and treat a server
that is not up yet at start-up as a bounded wait rather than an instant crash.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any

import structlog
from nats.aio.client import Client, Server

from soleflip.common.errors import Unavailable

log = structlog.get_logger(__name__)


def _jittered_reconnect(wait: float, jitter: float) -> Any:
    """A `reconnect_to_server_handler`: least-tried server first, a random pause between tries.

    The first attempt after a disconnect is immediate (a restarted server is often back at once);
    later ones wait `wait` plus up to `jitter` seconds, so replicas do not reconnect in lockstep.
    """

    def choose(servers: list[Server], _info: dict[str, Any]) -> tuple[Server | None, float]:
        fewest = min(s.reconnects for s in servers)
        server = random.choice([s for s in servers if s.reconnects == fewest])
        delay = 0.0 if server.reconnects == 0 else wait + random.uniform(0.0, jitter)
        return server, delay

    return choose


def _callbacks(nc: Client, name: str) -> dict[str, Any]:
    """Log every connection state change; nats-py's default error callback only prints."""

    async def on_error(exc: Exception) -> None:
        log.warning("nats.error", connection=name, error=repr(exc))

    async def on_disconnect() -> None:
        log.warning("nats.disconnected", connection=name)

    async def on_reconnect() -> None:
        url = nc.connected_url.geturl() if nc.connected_url else None
        log.info("nats.reconnected", connection=name, url=url)

    async def on_close() -> None:
        log.info("nats.closed", connection=name)

    return {
        "error_cb": on_error,
        "disconnected_cb": on_disconnect,
        "reconnected_cb": on_reconnect,
        "closed_cb": on_close,
    }


async def connect(
    urls: str | Sequence[str],
    *,
    name: str,
    first_connect_timeout: float = 30.0,
    connect_timeout: float = 2.0,
    reconnect_wait: float = 1.0,
    reconnect_jitter: float = 1.0,
    ping_interval: float = 20.0,
) -> Client:
    """Connect to NATS, reconnecting forever afterwards.

    The first connection is retried for up to `first_connect_timeout` seconds (pods often start
    before NATS does) and then raises `Unavailable`. `ping_interval` bounds how long a silently
    dead connection goes unnoticed (three missed pings).
    """
    servers = [urls] if isinstance(urls, str) else list(urls)
    nc = Client()
    options: dict[str, Any] = {
        "servers": servers,
        "name": name,
        "allow_reconnect": True,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": reconnect_wait,
        "connect_timeout": connect_timeout,
        "ping_interval": ping_interval,
        "max_outstanding_pings": 3,
        "reconnect_to_server_handler": _jittered_reconnect(reconnect_wait, reconnect_jitter),
        **_callbacks(nc, name),
    }
    try:
        await asyncio.wait_for(nc.connect(**options), timeout=first_connect_timeout)
    except TimeoutError:
        await _close_quietly(nc)
        raise Unavailable(
            f"NATS at {', '.join(servers)} did not answer within {first_connect_timeout:g} s"
        ) from None
    log.info(
        "nats.connected",
        connection=name,
        url=nc.connected_url.geturl() if nc.connected_url else None,
    )
    return nc


async def _close_quietly(nc: Client) -> None:
    # Closing a half-open or dead transport can raise; that must not mask the caller's outcome.
    try:
        await asyncio.wait_for(nc.close(), timeout=2.0)
    except Exception as exc:
        log.info("nats.close_failed", error=repr(exc))


async def disconnect(nc: Client, *, grace: float = 5.0) -> None:
    """Shut a connection down on exit: drain when connected, else close; never raises.

    Draining lets subscriptions finish and flushes buffered publishes (acks). nats-py's `close()`
    raises when publishes were buffered during a reconnect and the socket is gone; at shutdown
    there is nothing left to do about that, so it is logged, not raised.
    """
    if nc.is_closed:
        return
    try:
        if nc.is_connected:
            await asyncio.wait_for(nc.drain(), timeout=grace)
    except Exception as exc:
        log.warning("nats.drain_failed", error=repr(exc))
    if not nc.is_closed:
        await _close_quietly(nc)
