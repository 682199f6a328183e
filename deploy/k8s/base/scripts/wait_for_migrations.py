"""Wait until a service's schema holds every migration its image ships (an initContainer).

Usage: python wait_for_migrations.py <service> [--timeout SECONDS]

Connects with the service's own DSN (SOLEFLIP_DATABASE_URL, password from PGPASSWORD) and reads
`<service>.schema_migrations`; exits 0 once every packaged migration (the library's and the
service's) is recorded there, 1 when the timeout passes first (Kubernetes then restarts the init
container with back-off). The `soleflip-migrate` Job does the migrating; this only waits, so
service pods need neither admin credentials nor access to the Kubernetes API (docs/adr/0003).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.resources
import sys
import time

import asyncpg

from soleflip.common.db import library_migrations, load_migrations
from soleflip.common.settings import load_settings

POLL_S = 2.0
# Not ready yet: the schema or table does not exist, or the role may not read it yet.
WAITING = (
    asyncpg.InvalidSchemaNameError,
    asyncpg.UndefinedTableError,
    asyncpg.InsufficientPrivilegeError,
)


def expected(service: str) -> set[str]:
    """The names of the migrations this image would apply to `service`'s schema."""
    package = f"soleflip.{service}"
    own = load_migrations(importlib.resources.files(package).joinpath("migrations"))
    return {m.name for m in [*library_migrations(), *own]}


async def missing(dsn: str, service: str, want: set[str]) -> set[str]:
    """The wanted migrations not yet recorded (all of them while the schema is not there)."""
    if not service.isidentifier():
        raise ValueError(f"invalid service name {service!r}")
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        rows = await conn.fetch(f'SELECT name FROM "{service}".schema_migrations')  # noqa: S608
    except WAITING:
        return want
    finally:
        await conn.close()
    return want - {row["name"] for row in rows}


async def wait(dsn: str, service: str, timeout_s: float) -> bool:
    want = expected(service)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            pending = await missing(dsn, service, want)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            pending = want
            print(f"wait-for-migrations {service}: database not reachable: {exc!r}", flush=True)
        if not pending:
            print(f"wait-for-migrations {service}: all {len(want)} applied", flush=True)
            return True
        if time.monotonic() >= deadline:
            print(f"wait-for-migrations {service}: still missing {sorted(pending)}", flush=True)
            return False
        await asyncio.sleep(POLL_S)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("service")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    settings = load_settings()
    return 0 if asyncio.run(wait(settings.database_url, args.service, args.timeout)) else 1


if __name__ == "__main__":
    sys.exit(main())
