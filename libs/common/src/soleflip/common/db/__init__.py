"""Postgres access for services: pools, migrations, unit of work, inbox, outbox and relay,
poll state and leader election (asyncpg with explicit SQL, no ORM)."""

from soleflip.common.db._inbox import Conn, claim, claim_many, prune_inbox, seen
from soleflip.common.db._leader import LeaderLock, leader, run_as_leader
from soleflip.common.db._migrate import (
    ANALYTICS_ROLE,
    Migration,
    MigrationError,
    library_migrations,
    load_migrations,
    migrate,
    role_name,
)
from soleflip.common.db._outbox import (
    OutboxEvent,
    OutboxMessage,
    enqueue,
    enqueue_fresh,
    enqueue_many,
    prune_outbox,
)
from soleflip.common.db._poll_state import get_poll_state, poll_states, set_poll_state
from soleflip.common.db._pool import (
    DB_ERRORS,
    check_ready,
    create_pool,
    init_connection,
    quote_ident,
    session_connection,
)
from soleflip.common.db._relay import OutboxRelay, Publish
from soleflip.common.db._uow import UnitOfWork

__all__ = [
    "ANALYTICS_ROLE",
    "DB_ERRORS",
    "Conn",
    "LeaderLock",
    "Migration",
    "MigrationError",
    "OutboxEvent",
    "OutboxMessage",
    "OutboxRelay",
    "Publish",
    "UnitOfWork",
    "check_ready",
    "claim",
    "claim_many",
    "create_pool",
    "enqueue",
    "enqueue_fresh",
    "enqueue_many",
    "get_poll_state",
    "init_connection",
    "leader",
    "library_migrations",
    "load_migrations",
    "migrate",
    "poll_states",
    "prune_inbox",
    "prune_outbox",
    "quote_ident",
    "role_name",
    "run_as_leader",
    "seen",
    "session_connection",
    "set_poll_state",
]
