"""`/v2/selling/batch/{create,update,delete}-listing*`: submit, status, per-item results."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath

from soleflip.stockx_sim.batches import KINDS, submit
from soleflip.stockx_sim.errors import not_found
from soleflip.stockx_sim.params import json_body, world_of
from soleflip.stockx_sim.records import Batch
from soleflip.stockx_sim.views import batch_body, batch_item_body

Req = Request[Any, Any, Any]


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise not_found("Not Found")
    return kind


@post("/v2/selling/batch/{kind:str}", status_code=200)
async def create_batch(request: Req, kind: FromPath[str]) -> Response[Any]:
    batch = submit(world_of(request), _kind(kind), await json_body(request, {"items"}))
    return Response(batch_body(batch))


def _batch(request: Req, kind: str, batch_id: str) -> Batch:
    batch = world_of(request).batches.get(batch_id)
    if batch is None or batch.kind != _kind(kind):
        raise not_found("Batch not found")
    return batch


@get("/v2/selling/batch/{kind:str}/{batch_id:str}")
async def get_batch(request: Req, kind: FromPath[str], batch_id: FromPath[str]) -> Response[Any]:
    return Response(batch_body(_batch(request, kind, batch_id)))


@get("/v2/selling/batch/{kind:str}/{batch_id:str}/items")
async def get_batch_items(
    request: Req, kind: FromPath[str], batch_id: FromPath[str]
) -> Response[Any]:
    batch = _batch(request, kind, batch_id)
    status = (request.query_params.get("status") or "").upper()
    items = [i for i in batch.items if not status or i.status == status]
    return Response({"items": [batch_item_body(i) for i in items]})


BATCH_HANDLERS = [create_batch, get_batch, get_batch_items]
