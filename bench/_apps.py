"""The servers the ingest benchmark compares, as uvicorn import strings.

`ingest` is the real service (settings from the environment, like `soleflip serve ingest`);
`bare_asgi` reads the body and answers 202; `bare_litestar` is a Litestar route that decodes
the body with msgspec and answers 202: the two floors ingest's figures are divided by.
`bare_publish` is `bare_asgi` plus the one thing ingest cannot skip: each body published to
ingest's INGEST stream with its own `Nats-Msg-Id`, answered once JetStream acknowledged it
(ingest's own pipelined publisher, no checks, no signature, no parsing): the floor of any
webhook receiver that answers only after a durable write.
"""

from __future__ import annotations

import itertools
import secrets
from typing import Any

import msgspec
from litestar import Litestar, Request, post

from soleflip.common.bus import MSG_ID, Names, connect, ensure_streams, stream_spec
from soleflip.common.runtime import freeze_startup_objects
from soleflip.common.settings import load_settings
from soleflip.ingest.acks import AckTracker

_ANSWER = b'{"id":"x","duplicate":false}'


def ingest() -> Litestar:
    from soleflip.ingest.app import create_app

    return create_app(load_settings())


async def _body(receive: Any) -> bytes:
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _answer_202(send: Any) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 202,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"28")],
        }
    )
    await send({"type": "http.response.body", "body": _ANSWER})


async def bare_asgi(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await _answer_202(send)


class BarePublish:
    """An ASGI app: each request's body published to INGEST (lifespan connects), then 202."""

    def __init__(self) -> None:
        self._acks: AckTracker | None = None
        self._subject = ""
        self._id_prefix = f"bare-{secrets.token_hex(4)}-"
        self._ids = itertools.count()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http" or self._acks is None:
            return
        body = await _body(receive)
        headers = {MSG_ID: f"{self._id_prefix}{next(self._ids)}"}
        await (await self._acks.publish(self._subject, body, headers))
        await _answer_202(send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        settings = load_settings()
        names = Names(settings.nats_prefix)
        await receive()  # lifespan.startup
        nc = await connect(settings.nats_url, name="bench-bare-publish")
        await ensure_streams(nc.jetstream(), names, specs=[stream_spec("INGEST")])
        self._subject = names.subject("ingest.bench.bare")
        self._acks = AckTracker(nc, timeout=2.0)
        await self._acks.start()
        freeze_startup_objects()  # as ingest does
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        await self._acks.stop()
        await nc.drain()
        await send({"type": "lifespan.shutdown.complete"})


def bare_publish() -> BarePublish:
    return BarePublish()


@post("/webhooks/stockx", status_code=202)
async def _receive(request: Request[Any, Any, Any]) -> dict[str, Any]:
    event = msgspec.json.decode(await request.body())
    return {"id": event.get("id"), "duplicate": False}


def bare_litestar() -> Litestar:
    return Litestar([_receive], openapi_config=None, logging_config=None)
