"""The accounts host: `GET /authorize` and `POST /oauth/token` (Auth0-style)."""

from __future__ import annotations

import json
from typing import Any

from litestar import Request, Response, get, post

from soleflip.stockx_sim.auth import authorize, token_grant
from soleflip.stockx_sim.clock import iso
from soleflip.stockx_sim.errors import OAuthError
from soleflip.stockx_sim.params import world_of

Req = Request[Any, Any, Any]


@get("/authorize")
async def authorize_endpoint(request: Req) -> Response[Any]:
    params = dict(request.query_params.items())
    location = authorize(world_of(request), params)
    return Response(b"", status_code=302, headers={"location": location})


@post("/oauth/token", status_code=200)
async def token_endpoint(request: Req) -> Response[Any]:
    if request.headers.get("content-type", "").startswith("application/json"):
        raw = json.loads(await request.body() or b"{}")
        form = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    else:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    world = world_of(request)
    entry = {"time": iso(world.now()), "grant_type": form.get("grant_type"), "status": 200}
    world.token_requests.append(entry)
    try:
        body = token_grant(world, form)
    except OAuthError as error:
        entry["status"] = error.status
        raise
    return Response(body, headers={"cache-control": "no-store", "pragma": "no-cache"})


AUTH_HANDLERS = [authorize_endpoint, token_endpoint]
