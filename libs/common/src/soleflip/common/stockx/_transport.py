"""One StockX HTTP call: circuit breaker, shared budget, token, pooled httpx, typed errors,
bounded retries, metrics and a trace span. The API mixins only describe endpoints.

Retries: 429 waits `Retry-After` when StockX sends it, else exponential backoff with jitter, and
pushes the shared budget back (and halves its rate for a while) for every process; a 429 uses
up no attempt, so a rate-limited call is retried until its deadline, never given up early. 5xx
and timeouts are retried for idempotent methods only (a POST that timed out may have created a
listing); a POST is retried only when the connection never opened. A 401 triggers one forced
token refresh and one extra attempt. Attempts, each sleep and the whole call are bounded
(`RetryPolicy`, `ClientConfig`).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import anyio.lowlevel
import httpx
import msgspec
from opentelemetry import trace

from soleflip.common.stockx._auth import TokenSource
from soleflip.common.stockx._budget import Priority, RequestBudget
from soleflip.common.stockx._errors import (
    StockXError,
    StockXTransportError,
    StockXUnexpectedResponse,
    error_for_response,
    looks_like_html,
)
from soleflip.common.stockx._metrics import LATENCY, REQUESTS, RETRIES
from soleflip.common.stockx._resilience import (
    CircuitBreaker,
    RetryPolicy,
    backoff_delay,
    parse_retry_after,
)

T = TypeVar("T")
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "PATCH"})
TRACER_NAME = "soleflip.common.stockx"


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Timeouts, retries and breaker thresholds of a `StockXClient`."""

    #: one HTTP attempt
    request_timeout_s: float = 15.0
    #: the whole call: budget waits, attempts and retry sleeps
    call_timeout_s: float = 120.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker_threshold: int = 5
    breaker_reset_s: float = 30.0
    max_connections: int = 10


@dataclass(slots=True)
class Call:
    """One logical call to an endpoint template, with its retry bookkeeping."""

    method: str
    template: str
    path: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, object] | None = None
    body: object = None
    priority: Priority = Priority.LISTING_SYNC
    stream: bool = False
    accept: str = "application/json"
    deadline: float = 0.0
    attempts: int = 0
    refreshed: bool = False
    rate_limited: int = 0


@dataclass(frozen=True, slots=True)
class _Retry:
    delay: float
    reason: str
    error: StockXError
    free: bool = False


