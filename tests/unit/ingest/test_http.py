"""The webhook endpoint with a fake sink: body cap while reading, fail-open limiter, 503 mapping."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from soleflip.common.errors import BadRequest, PayloadTooLarge, Unavailable
from soleflip.ingest._request import read_body
from soleflip.ingest.domain import Event, sign
from soleflip.ingest.http import SourcePolicy, WebhookEndpoint

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class FakeSink:
    """Records what would be published; answers duplicates for ids seen before."""

    def __init__(self, error: Exception | None = None) -> None:
        self.seen: list[Event] = []
        self.error = error

    async def publish(self, events: Sequence[Event], trace: Mapping[str, str]) -> list[bool]:
        if self.error is not None:
            raise self.error
        known = {e.id for e in self.seen}
        self.seen.extend(events)
        return [e.id in known for e in events]


def endpoint(sink: FakeSink, rate: float = 1000.0, cap: int = 4096) -> WebhookEndpoint:
    policy = SourcePolicy("stockx", secrets=(SECRET,), tokens=(), rate_per_s=rate)
    return WebhookEndpoint({"stockx": policy}, max_body_bytes=cap, sink=sink)


async def call(
    app: WebhookEndpoint, body: bytes, headers: dict[str, str], path: str = "/webhooks/stockx"
) -> tuple[int, dict[str, str], Any]:
    """One ASGI request to the raw webhook endpoint: (status, answer headers, JSON body)."""
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Any:
        return messages.pop(0)

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }
    await app(scope, receive, send)
    start, body_message = sent
    answer_headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], answer_headers, json.loads(body_message["body"])


def signed(body: bytes) -> dict[str, str]:
    msg_id, ts = f"m{secrets.token_hex(4)}", int(time.time())
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(SECRET, msg_id, ts, body),
    }


BODY = json.dumps({"id": "e1", "type": "x.y", "source": "s"}).encode()


async def test_body_reading_stops_as_soon_as_the_cap_is_passed() -> None:
    reads = 0

    async def receive() -> Any:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"x" * 1000, "more_body": True}

    with pytest.raises(PayloadTooLarge):
        await read_body(receive, 2500, None)
    assert reads == 3  # never buffered more than cap + one chunk


async def test_announced_length_over_the_cap_is_refused_without_reading() -> None:
    async def receive() -> Any:
        raise AssertionError("the body must not be read")

    with pytest.raises(PayloadTooLarge, match="5000 bytes"):
        await read_body(receive, 4096, "5000")


@pytest.mark.parametrize("length", ["abc", "\u00b2", "-1"])
async def test_a_malformed_content_length_is_a_bad_request(length: str) -> None:
    async def receive() -> Any:
        raise AssertionError("the body must not be read")

    with pytest.raises(BadRequest):
        await read_body(receive, 4096, length)


async def test_a_broken_rate_limiter_lets_requests_through() -> None:
    sink = FakeSink()
    app = endpoint(sink)

    class Broken:
        rate = 1.0

        def take(self, now: float) -> float:
            raise RuntimeError("limiter state lost")

    app._sources["stockx"].bucket = Broken()  # type: ignore[assignment]
    status, _, answer = await call(app, BODY, signed(BODY))
    assert (status, answer) == (202, {"id": "e1", "duplicate": False})


async def test_an_unavailable_bus_is_503_with_retry_after_never_2xx() -> None:
    app = endpoint(FakeSink(Unavailable("NATS is not connected", headers={"Retry-After": "5"})))
    status, headers, problem = await call(app, BODY, signed(BODY))
    assert status == 503
    assert headers["retry-after"] == "5"
    assert problem["detail"] == "NATS is not connected"


async def test_an_unexpected_failure_is_a_500_problem_without_internals() -> None:
    # The endpoint runs in front of Litestar's exception handling: it answers its own failures.
    app = endpoint(FakeSink(RuntimeError("secret internals")))
    status, headers, problem = await call(app, BODY, signed(BODY))
    assert status == 500
    assert headers["content-type"] == "application/problem+json"
    assert problem["status"] == 500
    assert "secret internals" not in json.dumps(problem)


async def test_a_connection_failure_below_the_sink_is_503_with_retry_after() -> None:
    app = endpoint(FakeSink(ConnectionResetError("reset by peer")))
    status, headers, problem = await call(app, BODY, signed(BODY))
    assert (status, headers["retry-after"], problem["status"]) == (503, "5", 503)


async def test_an_unbound_endpoint_answers_503() -> None:
    policy = SourcePolicy("stockx", secrets=(SECRET,), tokens=(), rate_per_s=10.0)
    app = WebhookEndpoint({"stockx": policy}, max_body_bytes=4096)
    status, headers, _ = await call(app, BODY, signed(BODY))
    assert (status, "retry-after" in headers) == (503, True)


async def test_a_repeat_is_200_with_duplicate_true() -> None:
    app = endpoint(FakeSink())
    assert (await call(app, BODY, signed(BODY)))[0] == 202
    status, _, answer = await call(app, BODY, signed(BODY))
    assert (status, answer) == (200, {"id": "e1", "duplicate": True})
