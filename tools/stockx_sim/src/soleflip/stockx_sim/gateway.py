"""The API gateway in front of `/v2`: API key, rate limits, bearer token, faults, request log.

Checks run in gateway order: unknown key 403, then 429 (per-second bucket and daily quota per
key, injected storms; `Retry-After` only when configured), then 401 for the token, then injected
5xx (random, or every call naming one of `failing_ids`). Every call is logged.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

from litestar.enums import ScopeType
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)

from soleflip.stockx_sim.auth import verify_bearer
from soleflip.stockx_sim.clock import day, iso
from soleflip.stockx_sim.engine import tick
from soleflip.stockx_sim.errors import ApiError
from soleflip.stockx_sim.world import World


@dataclass(slots=True)
class _Bucket:
    """Tokens left for one key and when they were last topped up."""

    tokens: float
    at: float


class RateLimiter:
    """A token bucket per key (wall clock) plus a daily quota per key (sim-clock UTC day)."""

    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}
        self._daily: dict[tuple[str, str], int] = {}

    def check(self, world: World, key: str) -> None:
        rate, now = world.config.rate_per_s, time.monotonic()
        if rate > 0:
            bucket = self._buckets.setdefault(key, _Bucket(max(1.0, rate), now))
            bucket.tokens = min(max(1.0, rate), bucket.tokens + (now - bucket.at) * rate)
            bucket.at = now
            # A 5 % tolerance keeps a client pacing at exactly 1/rate from tripping on jitter.
            if bucket.tokens < 0.95:
                raise ApiError(429, "Too Many Requests: at most 1 request per second")
        today = (key, day(world.now()))
        if self._daily.get(today, 0) >= world.config.daily_limit:
            raise ApiError(429, "Too Many Requests: daily request limit exceeded")
        if rate > 0:
            bucket.tokens -= 1
        self._daily[today] = self._daily.get(today, 0) + 1


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


async def _send_error(send: Send, error: ApiError, retry_after_s: float | None) -> None:
    body = json.dumps(error.body()).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    # StockX documents no Retry-After: none unless a test asks for one (`PUT /_sim/faults`).
    if error.status == 429 and retry_after_s is not None:
        headers.append((b"retry-after", str(round(retry_after_s)).encode()))
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": error.status,
        "headers": headers,
    }
    await send(start)
    done: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(done)


class Gateway:
    """ASGI middleware guarding every `/v2` route."""

    def __init__(self, app: ASGIApp, world: World, limiter: RateLimiter) -> None:
        self.app, self.world, self.limiter = app, world, limiter

    def _admit(self, scope: Scope, key: str | None) -> None:
        world = self.world
        if key != world.config.api_key:
            raise ApiError(403, "Forbidden")
        if time.time() < world.faults.storm_until:
            raise ApiError(429, "Too Many Requests")
        self.limiter.check(world, key)
        verify_bearer(world, _header(scope, b"authorization"))
        path = str(scope.get("path", ""))
        failing = world.faults.failing_ids
        if failing and any(part in failing for part in path.split("/")):
            raise ApiError(500, "The request did not succeed")
        if world.fault_rng.random() < world.faults.error_rate:
            status = world.fault_rng.choice([500, 502, 503])
            raise ApiError(status, "The request did not succeed")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or not str(scope.get("path", "")).startswith("/v2"):
            await self.app(scope, receive, send)
            return
        world, key = self.world, _header(scope, b"x-api-key")
        entry: dict[str, Any] = {
            "time": iso(world.now()),
            "key": key,
            "method": scope.get("method"),
            "path": scope.get("path"),
            "status": 0,
        }
        world.requests.append(entry)
        if world.faults.latency_ms:
            await asyncio.sleep(world.faults.latency_ms / 1000)
        try:
            self._admit(scope, key)
        except ApiError as error:
            entry["status"] = error.status
            await _send_error(send, error, world.faults.retry_after_s)
            return
        tick(world)

        async def logging_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
            await send(message)

        await self.app(scope, receive, logging_send)
