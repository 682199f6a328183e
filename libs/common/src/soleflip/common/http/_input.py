"""Input no route could store or decode, refused once for every route (the app's `before_request`).

Postgres `text` cannot hold NUL, so a NUL in a path or query parameter (`%00`) or in any string or
key of a JSON body (`\\u0000`) is a 422 naming the parameter or the JSON path. A body that is not
UTF-8 or nests deeper than the decoder can follow is a 400. Both would otherwise surface as a
500 (asyncpg's encoding error, msgspec's `RecursionError`/`UnicodeDecodeError`), which only
real bugs may produce.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request

from soleflip.common.contracts.bounds import NUL_PROBLEM, has_nul, nul_path
from soleflip.common.errors import BadRequest, InvalidInput


async def refuse_unstorable_input(request: Request[Any, Any, Any]) -> None:
    """Raise a 4xx error for NUL in any parameter or body string, or an undecodable body."""
    for name, value in request.path_params.items():
        if isinstance(value, str) and "\x00" in value:
            raise _nul(name, "path")
    for name, value in request.query_params.multi_items():
        if "\x00" in name or (isinstance(value, str) and "\x00" in value):
            raise _nul(name.replace("\x00", "\\u0000"), "query")
    body = await request.body()  # read under the route's size cap and kept for the handler
    if not body:
        return
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        check_json_body(body)
    elif b"\x00" in body:
        raise _nul("$", "body")


def check_json_body(body: bytes) -> None:
    """Refuse a body Postgres could not store or msgspec could not decode without crashing."""
    try:
        body.decode()
    except UnicodeDecodeError as exc:
        raise BadRequest(f"body is not valid UTF-8 (byte {exc.start})") from None
    if has_nul(body):
        raise _nul(nul_path(body), "body")
    try:
        msgspec.json.decode(body)
    except RecursionError:
        raise BadRequest("body is nested too deeply") from None
    except msgspec.DecodeError:
        pass  # not JSON: the route's own decoding answers that, with its own message


def _nul(field: str, source: str) -> InvalidInput:
    return InvalidInput(
        f"{field} {NUL_PROBLEM}",
        errors=[{"field": field, "message": NUL_PROBLEM, "source": source}],
    )
