"""CSV import of purchases: rows to `ItemPurchase`s, refused rows with their reason, and a
dry run that records nothing.

Columns (header row, any order, names as below; unknown columns are refused so a typo is not
silently ignored): required `external_id`, `sku`, `size`, `size_type`, `unit_cost`, `currency`,
`purchased_at`, `supplier`; optional `quantity` (1), `vat_amount`, `vat_rate_pct`,
`inbound_shipping`, `other_costs` (0, in `currency`), `received` (true/false, default true).
Idempotent on `external_id`: a purchase already recorded is skipped, not duplicated.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field

import asyncpg
import msgspec

from soleflip.common.contracts.ingest import ItemPurchase
from soleflip.common.db import Conn, UnitOfWork
from soleflip.common.errors import InvalidInput
from soleflip.orders import repository as repo
from soleflip.orders.handlers._stock import record_purchases

REQUIRED = (
    "external_id",
    "sku",
    "size",
    "size_type",
    "unit_cost",
    "currency",
    "purchased_at",
    "supplier",
)
OPTIONAL = ("quantity", "vat_amount", "vat_rate_pct", "inbound_shipping", "other_costs", "received")
_MONEY = ("unit_cost", "vat_amount", "inbound_shipping", "other_costs")
#: Rows one import takes (a larger file is split by the seller, not buffered by us).
MAX_ROWS = 5000
#: Purchases recorded per transaction.
CHUNK = 500


@dataclass(frozen=True, slots=True)
class Refused:
    """A row that was not imported, and why."""

    line: int
    external_id: str | None
    reason: str


@dataclass(slots=True)
class ImportReport:
    """What an import did (or, dry, would do)."""

    dry_run: bool
    rows: int = 0
    recorded: int = 0
    units: int = 0
    skipped: list[str] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)


def _purchase(row: dict[str, str]) -> ItemPurchase:
    data: dict[str, object] = {k: v for k, v in row.items() if v != "" and k not in _MONEY}
    data.pop("currency", None)
    for name in _MONEY:
        if row.get(name):
            data[name] = {"amount": row[name], "currency": row.get("currency", "")}
    if "received" in data:
        data["received"] = str(data["received"]).strip().lower() in ("true", "1", "yes")
    data.setdefault("quantity", "1")
    return msgspec.convert(data, ItemPurchase, strict=False)


def parse_purchases(text: str) -> tuple[list[tuple[int, ItemPurchase]], list[Refused]]:
    """The purchases of a CSV text and the refused rows (line numbers count the header as 1)."""
    if "\x00" in text:
        raise InvalidInput("the CSV holds a NUL character, which Postgres cannot store")
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if missing or unknown:
        raise InvalidInput(
            f"CSV header: missing {missing or 'nothing'}, unknown {unknown or 'nothing'}",
            errors=[{"field": "header", "message": f"columns: {', '.join(REQUIRED + OPTIONAL)}"}],
        )
    good: list[tuple[int, ItemPurchase]] = []
    refused: list[Refused] = []
    seen: set[str] = set()
    for index, row in enumerate(reader, start=2):
        if index - 1 > MAX_ROWS:
            raise InvalidInput(f"at most {MAX_ROWS} rows per import; split the file")
        eid = (row.get("external_id") or "").strip() or None
        if None in row or any(v is None for v in row.values()):
            refused.append(Refused(index, eid, "wrong number of columns"))
            continue
        try:
            purchase = _purchase(row)
        except (msgspec.ValidationError, ValueError) as exc:
            refused.append(Refused(index, eid, str(exc)))
            continue
        if purchase.external_id in seen:
            refused.append(Refused(index, eid, "external_id appears earlier in this file"))
            continue
        seen.add(purchase.external_id)
        good.append((index, purchase))
    return good, refused


def plan_import(text: str, *, dry_run: bool) -> tuple[list[ItemPurchase], ImportReport]:
    """The purchases to record and the report so far (refused rows); raises `InvalidInput` for
    a file refused as a whole, before anything is recorded."""
    good, refused = parse_purchases(text)
    report = ImportReport(dry_run=dry_run, rows=len(good) + len(refused), refused=refused)
    return [p for _, p in good], report


async def import_chunks(
    purchases: list[ItemPurchase],
    report: ImportReport,
    *,
    pool: asyncpg.Pool,
    actor: str | None = None,
) -> AsyncIterator[int]:
    """Record `purchases` a chunk per transaction (dry: none), updating `report`; yields how
    many of them are done after each chunk (the progress a caller shows)."""
    for start in range(0, len(purchases), CHUNK):
        chunk = purchases[start : start + CHUNK]
        async with UnitOfWork(pool) as uow:
            await import_chunk(chunk, report, conn=uow.conn, actor=actor)
            if not report.dry_run:
                await uow.commit()
        yield start + len(chunk)


async def import_purchases(
    text: str,
    *,
    pool: asyncpg.Pool,
    dry_run: bool,
    actor: str | None = None,
    on_progress: Callable[[int], object] | None = None,
) -> ImportReport:
    """Parse, skip what is recorded, record the rest a chunk per transaction (dry: none);
    `on_progress` gets the number of purchases of each chunk done."""
    purchases, report = plan_import(text, dry_run=dry_run)
    done = 0
    async for now_done in import_chunks(purchases, report, pool=pool, actor=actor):
        if on_progress is not None:
            on_progress(now_done - done)
        done = now_done
    return report


async def import_chunk(
    purchases: Iterable[ItemPurchase], report: ImportReport, *, conn: Conn, actor: str | None
) -> None:
    """Record one chunk in the caller's transaction, updating `report`."""
    batch = list(purchases)
    known = await repo.recorded_external_ids(conn, [p.external_id for p in batch])
    fresh = [p for p in batch if p.external_id not in known]
    report.skipped += sorted(known)
    if report.dry_run:
        report.recorded += len(fresh)
        report.units += sum(p.quantity for p in fresh)
        return
    await repo.stock_context(conn, actor=actor)
    created = await record_purchases(fresh, conn=conn, source="import")
    report.recorded += len(fresh)
    report.units += len(created)
