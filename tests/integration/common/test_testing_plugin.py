"""The test plugin's fixtures give each test its own real database."""

from __future__ import annotations

import asyncpg


async def test_fresh_database_is_empty_and_not_the_admin_database(
    fresh_database: str, database_url: str
) -> None:
    assert fresh_database != database_url
    conn = await asyncpg.connect(fresh_database)
    try:
        name = await conn.fetchval("SELECT current_database()")
        tables = await conn.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
    finally:
        await conn.close()
    assert name.startswith("soleflip_t_")
    assert tables == 0
