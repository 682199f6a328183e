"""configure_observability: JSON lines on stdout, stdlib routed through structlog, redaction."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
import structlog
from opentelemetry import trace

from soleflip.common.observability import configure_observability, get_logger
from soleflip.common.settings import Settings

SECRET = "configured-secret-value-9"
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def lines(capsys: pytest.CaptureFixture[str]) -> Callable[[], list[dict[str, Any]]]:
    configure_observability(
        "obs-test", Settings(extra_secrets=(SECRET,), webhook_secrets_n8n=(WHSEC,)), env={}
    )
    capsys.readouterr()

    def read() -> list[dict[str, Any]]:
        return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]

    return read


def test_structlog_lines_are_json_with_level_logger_time_and_service(lines: Any) -> None:
    get_logger("soleflip.test").info("order applied", order_number="01-ABC")
    (line,) = lines()
    assert line["event"] == "order applied"
    assert line["order_number"] == "01-ABC"
    assert line["level"] == "info"
    assert line["logger"] == "soleflip.test"
    assert line["service"] == "obs-test"
    assert line["timestamp"].endswith("Z")
    assert list(line)[:5] == ["timestamp", "level", "service", "logger", "event"]


@pytest.mark.parametrize("name", ["uvicorn.error", "nats.aio.client", "asyncpg", "some.library"])
def test_stdlib_loggers_go_through_the_same_pipeline(lines: Any, name: str) -> None:
    logging.getLogger(name).warning("connection lost to %s", "db")
    (line,) = lines()
    assert line["event"] == "connection lost to db"
    assert line["logger"] == name
    assert line["level"] == "warning"


def test_uvicorns_access_log_stays_off_when_configured_after_uvicorn(lines: Any) -> None:
    # uvicorn logs each request when this logger has handlers, its parents' included; an app
    # built by a factory configures logging after uvicorn did, and must not turn it back on.
    # (pytest's capture handlers sit on the logger itself here; ours must not be reachable.)
    access = logging.getLogger("uvicorn.access")
    assert not access.propagate
    access.info('127.0.0.1:5000 - "POST /webhooks/stockx HTTP/1.1" 202')
    assert lines() == []


def test_level_from_settings_filters_debug(lines: Any) -> None:
    get_logger("x").debug("noise")
    logging.getLogger("y").debug("noise")
    assert lines() == []


def test_context_variables_are_merged(lines: Any) -> None:
    with structlog.contextvars.bound_contextvars(event_id="evt-1", request_id="req-1"):
        get_logger("x").info("handled")
    get_logger("x").info("after")
    first, second = lines()
    assert first["event_id"] == "evt-1"
    assert first["request_id"] == "req-1"
    assert "event_id" not in second


def test_trace_and_span_ids_of_the_current_span_are_added(lines: Any) -> None:
    with trace.get_tracer("t").start_as_current_span("work") as span:
        get_logger("x").info("inside")
    get_logger("x").info("outside")
    inside, outside = lines()
    assert inside["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert inside["span_id"] == format(span.get_span_context().span_id, "016x")
    assert "trace_id" not in outside


def test_secrets_never_reach_the_output(lines: Any) -> None:
    log = get_logger("x")
    log.info("call", headers={"Authorization": "Bearer abc.def.ghi1"}, note=f"using {SECRET}")
    log.info("relay", secret=WHSEC, text=f"configured {WHSEC}")
    logging.getLogger("nats").error("auth failed with %s", SECRET)
    try:
        raise ConnectionError(f"refused for {SECRET} with Bearer tok-123")
    except ConnectionError:
        log.exception("boom")
    out = json.dumps(lines())
    for leak in (SECRET, "abc.def.ghi1", WHSEC, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "tok-123"):
        assert leak not in out
    assert "ConnectionError" in out


def test_configuring_twice_does_not_duplicate_lines(lines: Any) -> None:
    configure_observability("obs-test", Settings(), env={})
    configure_observability("obs-test", Settings(), env={})
    logging.getLogger("z").warning("once")
    assert len(lines()) == 1


def test_console_format_renders_text(capsys: pytest.CaptureFixture[str]) -> None:
    configure_observability("obs-test", Settings(log_format="console"), env={})
    capsys.readouterr()
    get_logger("x").info("human readable", authorization="Bearer zzz-123")
    out = capsys.readouterr().out
    assert "human readable" in out
    assert "zzz-123" not in out
    assert not out.startswith("{")
