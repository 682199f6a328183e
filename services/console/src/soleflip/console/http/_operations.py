"""*Operations*: dead letters (from the `DLQ` stream, as `soleflip dlq` reads them) with replay,
and the services' health."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.response import Redirect, Template

from soleflip.common.bus import list_dead_letters, replay
from soleflip.common.errors import NotFound
from soleflip.console.backends import ServiceError, attempt
from soleflip.console.http._common import (
    AnyRequest,
    Service,
    flash_path,
    page,
    see_other,
    session_of,
    writer,
)
from soleflip.console.http._today import health
from soleflip.console.service import ConsoleService

LETTERS_SHOWN = 100


async def _letters(service: ConsoleService) -> list[dict[str, object]]:
    js = await service.jetstream()
    letters = await list_dead_letters(js, service.names, limit=LETTERS_SHOWN)
    return [
        {
            "seq": d.seq,
            "consumer": d.consumer,
            "subject": d.subject,
            "error": d.error,
            "deliveries": d.deliveries,
            "time": d.time,
            "msg_id": d.original_msg_id,
        }
        for d in letters
    ]


class OperationsController(Controller):
    path = "/operations"
    include_in_schema = False

    @get("/")
    async def operations(self, request: AnyRequest, service: Service) -> Template:
        session = session_of(request, service)
        letters = await attempt(_letters(service))
        return page(
            request,
            "operations.html",
            session,
            active="operations",
            letters=letters,
            states=await health(service),
            limit=LETTERS_SHOWN,
            ok=request.query_params.get("ok"),
            problem=request.query_params.get("problem"),
        )

    @post("/replay", status_code=303)
    async def replay_letter(self, request: AnyRequest, service: Service) -> Redirect:
        _, form = await writer(request, service)
        try:
            seq = int(form.get("seq", ""))
            if not 0 < seq < 2**63:
                raise ValueError
        except ValueError:
            return see_other(flash_path("/operations", "no such dead letter", "problem"))
        try:
            js = await service.jetstream()
            [done] = await replay(js, service.names, seqs=[seq])
        except NotFound as exc:
            return see_other(flash_path("/operations", exc.detail, "problem"))
        except ServiceError as exc:
            return see_other(flash_path("/operations", exc.readable, "problem"))
        if isinstance(done.result, Exception):
            message = f"#{seq} could not be replayed: {done.result}"
            return see_other(flash_path("/operations", message, "problem"))
        message = f"#{seq} replayed to {done.dead_letter.subject}"
        return see_other(flash_path("/operations", message))

    @post("/sync", status_code=303)
    async def sync_now(self, request: AnyRequest, service: Service) -> Redirect:
        """Ask orders' poller leader to poll StockX's orders and listings now."""
        _, form = await writer(request, service)
        what = form.get("what") if form.get("what") in ("orders", "listings") else "all"
        try:
            await service.backends.post("orders", "/api/v1/sync", {"what": what})
        except ServiceError as exc:
            return see_other(flash_path("/operations", exc.readable, "problem"))
        return see_other(flash_path("/operations", f"Syncing {what} with StockX now"))