def query_value(value: object) -> str:
    """StockX's query formats: plain comma lists (no brackets or quotes), lower-case booleans,
    `YYYY-MM-DD` dates."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(str(v) for v in value)
    return str(value)


class Transport:
    """Executes `Call`s against the StockX API (see the module docstring)."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        api_key: str,
        tokens: TokenSource,
        budget: RequestBudget,
        config: ClientConfig,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        tracer: trace.Tracer | None = None,
    ) -> None:
        self.http = http
        # The global provider (set once by `configure_observability`) unless one is passed in.
        self._tracer = tracer or trace.get_tracer(TRACER_NAME)
        self._api_key = api_key
        self._tokens = tokens
        self._budget = budget
        self._config = config
        self.sleep = sleep
        self._rng = rng
        self.breaker = CircuitBreaker(config.breaker_threshold, config.breaker_reset_s)
        self._warm = False

    async def json(self, call: Call, type: type[T]) -> T:
        """Send `call` and decode its JSON body as `type`; any other body is an error."""
        response = await self.send(call)
        content = response.content
        if not looks_like_html(content):
            try:
                return msgspec.json.decode(content, type=type, strict=False)
            except msgspec.DecodeError as exc:
                problem = str(exc)
        else:
            problem = "an HTML page"
        raise StockXUnexpectedResponse(
            f"StockX {response.status_code} on {call.template} sent {problem}: "
            f"{content[:200].decode('utf-8', 'replace')!r}",
            status_code=response.status_code,
            endpoint=call.template,
        )

    async def send(self, call: Call) -> httpx.Response:
        """A successful (2xx) response; for `call.stream` still open, the caller closes it."""
        call.deadline = time.monotonic() + self._config.call_timeout_s
        if not self._warm:
            # httpcore imports its anyio backend on the first connection (~75 ms). Paid after a
            # budget slot, that delay would make the request late and bunch it with the next
            # slot's; an anyio checkpoint loads the same backend now, before any slot is claimed.
            await anyio.lowlevel.checkpoint()
            self._warm = True
        name = f"StockX {call.method} {call.template}"
        with self._tracer.start_as_current_span(name, kind=trace.SpanKind.CLIENT) as span:
            span.set_attribute("http.request.method", call.method)
            span.set_attribute("url.template", call.template)
            span.set_attribute("stockx.priority", call.priority.name)
            while True:
                outcome = await self._attempt(call)
                if isinstance(outcome, httpx.Response):
                    span.set_attribute("http.response.status_code", outcome.status_code)
                    span.set_attribute("stockx.attempts", call.attempts)
                    return outcome
                await self._before_retry(call, outcome, span)

    async def _before_retry(self, call: Call, retry: _Retry, span: trace.Span) -> None:
        if not retry.free and call.attempts >= self._config.retry.max_attempts:
            raise retry.error
        if time.monotonic() + retry.delay > call.deadline:
            raise retry.error
        if retry.free:
            call.attempts -= 1  # a forced refresh or a 429 does not use up a retry
        RETRIES.labels(call.template, retry.reason).inc()
        span.add_event("retry", {"reason": retry.reason, "delay_s": retry.delay})
        await self.sleep(retry.delay)

    def _remaining(self, call: Call) -> float:
        return max(0.0, call.deadline - time.monotonic())

    async def _attempt(self, call: Call) -> httpx.Response | _Retry:
        self.breaker.before_call(call.template)
        try:
            # Token first: a slot is a moment in time, and a refresh between claiming it and
            # sending would make this request late and bunch it with the next slot's.
            token = await self._tokens.get_token()
            await self._budget.acquire(call.priority, self._remaining(call))
        except BaseException:
            self.breaker.record_neutral()
            raise
        call.attempts += 1
        started = time.monotonic()
        try:
            response = await self.http.send(self._request(call, token), stream=call.stream)
        except httpx.HTTPError as exc:
            return self._transport_failure(call, exc)
        except BaseException:
            self.breaker.record_neutral()
            raise
        finally:
            LATENCY.labels(call.method, call.template).observe(time.monotonic() - started)
        REQUESTS.labels(call.method, call.template, str(response.status_code)).inc()
        if 200 <= response.status_code < 300:
            self.breaker.record_success()
            return response
        return await self._failed(call, response, token)

    def _transport_failure(self, call: Call, exc: httpx.HTTPError) -> _Retry:
        kind = "timeout" if isinstance(exc, httpx.TimeoutException) else "transport"
        REQUESTS.labels(call.method, call.template, kind).inc()
        self.breaker.record_failure()
        error = StockXTransportError(
            f"StockX {kind} on {call.template}: {exc!r}", endpoint=call.template
        )
        never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
        if call.method not in _IDEMPOTENT and not never_sent:
            raise error from exc
        return _Retry(self._backoff(call), kind, error)

    async def _failed(self, call: Call, response: httpx.Response, token: str) -> _Retry:
        body = await response.aread()
        await response.aclose()
        status = response.status_code
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        error = error_for_response(
            status,
            body,
            response.headers.get("content-type", ""),
            endpoint=call.template,
            retry_after=retry_after,
        )
        if status == 401 and not call.refreshed:
            self.breaker.record_success()
            call.refreshed = True
            await self._tokens.after_rejection(token)
            return _Retry(0.0, "auth", error, free=True)
        if status == 429:
            self.breaker.record_neutral()
            return await self._rate_limited(call, error, retry_after)
        if status >= 500:
            self.breaker.record_failure()
            if call.method in _IDEMPOTENT:
                return _Retry(self._backoff(call), "5xx", error)
        else:
            self.breaker.record_success()
        raise error

    async def _rate_limited(
        self, call: Call, error: StockXError, retry_after: float | None
    ) -> _Retry:
        call.rate_limited += 1
        delay = backoff_delay(call.rate_limited, self._config.retry, self._rng)
        if retry_after is not None:
            delay = min(retry_after, self._config.retry.max_retry_after_s)
        # Tell every process, so the others do not walk into the same 429.
        await self._budget.penalize(delay)
        # Free: a rate limit is the budget's to absorb, only the call's deadline bounds it.
        return _Retry(delay, "429", error, free=True)

    def _backoff(self, call: Call) -> float:
        return backoff_delay(max(1, call.attempts), self._config.retry, self._rng)

    def _request(self, call: Call, token: str) -> httpx.Request:
        path = call.template.format(**{k: quote(v, safe="") for k, v in call.path.items()})
        params = {k: query_value(v) for k, v in (call.params or {}).items() if v is not None}
        headers = {
            "Authorization": f"Bearer {token}",
            "x-api-key": self._api_key,
            "Accept": call.accept,
        }
        content = None
        if call.body is not None:
            content = msgspec.json.encode(call.body)
            headers["Content-Type"] = "application/json"
        return self.http.build_request(
            call.method,
            path,
            params=params,
            headers=headers,
            content=content,
            timeout=self._config.request_timeout_s,
        )


def call(method: str, template: str, priority: Priority, **kwargs: Any) -> Call:
    """Shorthand used by the API mixins."""
    return Call(method=method, template=template, priority=priority, **kwargs)
