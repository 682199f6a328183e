"""The control plane `/_sim/*` (no auth, never rate limited, clearly not StockX).

Seed a world, move its clock, make buyers buy, move markets, configure the relay and faults,
and read the whole truth and the API call log.
"""

from __future__ import annotations

import time
from typing import Any

from litestar import Request, get, post, put
from litestar.params import FromPath

from soleflip.stockx_sim.clock import iso
from soleflip.stockx_sim.engine import seed_world, tick
from soleflip.stockx_sim.errors import bad_request, not_found
from soleflip.stockx_sim.http_catalog import ingestion_item
from soleflip.stockx_sim.orders import buy
from soleflip.stockx_sim.params import base_url, json_body, world_of
from soleflip.stockx_sim.quotes import quote
from soleflip.stockx_sim.relay import Relay, RelayConfig
from soleflip.stockx_sim.views import listing_body, order_body, product_detail, variant_body
from soleflip.stockx_sim.world import World

Req = Request[Any, Any, Any]
_CONFIG_KEYS = {
    "settle_delay_s": float,
    "rotate_refresh_tokens": bool,
    "token_ttl_s": int,
    "rate_per_s": float,
    "daily_limit": int,
    "order_step_s": float,
}


async def _obj(request: Req) -> dict[str, Any]:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object")
    return body


