"""One CLIENT span per StockX call, recorded on a tracer provider passed to the client, so the
test never touches the process-wide provider."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from soleflip.common.stockx import (
    KvTokenStore,
    LocalBudget,
    MemoryKv,
    OAuthCredentials,
    StockXClient,
    StockXNotFound,
)
from tests.unit.stockx_client.conftest import (
    API_URL,
    CONFIG,
    EXAMPLES,
    FERNET,
    SETTINGS,
    TIMING,
    FakeStockX,
    Sleeps,
    json_response,
)


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
async def traced(
    fake: FakeStockX, sleeps: Sleeps, exporter: InMemorySpanExporter
) -> AsyncIterator[StockXClient]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake.handler), base_url=API_URL + "/")
    tokens = KvTokenStore(
        MemoryKv(), FERNET, http, OAuthCredentials.from_settings(SETTINGS), timing=TIMING
    )
    async with StockXClient(
        SETTINGS,
        tokens=tokens,
        budget=LocalBudget(rate_per_s=10_000, daily=25_000),
        http=http,
        config=CONFIG,
        sleep=sleeps,
        rng=lambda: 0.0,
        tracer_provider=provider,
    ) as client:
        yield client
    await http.aclose()


def spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return list(exporter.get_finished_spans())


async def test_each_call_is_one_client_span_named_by_template_with_its_retries(
    traced: StockXClient, fake: FakeStockX, exporter: InMemorySpanExporter
) -> None:
    fake.queue = [json_response(503, {})]
    fake.default = json_response(200, EXAMPLES["GetProduct"])
    await traced.get_product("p-1")
    await traced.get_product("p-2")
    first, second = spans(exporter)
    assert first.name == "StockX GET /catalog/products/{productId}"
    assert first.kind is SpanKind.CLIENT
    assert first.attributes is not None
    assert second.attributes is not None
    assert first.attributes["http.response.status_code"] == 200
    assert first.attributes["url.template"] == "/catalog/products/{productId}"
    assert first.attributes["stockx.priority"] == "CATALOG_REFRESH"
    assert (first.attributes["stockx.attempts"], second.attributes["stockx.attempts"]) == (2, 1)
    assert [event.name for event in first.events] == ["retry"]
    assert second.events == ()


async def test_a_failed_call_ends_its_span_as_an_error_with_the_exception(
    traced: StockXClient, fake: FakeStockX, exporter: InMemorySpanExporter
) -> None:
    fake.default = json_response(404, {"statusCode": 404, "message": "Resource not found"})
    with pytest.raises(StockXNotFound):
        await traced.get_product("gone")
    (span,) = spans(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert [event.name for event in span.events] == ["exception"]
