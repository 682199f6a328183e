"""structlog configuration: one pipeline for structlog and stdlib records, rendered on stdout.

Every line gets the bound context (request id, event id, token name...), the current trace and
span ids, and passes through the redactor last, after exceptions were turned into text.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import msgspec
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from soleflip.common.observability._redact import Redactor
from soleflip.common.observability._tracing import current_trace_ids

# Libraries whose own handlers would bypass our pipeline; their records propagate to the root.
_ROUTED_LOGGERS = (
    "uvicorn",
    "uvicorn.error",
    "litestar",
    "nats",
    "nats.aio.client",
    "asyncpg",
    "httpx",
    "httpcore",
)
_UVICORN_ACCESS = "uvicorn.access"
# Chatty at INFO/DEBUG (one line per outgoing request) and never needed in production logs.
_QUIET_LOGGERS = {"httpx": logging.WARNING, "httpcore": logging.WARNING}

_json_encoder = msgspec.json.Encoder(enc_hook=repr, decimal_format="string")

#: Shared by every configuration: secret values are swapped in place so cached loggers see them.
REDACTOR = Redactor()
_defaults: dict[str, str] = {}


class _StdoutHandler(logging.Handler):
    """Writes to whatever `sys.stdout` (or `sys.stderr`) is at emit time (so test capture and
    redirection work)."""

    def __init__(self, to_stderr: bool = False) -> None:
        super().__init__()
        self.to_stderr = to_stderr

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            stream = sys.stderr if self.to_stderr else sys.stdout
            stream.write(line + "\n")
            stream.flush()
        except Exception:  # logging must never break the caller
            self.handleError(record)


def _add_defaults(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    for key, value in _defaults.items():
        event_dict.setdefault(key, value)
    return event_dict


def _add_trace_ids(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    ids = current_trace_ids()
    if ids is not None:
        event_dict.setdefault("trace_id", ids[0])
        event_dict.setdefault("span_id", ids[1])
    return event_dict


_LEADING_KEYS = ("timestamp", "level", "service", "logger", "event")


def _render_json(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> str:
    # The same leading keys on every line make raw logs scannable by eye and by `cut`.
    ordered = {key: event_dict.pop(key) for key in _LEADING_KEYS if key in event_dict}
    ordered.update(event_dict)
    return _json_encoder.encode(ordered).decode()


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_defaults,
        _add_trace_ids,
        structlog.processors.StackInfoRenderer(),
    ]


def _formatter(log_format: str) -> structlog.stdlib.ProcessorFormatter:
    renderer: Processor = (
        structlog.dev.ConsoleRenderer(colors=sys.stdout.isatty())
        if log_format == "console"
        else _render_json
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            REDACTOR,
            renderer,
        ],
    )


def configure_logging(
    service: str,
    *,
    level: str,
    log_format: str,
    secrets: tuple[str, ...],
    to_stderr: bool = False,
) -> None:
    """(Re)configure structlog and the stdlib root logger; safe to call more than once.

    `to_stderr` is for command-line tools whose stdout is their result (piped to `jq`).
    """
    REDACTOR.set_secret_values(secrets)
    _defaults["service"] = service
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StdoutHandler)]:
        root.removeHandler(handler)
    handler = _StdoutHandler(to_stderr)
    handler.setFormatter(_formatter(log_format))
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in _ROUTED_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(_QUIET_LOGGERS.get(name, logging.NOTSET))
    # Off for good: the telemetry middleware logs each request with its context. uvicorn turns
    # its access log on per connection when this logger has handlers, its parents' included, so
    # an app built after uvicorn configured logging (a factory, each of several workers) would
    # otherwise log every request twice; ingest's webhooks a line each, which cost a fifth of
    # its CPU per request (py-spy, bench/ingest.py).
    access = logging.getLogger(_UVICORN_ACCESS)
    access.handlers.clear()
    access.propagate = False
    _configure_structlog()


def _configure_structlog() -> None:
    structlog.configure(
        processors=_STRUCTLOG_PROCESSORS,
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


# One processor list for the life of the process, so a logger cached on first use stays correct
# whenever `configure_logging` runs again (only the handler's formatter and the redactor's
# secrets change). Installed at import: a module-level logger first used before
# `configure_observability` then still goes through stdlib and, once configured, our pipeline.
_STRUCTLOG_PROCESSORS: list[Processor] = [
    structlog.stdlib.filter_by_level,
    *_shared_processors(),
    structlog.stdlib.PositionalArgumentsFormatter(),
    structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
]
_configure_structlog()


def get_logger(name: str | None = None, **initial: Any) -> structlog.stdlib.BoundLogger:
    """A structlog logger; `name` becomes the `logger` field."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name, **initial)
    return logger
