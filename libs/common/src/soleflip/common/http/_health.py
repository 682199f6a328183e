"""Liveness, readiness and metrics endpoints, the same on every service."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeAlias

from litestar import Response, get
from litestar.handlers import HTTPRouteHandler

from soleflip.common.http._problems import problem_response, problem_responses
from soleflip.common.observability import get_logger, metrics_response

Check: TypeAlias = Callable[[], Awaitable[object]]
Checks: TypeAlias = Sequence[Check] | Mapping[str, Check]
#: Either the checks themselves or a callable returning them: checks often need objects (a pool,
#: a NATS connection) that only exist once the app's lifespan has started.
ReadinessSource: TypeAlias = Checks | Callable[[], Checks]

_log = get_logger("soleflip.http.health")
_DEGRADED = "degraded: "


class Degraded(Exception):
    """Raised by a check whose dependency fails but whose failure must not take the service out
    of rotation (StockX credentials: the service still serves what it holds). `/health/ready`
    shows `degraded: <message>` and stays 200; the message must name no host or secret."""


def check_name(check: Check) -> str:
    """A readable name for a check: its `check_name` attribute, else its function name."""
    explicit = getattr(check, "check_name", None)
    if isinstance(explicit, str):
        return explicit
    target: Any = check.func if isinstance(check, functools.partial) else check
    name = str(getattr(target, "__name__", type(target).__name__))
    return name.removeprefix("check_")


def _resolve(source: ReadinessSource) -> dict[str, Check]:
    checks: Checks = source() if callable(source) else source
    if isinstance(checks, Mapping):
        return dict(checks)
    return {check_name(check): check for check in checks}


async def _run_check(name: str, check: Check, timeout_s: float) -> str:
    try:
        await asyncio.wait_for(check(), timeout_s)
    except Degraded as exc:
        _log.warning("readiness check degraded", check=name, error=str(exc))
        return f"{_DEGRADED}{exc}"
    except TimeoutError:
        outcome = f"timed out after {timeout_s:g}s"
        _log.warning("readiness check failed", check=name, outcome=outcome)
        return outcome
    except Exception as exc:  # a failing dependency is an answer here, not an error
        # The answer names only the exception class; the message (hosts, users) goes to the log.
        _log.warning("readiness check failed", check=name, error=f"{type(exc).__name__}: {exc}")
        return f"failed: {type(exc).__name__}"
    return "ok"


async def run_checks(source: ReadinessSource, timeout_s: float) -> dict[str, str]:
    """Run every check concurrently, each bounded by `timeout_s`; name -> "ok" or why not."""
    checks = _resolve(source)
    results = await asyncio.gather(
        *(_run_check(name, check, timeout_s) for name, check in checks.items())
    )
    return dict(zip(checks, results, strict=True))


def _passes(result: str) -> bool:
    return result == "ok" or result.startswith(_DEGRADED)


def health_handlers(source: ReadinessSource, timeout_s: float) -> list[HTTPRouteHandler]:
    """`/health/live`, `/health/ready` and `/metrics` for one app."""

    @get("/health/live", tags=["ops"], summary="Liveness", sync_to_thread=False)
    def live() -> dict[str, str]:
        return {"status": "live"}

    @get(
        "/health/ready",
        tags=["ops"],
        summary="Readiness of every dependency",
        responses=problem_responses(503),
    )
    async def ready() -> Response[Any]:
        results = await run_checks(source, timeout_s)
        failing = [name for name, result in results.items() if not _passes(result)]
        if not failing:
            return Response({"status": "ready", "checks": results})
        return problem_response(
            503,
            title="Not ready",
            detail=f"readiness check(s) failing: {', '.join(failing)}",
            type_="urn:soleflip:problem:not-ready",
            headers={"Retry-After": "5"},
            extensions={"checks": results},
        )

    @get("/metrics", include_in_schema=False, sync_to_thread=False)
    def metrics() -> Response[bytes]:
        payload = metrics_response()
        return Response(payload.body, media_type=payload.content_type)

    return [live, ready, metrics]
