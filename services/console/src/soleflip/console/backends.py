"""The four services' REST APIs as the console calls them: one httpx client each, the service
token on every call, and every failure turned into a `ServiceError` with a readable message."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

T = TypeVar("T")


class ServiceError(Exception):
    """A service refused a call or could not be reached; `message` is for the page."""

    def __init__(self, service: str, status: int | None, message: str) -> None:
        super().__init__(f"{service}: {message}")
        self.service = service
        self.status = status
        self.message = message

    @property
    def readable(self) -> str:
        return f"{self.service}: {self.message}"


@dataclass(frozen=True)  # no slots: `Outcome[T]()` sets __orig_class__
class Outcome(Generic[T]):
    """A section's data or the error it got instead (a page shows each section on its own)."""

    value: T | None = None
    error: str | None = None


async def attempt(call: Awaitable[T]) -> Outcome[T]:
    """Await `call`; a `ServiceError` becomes the outcome's readable error."""
    try:
        return Outcome(value=await call)
    except ServiceError as exc:
        return Outcome(error=exc.readable)


class Backends:
    """httpx clients of ingest, catalog, orders and pricing (open inside the app's lifespan)."""

    def __init__(self, urls: Mapping[str, str], token: str, timeout_s: float) -> None:
        self.urls = dict(urls)
        self._token = token
        self._timeout = timeout_s
        self._clients: dict[str, httpx.AsyncClient] = {}

    async def open(self) -> None:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        limits = httpx.Limits(max_connections=50, max_keepalive_connections=20)
        for name, url in self.urls.items():
            self._clients[name] = httpx.AsyncClient(
                base_url=url, headers=headers, timeout=self._timeout, limits=limits
            )

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    async def request(
        self,
        service: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """The answer of a 2xx call; anything else raises `ServiceError`."""
        client = self._client(service, path)
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        try:
            answer = await client.request(
                method, path, params=clean, json=json, content=content, headers=headers
            )
        except httpx.TimeoutException:
            raise ServiceError(service, None, "did not answer in time; try again") from None
        except httpx.HTTPError:
            raise ServiceError(service, None, "is unreachable; is it running?") from None
        if answer.status_code >= 400:
            raise ServiceError(service, answer.status_code, problem_message(answer))
        return answer

    async def stream_lines(
        self,
        service: str,
        path: str,
        *,
        content: bytes,
        headers: Mapping[str, str],
        params: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[Any]:
        """POST `content` and yield each JSON line of the streamed answer as it arrives
        (`Accept: application/x-ndjson`); a refusal or an outage raises `ServiceError`."""
        client = self._client(service, path)
        wanted = {**headers, "Accept": "application/x-ndjson"}
        try:
            async with client.stream(
                "POST", path, content=content, headers=wanted, params=params
            ) as answer:
                if answer.status_code >= 400:
                    await answer.aread()
                    raise ServiceError(service, answer.status_code, problem_message(answer))
                async for line in answer.aiter_lines():
                    if line.strip():
                        yield json.loads(line)
        except httpx.TimeoutException:
            raise ServiceError(service, None, "did not answer in time; try again") from None
        except httpx.HTTPError:
            raise ServiceError(service, None, "stopped answering; is it running?") from None

    async def get(self, service: str, path: str, **params: Any) -> Any:
        return (await self.request(service, "GET", path, params=params)).json()

    async def post(self, service: str, path: str, body: Any, **params: Any) -> Any:
        answer = await self.request(service, "POST", path, json=body, params=params)
        return answer.json() if answer.content else None

    async def patch(self, service: str, path: str, body: Any) -> Any:
        answer = await self.request(service, "PATCH", path, json=body)
        return answer.json() if answer.content else None

    async def put(self, service: str, path: str, body: Any) -> Any:
        answer = await self.request(service, "PUT", path, json=body)
        return answer.json() if answer.content else None

    def _client(self, service: str, path: str) -> httpx.AsyncClient:
        if not self._token and path.startswith("/api/"):
            raise ServiceError(
                service, None, "the console has no service token (SOLEFLIP_CONSOLE_SERVICE_TOKEN)"
            )
        return self._clients[service]

    async def ready(self, service: str) -> str:
        """`ok`, or what the service's readiness says is wrong."""
        try:
            answer = await self._clients[service].get("/health/ready", timeout=2.0)
        except httpx.HTTPError:
            return "unreachable"
        if answer.status_code == 200:
            checks = _checks(answer)
            degraded = [f"{k}: {v}" for k, v in checks.items() if v != "ok"]
            return "ok" if not degraded else "; ".join(degraded)
        failing = {k: v for k, v in _checks(answer).items() if v != "ok"}
        return "not ready" + (f" ({', '.join(failing)})" if failing else "")


def _checks(answer: httpx.Response) -> dict[str, str]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    checks = body.get("checks") if isinstance(body, dict) else None
    return {str(k): str(v) for k, v in checks.items()} if isinstance(checks, dict) else {}


def problem_message(answer: httpx.Response) -> str:
    """A problem+json answer as one readable sentence (its detail and field errors)."""
    try:
        body = answer.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return f"answered {answer.status_code}"
    text = str(body.get("detail") or body.get("title") or f"answered {answer.status_code}")
    errors = body.get("errors")
    if isinstance(errors, list):
        fields = [
            f"{e.get('field', '?')}: {e.get('message', '')}".strip()
            for e in errors
            if isinstance(e, dict)
        ]
        if fields:
            text += " (" + "; ".join(fields) + ")"
    return text
