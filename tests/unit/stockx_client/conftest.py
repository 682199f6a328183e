"""A scripted StockX behind `httpx.MockTransport`, and a client wired to it.

The client under test is the real one: real token store (over `MemoryKv`), real transport,
retries and breaker; only the network and the sleeps are fakes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from soleflip.common.crypto import Crypto
from soleflip.common.settings import Settings
from soleflip.common.stockx import (
    ClientConfig,
    KvTokenStore,
    LocalBudget,
    MemoryKv,
    OAuthCredentials,
    RetryPolicy,
    StockXClient,
    TokenTiming,
)

API_URL = "https://api.stockx.test/v2"
AUTH_URL = "https://accounts.stockx.test"
EXAMPLES: dict[str, Any] = json.loads((Path(__file__).parent / "openapi_examples.json").read_text())

Answer = httpx.Response | Callable[[httpx.Request], httpx.Response]


def json_response(status: int, body: object, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


class FakeStockX:
    """Answers API calls from a queue (then `default`) and token calls with fresh tokens."""

    def __init__(self) -> None:
        self.queue: list[Answer] = []
        self.default: Answer = json_response(200, {})
        self.api_calls: list[httpx.Request] = []
        self.token_calls: list[dict[str, list[str]]] = []
        self.token_answer: Answer | None = None
        self.rotate = False
        self.expires_in = 43200

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "accounts.stockx.test":
            return self._token(request)
        self.api_calls.append(request)
        answer = self.queue.pop(0) if self.queue else self.default
        return answer(request) if callable(answer) else answer

    def _token(self, request: httpx.Request) -> httpx.Response:
        self.token_calls.append(parse_qs(request.content.decode()))
        if self.token_answer is not None:
            answer = self.token_answer
            return answer(request) if callable(answer) else answer
        n = len(self.token_calls)
        body: dict[str, object] = {
            "access_token": f"access-{n}",
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }
        if self.rotate:
            body["refresh_token"] = f"refresh-{n}"
        return json_response(200, body)

    def bearer(self, index: int = -1) -> str:
        return self.api_calls[index].headers["authorization"].removeprefix("Bearer ")


class Sleeps:
    """Records requested sleeps instead of sleeping (still yields to the loop)."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        await asyncio.sleep(0)


SETTINGS = Settings(
    stockx_api_url=API_URL,
    stockx_auth_url=AUTH_URL,
    stockx_client_id="client-id",
    stockx_client_secret="client-secret",
    stockx_refresh_token="refresh-0",
    stockx_api_key="api-key-123",
)
FERNET = Crypto([Crypto.generate_key()])
#: deterministic backoff: rng 0 -> half of the exponential ceiling (0.5 s, 1 s, 2 s ...)
CONFIG = ClientConfig(retry=RetryPolicy(max_attempts=4, base_delay_s=1.0), breaker_threshold=5)


#: tokens here are seconds old when the fake rejects them; allow the forced refresh anyway
TIMING = TokenTiming(min_forced_refresh_s=0.0)


def build_client(
    fake: FakeStockX,
    sleeps: Sleeps,
    *,
    kv: MemoryKv | None = None,
    config: ClientConfig = CONFIG,
    timing: TokenTiming = TIMING,
) -> StockXClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake.handler), base_url=API_URL + "/")
    creds = OAuthCredentials.from_settings(SETTINGS)
    tokens = KvTokenStore(kv or MemoryKv(), FERNET, http, creds, timing=timing)
    budget = LocalBudget(rate_per_s=10_000, daily=25_000)
    return StockXClient(
        SETTINGS,
        tokens=tokens,
        budget=budget,
        http=http,
        config=config,
        sleep=sleeps,
        rng=lambda: 0.0,
    )


@pytest.fixture
def fake() -> FakeStockX:
    return FakeStockX()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def client(fake: FakeStockX, sleeps: Sleeps) -> AsyncIterator[StockXClient]:
    async with build_client(fake, sleeps) as built:
        yield built
    await built.http.aclose()
