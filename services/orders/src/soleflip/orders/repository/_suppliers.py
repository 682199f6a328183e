"""Write SQL of suppliers: the entities stock units reference (name, kind, notes)."""

from __future__ import annotations

import asyncpg

from soleflip.common.db import Conn

SUPPLIER_COLUMNS = "id, name, kind, notes, created_at, updated_at"
INSERT_SUPPLIER_SQL = f"""
INSERT INTO supplier (name, kind, notes) VALUES (btrim($1), $2, $3)
ON CONFLICT DO NOTHING
RETURNING {SUPPLIER_COLUMNS}
"""  # noqa: S608 - the interpolated part is a constant column list
# $2 name, $3 kind, $4 notes; a NULL keeps the value ($5/$6 say "clear kind / notes").
UPDATE_SUPPLIER_SQL = f"""
UPDATE supplier SET name = coalesce(btrim($2), name),
                    kind = CASE WHEN $5 THEN NULL ELSE coalesce($3, kind) END,
                    notes = CASE WHEN $6 THEN NULL ELSE coalesce($4, notes) END,
                    updated_at = now()
WHERE id = $1
RETURNING {SUPPLIER_COLUMNS}
"""  # noqa: S608 - the interpolated part is a constant column list
# A renamed supplier's units carry the new name (the unit trigger finds the same entity).
RENAME_UNITS_SQL = """
UPDATE stock_item SET supplier = $2, updated_at = now()
WHERE supplier_id = $1 AND supplier IS DISTINCT FROM $2
"""
UNITS_OF_SUPPLIER_SQL = "SELECT count(*) FROM stock_item WHERE supplier_id = $1"
DELETE_SUPPLIER_SQL = "DELETE FROM supplier WHERE id = $1 RETURNING id"
LOCK_SUPPLIER_SQL = f"SELECT {SUPPLIER_COLUMNS} FROM supplier WHERE id = $1 FOR UPDATE"  # noqa: S608


async def insert_supplier(
    conn: Conn, name: str, kind: str | None, notes: str | None
) -> asyncpg.Record | None:
    """The new supplier; None when one of that name (any case) exists."""
    row: asyncpg.Record | None = await conn.fetchrow(INSERT_SUPPLIER_SQL, name, kind, notes)
    return row


async def lock_supplier(conn: Conn, supplier_id: int) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(LOCK_SUPPLIER_SQL, supplier_id)
    return row


async def update_supplier(
    conn: Conn,
    supplier_id: int,
    *,
    name: str | None,
    kind: str | None,
    notes: str | None,
    clear_kind: bool = False,
    clear_notes: bool = False,
) -> asyncpg.Record | None:
    """Change a supplier (its units follow a new name); raises UniqueViolationError for a
    name another supplier has."""
    row: asyncpg.Record | None = await conn.fetchrow(
        UPDATE_SUPPLIER_SQL, supplier_id, name, kind, notes, clear_kind, clear_notes
    )
    if row is not None and name is not None:
        await conn.execute(RENAME_UNITS_SQL, supplier_id, row["name"])
    return row


async def supplier_units(conn: Conn, supplier_id: int) -> int:
    return int(await conn.fetchval(UNITS_OF_SUPPLIER_SQL, supplier_id))


async def delete_supplier(conn: Conn, supplier_id: int) -> bool:
    return await conn.fetchval(DELETE_SUPPLIER_SQL, supplier_id) is not None
