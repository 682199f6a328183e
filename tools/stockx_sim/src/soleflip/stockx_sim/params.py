"""Request parsing shared by the `/v2` controllers; every problem is a StockX 400."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from litestar import Request

from soleflip.stockx_sim.clock import parse_day
from soleflip.stockx_sim.errors import bad_request
from soleflip.stockx_sim.world import World

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 10


def world_of(request: Request[Any, Any, Any]) -> World:
    world: World = request.app.state.world
    return world


def base_url(request: Request[Any, Any, Any]) -> str:
    return str(request.base_url).rstrip("/")


def _int(request: Request[Any, Any, Any], name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"{name} must be an integer") from None
    if value < low or value > high:
        raise bad_request(f"{name} must be between {low} and {high}")
    return value


def page_params(request: Request[Any, Any, Any], max_size: int) -> tuple[int, int]:
    """`(pageNumber, pageSize)` with StockX's limits (size 1..max, default 10)."""
    number = _int(request, "pageNumber", 1, 1, 1_000_000)
    size = _int(request, "pageSize", DEFAULT_PAGE_SIZE, 1, max_size)
    return number, size


def page(
    items: Sequence[T], number: int, size: int, key: str, render: Callable[[T], Any]
) -> dict[str, Any]:
    """The page-number envelope `{count, pageSize, pageNumber, hasNextPage, <key>}`."""
    start = (number - 1) * size
    chunk = items[start : start + size]
    return {
        "count": len(items),
        "pageSize": size,
        "pageNumber": number,
        "hasNextPage": start + size < len(items),
        key: [render(x) for x in chunk],
    }


def csv(
    request: Request[Any, Any, Any], name: str, allowed: Sequence[str] | None = None
) -> set[str] | None:
    """A comma-separated filter (no brackets, no quotes), validated against `allowed`."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    values = {v.strip() for v in raw.split(",") if v.strip()}
    if any(c in raw for c in "[]\"'"):
        raise bad_request(f"{name} must be a plain comma-separated list")
    if allowed is not None:
        unknown = values - set(allowed)
        if unknown:
            raise bad_request(f"{name} contains invalid values: {', '.join(sorted(unknown))}")
    return values


def date_param(request: Request[Any, Any, Any], name: str) -> float | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_day(raw)
    except ValueError:
        raise bad_request(f"{name} must be a date in YYYY-MM-DD format") from None


def bool_param(request: Request[Any, Any, Any], name: str, default: bool) -> bool:
    raw: str | None = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() not in ("true", "false"):
        raise bad_request(f"{name} must be true or false")
    return raw.lower() == "true"


async def json_body(request: Request[Any, Any, Any], allowed: set[str] | None = None) -> Any:
    """The parsed JSON body; with `allowed`, an object whose keys are all allowed."""
    raw = await request.body()
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise bad_request("Request body must be valid JSON") from None
    if allowed is not None:
        if not isinstance(body, dict):
            raise bad_request("Request body must be a JSON object")
        for name in body:
            if name not in allowed:
                raise bad_request(f"property {name} should not exist")
    return body