def _price(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request("prices must be whole numbers or null") from None


def _number(body: dict[str, Any], key: str, default: float, low: float = 0.0) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
        raise bad_request(f"{key} must be a number >= {low}")
    return float(value)


def _apply_config(world: World, body: dict[str, Any]) -> None:
    for key, kind in _CONFIG_KEYS.items():
        if key in body:
            value = body[key]
            if kind is bool and not isinstance(value, bool):
                raise bad_request(f"{key} must be a boolean")
            setattr(world.config, key, kind(value) if kind is not bool else value)


def _summary(world: World) -> dict[str, Any]:
    return {
        "seed": world.config.seed,
        "now": iso(world.now()),
        "products": len(world.products),
        "listings": len(world.listings),
        "orders": len(world.orders),
        "config": {k: getattr(world.config, k) for k in _CONFIG_KEYS},
    }


@post("/_sim/seed", status_code=200)
async def seed(request: Req) -> dict[str, Any]:
    world, body = world_of(request), await _obj(request)
    _apply_config(world, body)
    seed_world(
        world,
        int(_number(body, "seed", world.config.seed)),
        max(1, int(_number(body, "products", world.config.products))),
        int(_number(body, "listings", world.config.listings)),
        int(_number(body, "orders", world.config.orders)),
    )
    return _summary(world)


@post("/_sim/advance", status_code=200)
async def advance(request: Req) -> dict[str, Any]:
    world, body = world_of(request), await _obj(request)
    world.clock.advance(_number(body, "seconds", 0.0))
    if "speed" in body:
        world.config.clock_speed = _number(body, "speed", 1.0)
        world.clock.set_speed(world.config.clock_speed)
    tick(world)
    return {"now": iso(world.now()), "speed": world.clock.speed}


@post("/_sim/orders", status_code=201)
async def create_order(request: Req) -> dict[str, Any]:
    world, body = world_of(request), await _obj(request)
    tick(world)
    listing_id, fate = body.get("listing_id"), body.get("fate")
    order = buy(
        world, None if listing_id is None else str(listing_id), None if fate is None else str(fate)
    )
    return order_body(world, order, base_url(request))


@put("/_sim/market")
async def move_market(request: Req) -> dict[str, Any]:
    world, body = world_of(request), await _obj(request)
    variant = world.variants.get(str(body.get("variant_id")))
    if variant is None:
        raise not_found("Variant not found")
    currency = str(body.get("currency", "USD"))
    if body.get("clear"):
        world.market_overrides.pop((variant.variant_id, currency), None)
    else:
        prices = {k: _price(body.get(k)) for k in ("lowest_ask", "highest_bid")}
        world.market_overrides[(variant.variant_id, currency)] = prices
    data = quote(world, world.products[variant.product_id], variant, currency, own=False)
    world.emit("stockx.market.updated", variant.variant_id, data)
    return data


@put("/_sim/relay")
async def configure_relay(request: Req) -> dict[str, Any]:
    relay: Relay = request.app.state.relay
    body = await _obj(request)
    if not body.get("url"):
        relay.configure(None)
        return relay.describe()
    secret = str(body.get("secret") or "")
    if not secret.startswith("whsec_"):
        raise bad_request("secret must be a whsec_ secret")
    relay.configure(
        RelayConfig(
            url=str(body["url"]),
            secret=secret,
            loss=_number(body, "loss", 0.0),
            duplicate=_number(body, "duplicate", 0.0),
            reorder=_number(body, "reorder", 0.0),
            delay_ms=int(_number(body, "delay_ms", 0)),
        )
    )
    return relay.describe()


@get("/_sim/relay")
async def relay_status(request: Req) -> dict[str, Any]:
    relay: Relay = request.app.state.relay
    return relay.describe()


def _stale(world: World, body: dict[str, Any]) -> dict[str, str]:
    ids = list(body.get("stale_product_ids") or [])
    count = int(_number(body, "stale_products", 0))
    live = sorted(world.products)
    ids += world.fault_rng.sample(live, min(count, len(live)))
    return {old: world.rekey_product(old) for old in ids if old in world.products}


@put("/_sim/faults")
async def set_faults(request: Req) -> dict[str, Any]:
    world, body = world_of(request), await _obj(request)
    faults = world.faults
    _apply_config(world, body)
    if "storm_s" in body:
        faults.storm_until = time.time() + _number(body, "storm_s", 0.0)
    faults.error_rate = _number(body, "error_rate", faults.error_rate)
    faults.latency_ms = int(_number(body, "latency_ms", faults.latency_ms))
    faults.operation_failure_rate = _number(
        body, "operation_failure_rate", faults.operation_failure_rate
    )
    if "failing_ids" in body:
        raw_ids = body["failing_ids"]
        if not isinstance(raw_ids, list) or not all(isinstance(i, str) for i in raw_ids):
            raise bad_request("failing_ids must be a list of ids")
        faults.failing_ids = set(raw_ids)
    if "retry_after_s" in body:
        raw = body["retry_after_s"]
        faults.retry_after_s = None if raw is None else _number(body, "retry_after_s", 0.0)
    if body.get("expire_tokens"):
        world.auth.revoked_before = world.now()
    remapped = _stale(world, body)
    return {
        "storm_until": faults.storm_until,
        "error_rate": faults.error_rate,
        "latency_ms": faults.latency_ms,
        "operation_failure_rate": faults.operation_failure_rate,
        "retry_after_s": faults.retry_after_s,
        "failing_ids": sorted(faults.failing_ids),
        "stale_product_ids": sorted(faults.stale_product_ids),
        "remapped": remapped,
        "config": _summary(world)["config"],
    }


@get("/_sim/state/{kind:str}")
async def state(request: Req, kind: FromPath[str]) -> dict[str, Any]:
    world = world_of(request)
    tick(world)
    if kind == "orders":
        return {"orders": [order_body(world, o, base_url(request)) for o in world.orders.values()]}
    if kind == "listings":
        return {"listings": [listing_body(world, x, True) for x in world.listings.values()]}
    if kind == "products":
        return {
            "products": [
                {**product_detail(p), "variants": [variant_body(v) for v in p.variants]}
                for p in world.products.values()
            ]
        }
    if kind == "ingestions":
        return {
            "ingestions": [ingestion_item(i) for j in world.ingestions.values() for i in j.items]
        }
    raise not_found("Unknown state kind")


@get("/_sim/requests")
async def requests_log(request: Req) -> dict[str, Any]:
    entries = list(world_of(request).requests)
    limit = request.query_params.get("limit")
    if limit and limit.isdigit():
        entries = entries[-int(limit) :]
    return {"requests": entries}


@get("/_sim/token-requests")
async def token_requests_log(request: Req) -> dict[str, Any]:
    """Every `POST /oauth/token`: `{"time", "grant_type", "status"}` (single-flight tests)."""
    return {"requests": list(world_of(request).token_requests)}


@post("/_sim/requests/clear", status_code=200)
async def clear_requests(request: Req) -> dict[str, Any]:
    world_of(request).requests.clear()
    world_of(request).token_requests.clear()
    return {"requests": []}


CONTROL_HANDLERS = [
    seed,
    advance,
    create_order,
    move_market,
    configure_relay,
    relay_status,
    set_faults,
    state,
    requests_log,
    token_requests_log,
    clear_requests,
]
