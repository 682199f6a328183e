# ruff: noqa: F811 - a fixture is imported into this module, then requested by name
"""Ingest's observability end to end: trace continuity into a consumer, per-source counters at
`/metrics`, and rejection logs that never carry a signature, token or secret."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from nats.aio.client import Client as Nats
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from soleflip.common.bus import ConsumerRunner, Message, Names, connect, disconnect
from soleflip.common.settings import Settings
from soleflip.ingest.app import create_app
from tests.integration.ingest.conftest import (
    N8N_TOKEN,
    Secrets,
    Sign,
    body_of,
    ingest_settings,
    order_event,
)
from tests.support.spans import named, spans  # noqa: F401 - a fixture

Client = AsyncTestClient[Any]
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[Nats]:
    nc = await connect(nats_url, name="test-ingest-consumer", first_connect_timeout=5)
    yield nc
    await disconnect(nc)


async def test_a_webhooks_traceparent_is_the_trace_of_the_consumer_span_that_handles_it(
    client: Client, bus: Nats, names: Names, signed: Sign, js: Any
) -> None:
    handled: list[tuple[str, int]] = []
    done = asyncio.Event()

    async def handle(message: Message) -> None:
        # The runner's CONSUMER span around this handler (the publisher's context when no
        # exporter records spans): its trace is the caller's either way.
        context = trace.get_current_span().get_span_context()
        handled.append((message.event().id, context.trace_id))
        done.set()

    runner = ConsumerRunner(
        bus, names, stream="INGEST", durable="orders-ingest", subjects=["ingest.>"], handler=handle
    )
    await runner.start()
    try:
        event = order_event()
        body = body_of(event)
        answer = await client.post(
            "/webhooks/stockx", content=body, headers=signed(body, traceparent=TRACEPARENT)
        )
        assert answer.status_code == 202
        async with asyncio.timeout(10):
            await done.wait()
    finally:
        await runner.stop()

    assert handled == [(event["id"], int(TRACE_ID, 16))]


async def test_while_spans_are_recorded_ingest_publishes_under_a_server_span_of_its_own(
    client: Client, signed: Sign, js: Any, names: Names, spans: InMemorySpanExporter
) -> None:
    event = order_event()
    body = body_of(event)
    headers = signed(body, traceparent=TRACEPARENT)
    assert (await client.post("/webhooks/stockx", content=body, headers=headers)).status_code == 202

    [span] = named(spans, "POST /webhooks/stockx")
    assert span.kind == trace.SpanKind.SERVER
    assert span.context is not None
    assert span.parent is not None
    assert (span.context.trace_id, span.parent.span_id) == (int(TRACE_ID, 16), 0x00F067AA0BA902B7)
    assert span.attributes is not None
    assert span.attributes["http.response.status_code"] == 202
    stored = await js.get_last_msg(
        names.stream("INGEST"), names.subject("ingest.stockx.order.updated")
    )
    ids = f"{TRACE_ID}-{span.context.span_id:016x}"
    assert stored.headers["traceparent"][3:-3] == ids


def _value(metrics: str, name: str, **labels: str) -> float:
    """The sample `name{labels}` of a Prometheus text exposition (0 when absent)."""
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


async def test_metrics_count_requests_events_and_rejections_per_source(
    client: Client, signed: Sign, webhook_secrets: Secrets
) -> None:
    names = [
        ("soleflip_ingest_requests_total", {"source": "n8n"}),
        ("soleflip_ingest_events_total", {"source": "n8n", "result": "accepted"}),
        ("soleflip_ingest_events_total", {"source": "stockx", "result": "accepted"}),
        ("soleflip_ingest_events_total", {"source": "stockx", "result": "duplicate"}),
        ("soleflip_ingest_rejected_total", {"source": "n8n", "reason": "unauthorized"}),
        ("soleflip_ingest_rejected_total", {"source": "stockx", "reason": "bad_request"}),
    ]
    before = (await client.get("/metrics")).text

    listed = body_of([order_event(), order_event()])
    bearer = {"content-type": "application/json", "authorization": f"Bearer {N8N_TOKEN}"}
    assert (await client.post("/webhooks/n8n", content=listed, headers=bearer)).status_code == 202
    wrong = {**bearer, "authorization": "Bearer not-the-token-0123456789"}
    assert (await client.post("/webhooks/n8n", content=listed, headers=wrong)).status_code == 401
    single = body_of(order_event())
    headers = signed(single)
    for expected in (202, 200):
        answer = await client.post("/webhooks/stockx", content=single, headers=headers)
        assert answer.status_code == expected
    garbage = b"{not json"
    assert (
        await client.post("/webhooks/stockx", content=garbage, headers=signed(garbage))
    ).status_code == 400

    after = (await client.get("/metrics")).text
    deltas = [_value(after, n, **lb) - _value(before, n, **lb) for n, lb in names]
    assert deltas == [2.0, 2.0, 1.0, 1.0, 1.0, 1.0]


@pytest.fixture
async def debug_client(
    nats_url: str, names: Names, webhook_secrets: Secrets
) -> AsyncIterator[tuple[Client, Settings]]:
    """Ingest logging everything (debug), so no rejection line escapes the redaction check."""
    settings = ingest_settings(nats_url, names, webhook_secrets, log_level="debug")
    async with AsyncTestClient(create_app(settings)) as test_client:
        yield test_client, settings


async def test_rejection_logs_carry_no_signature_token_or_secret(
    debug_client: tuple[Client, Settings],
    signed: Sign,
    webhook_secrets: Secrets,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client, _settings = debug_client
    body = body_of(order_event())
    forged = signed(body, secret="whsec_" + "QUJD" * 11)  # a well-formed signature, wrong key
    stale = signed(body, timestamp=1)
    leaked_token = "n8n-" + secrets.token_hex(16)
    capsys.readouterr()

    requests: list[tuple[str, dict[str, str], int]] = [
        ("/webhooks/stockx", forged, 401),
        ("/webhooks/stockx", stale, 401),
        ("/webhooks/n8n", {**forged, "authorization": f"Bearer {leaked_token}"}, 401),
        ("/webhooks/n8n", {"content-type": "application/json", "authorization": N8N_TOKEN}, 401),
    ]
    for path, headers, status in requests:
        assert (await client.post(path, content=body, headers=headers)).status_code == status

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line[:1] == "{"]
    text = "\n".join(map(str, lines))
    assert sum(line["event"] == "webhook rejected" for line in lines) == len(requests)
    assert forged["webhook-id"] in text  # the lines are the real rejection logs
    never = [
        forged["webhook-signature"].split(",", 1)[1],
        stale["webhook-signature"].split(",", 1)[1],
        leaked_token,
        N8N_TOKEN,
        webhook_secrets.stockx_new.removeprefix("whsec_"),
        webhook_secrets.stockx_old.removeprefix("whsec_"),
        webhook_secrets.n8n.removeprefix("whsec_"),
    ]
    assert [secret for secret in never if secret in text] == []
