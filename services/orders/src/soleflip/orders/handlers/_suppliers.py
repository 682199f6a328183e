"""Suppliers: where units were bought. A unit names its supplier by text (a purchase, an
import) or by id (PATCH); the schema keeps both in step, so a name never seen becomes a new
supplier and a renamed supplier's units carry the new name."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from soleflip.common.db import Conn
from soleflip.common.errors import Conflict, NotFound
from soleflip.orders import repository as repo


@dataclass(frozen=True, slots=True)
class CreateSupplier:
    """A new supplier of units."""

    name: str
    kind: str | None = None
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class ChangeSupplier:
    """A correction of one supplier; None keeps a field, `clear_*` empties kind or notes."""

    supplier_id: int
    name: str | None = None
    kind: str | None = None
    notes: str | None = None
    clear_kind: bool = False
    clear_notes: bool = False


async def create_supplier(command: CreateSupplier, *, conn: Conn) -> asyncpg.Record:
    """A new supplier; 409 when one of that name (any case) exists."""
    row = await repo.insert_supplier(conn, command.name, command.kind, command.notes)
    if row is None:
        raise Conflict(f"a supplier named {command.name.strip()!r} exists")
    return row


async def change_supplier(
    command: ChangeSupplier, *, conn: Conn, source: str, actor: str | None
) -> asyncpg.Record:
    """Rename or describe a supplier (its units follow a rename, in their history)."""
    if await repo.lock_supplier(conn, command.supplier_id) is None:
        raise NotFound(f"supplier {command.supplier_id} does not exist")
    await repo.stock_context(conn, source, actor=actor, reason="supplier renamed")
    try:
        row = await repo.update_supplier(
            conn,
            command.supplier_id,
            name=command.name,
            kind=command.kind,
            notes=command.notes,
            clear_kind=command.clear_kind,
            clear_notes=command.clear_notes,
        )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"a supplier named {(command.name or '').strip()!r} exists") from None
    if row is None:
        raise NotFound(f"supplier {command.supplier_id} does not exist")
    return row


async def delete_supplier(supplier_id: int, *, conn: Conn) -> None:
    """Forget a supplier no unit references (409 while units do: move them first)."""
    if await repo.lock_supplier(conn, supplier_id) is None:
        raise NotFound(f"supplier {supplier_id} does not exist")
    units = await repo.supplier_units(conn, supplier_id)
    if units:
        raise Conflict(f"supplier {supplier_id} has {units} stock units; move them first")
    await repo.delete_supplier(conn, supplier_id)
