"""The servers the ingest benchmark compares, as uvicorn import strings.

`ingest` is the real service (settings from the environment, like `soleflip serve ingest`);
`bare_asgi` reads the body and answers 202; `bare_litestar` is a Litestar route that decodes
the body with msgspec and answers 202: the two floors ingest's figures are divided by.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar, Request, post

from soleflip.common.settings import load_settings

_ANSWER = b'{"id":"x","duplicate":false}'


def ingest() -> Litestar:
    from soleflip.ingest.app import create_app

    return create_app(load_settings())


async def bare_asgi(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 202,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"28")],
        }
    )
    await send({"type": "http.response.body", "body": _ANSWER})


@post("/webhooks/stockx", status_code=202)
async def _receive(request: Request[Any, Any, Any]) -> dict[str, Any]:
    event = msgspec.json.decode(await request.body())
    return {"id": event.get("id"), "duplicate": False}


def bare_litestar() -> Litestar:
    return Litestar([_receive], openapi_config=None, logging_config=None)
