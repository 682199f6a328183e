"""*Operations*: dead letters (from the `DLQ` stream, as `soleflip dlq` reads them) with replay,
catalog's enrichment jobs, the last run of each StockX poller (every polling service's
`GET /api/v1/polls`) and the services' health."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, get, post
from litestar.response import Redirect, Template

from soleflip.common.bus import list_dead_letters, replay
from soleflip.common.errors import NotFound
from soleflip.console.backends import ServiceError, attempt
from soleflip.console.http._common import (
    AnyRequest,
    SectionLoader,
    Service,
    flash_path,
    page,
    section_page,
    see_other,
    session_of,
    writer,
)
from soleflip.console.http._today import health
from soleflip.console.service import ConsoleService

LETTERS_SHOWN = 100
JOBS_SHOWN = 20
POLLING = ("catalog", "orders", "pricing")


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


async def _jobs(service: ConsoleService) -> dict[str, Any]:
    return await service.backends.get(  # type: ignore[no-any-return]
        "catalog", "/api/v1/enrichment", limit=JOBS_SHOWN
    )


async def _polls(service: ConsoleService) -> list[dict[str, Any]]:
    """Every poller of every polling service, by service and kind; a service that does not
    answer is one row saying so (the others still show)."""
    answers = await asyncio.gather(
        *(attempt(service.backends.get(name, "/api/v1/polls")) for name in POLLING)
    )
    rows: list[dict[str, Any]] = []
    for name, answer in zip(POLLING, answers, strict=True):
        if answer.value is None:
            rows.append({"service": name, "error": answer.error})
        rows.extend({"service": name, **poll} for poll in answer.value or [])
    return rows


async def _jobs_section(service: ConsoleService) -> dict[str, Any]:
    return {"jobs": await attempt(_jobs(service)), "jobs_limit": JOBS_SHOWN}


async def _polls_section(service: ConsoleService) -> dict[str, Any]:
    return {"polls": await _polls(service)}


#: The sections htmx loads after the page (each calls other services than the page's own).
SECTIONS: dict[str, SectionLoader] = {
    "polls": _polls_section,
    "jobs": _jobs_section,
}


class OperationsController(Controller):
    path = "/operations"
    include_in_schema = False

    @get("/")
    async def operations(self, request: AnyRequest, service: Service) -> Template:
        """The page; `?full=1` (the link shown without JavaScript) renders every section now."""
        session = session_of(request, service)
        lazy = request.query_params.get("full") != "1"
        loads = [] if lazy else [load(service) for load in SECTIONS.values()]
        letters, states, parts = await asyncio.gather(
            attempt(_letters(service)), health(service), asyncio.gather(*loads)
        )
        context: dict[str, Any] = {k: v for part in parts for k, v in part.items()}
        return page(
            request,
            "operations.html",
            session,
            active="operations",
            lazy=lazy,
            letters=letters,
            states=states,
            limit=LETTERS_SHOWN,
            **context,
            ok=request.query_params.get("ok"),
            problem=request.query_params.get("problem"),
        )

    @get("/section/{section:str}")
    async def section(self, request: AnyRequest, service: Service, section: str) -> Template:
        return await section_page(request, service, SECTIONS, section, "operations_fragment.html")

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
