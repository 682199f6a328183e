"""Postgres access for services: pools, migrations, unit of work, inbox, outbox and relay,
poll state and advisory-lock leader election (asyncpg with explicit SQL, no ORM)."""

from soleflip.common.db._migrate import (
    Migration,
    MigrationError,
    library_migrations,
    load_migrations,
    migrate,
    role_name,
)
from soleflip.common.db._pool import check_ready, create_pool, init_connection, quote_ident

__all__ = [
    "Migration",
    "MigrationError",
    "check_ready",
    "create_pool",
    "init_connection",
    "library_migrations",
    "load_migrations",
    "migrate",
    "quote_ident",
    "role_name",
]
