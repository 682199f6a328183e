"""Poller cursors and watermarks in `<schema>.poll_state`, one JSON document per resource."""

from __future__ import annotations

from typing import Any

import msgspec

from soleflip.common.db._inbox import Conn

# JSON travels as text so these work on any connection, with or without the pool's codecs.
GET_POLL_STATE_SQL = "SELECT state::text FROM poll_state WHERE resource = $1"
SET_POLL_STATE_SQL = """
INSERT INTO poll_state (resource, state, updated_at) VALUES ($1, $2::text::jsonb, now())
ON CONFLICT (resource) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
"""

#: `starts_with` needs no pattern escaping (a resource may hold `_` or `%`).
LIST_POLL_STATES_SQL = (
    "SELECT resource, state::text FROM poll_state WHERE starts_with(resource, $1) ORDER BY resource"
)

_encoder = msgspec.json.Encoder(decimal_format="string")


async def get_poll_state(conn: Conn, resource: str) -> dict[str, Any] | None:
    """The stored state of `resource`, or None before its first poll."""
    raw = await conn.fetchval(GET_POLL_STATE_SQL, resource)
    if raw is None:
        return None
    value: dict[str, Any] = msgspec.json.decode(raw, type=dict[str, Any])
    return value


async def set_poll_state(conn: Conn, resource: str, value: dict[str, Any]) -> None:
    """Replace the state of `resource` (in the poller's transaction, with the data it wrote)."""
    await conn.execute(SET_POLL_STATE_SQL, resource, _encoder.encode(value).decode())


async def poll_states(conn: Conn, prefix: str) -> dict[str, bytes]:
    """The raw JSON state of every resource whose name starts with `prefix`, by resource."""
    return {r[0]: r[1].encode() for r in await conn.fetch(LIST_POLL_STATES_SQL, prefix)}
