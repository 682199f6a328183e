"""Publishes written once per event-loop turn, past nats-py's per-message publish path."""

from __future__ import annotations

import asyncio
import re
import weakref

from nats.aio.client import Client
from nats.protocol.command import hpub_cmd, pub_cmd

# nats-py's own rules (`nats.aio.client`): subjects without whitespace (`write_soon`), header
# keys that are RFC 7230 tokens, header values trimmed and their CR/LF folded to spaces.
_HEADER_KEY = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_ONE_LINE = str.maketrans({"\r": " ", "\n": " "})
# Header keys already checked: a service sends a handful, checked once each. Bounded, so a
# caller with ever-new keys only pays the check every time.
_VALID_KEYS: set[str] = set()
_MAX_VALID_KEYS = 256
_WRITERS: weakref.WeakKeyDictionary[Client, TurnWriter] = weakref.WeakKeyDictionary()


class TurnWriter:
    """Puts publishes straight on nats-py's outgoing buffer (`Client._pending`) and writes the
    buffer to the socket once the event-loop turn that made them is over.

    nats-py's `publish` builds headers byte by byte and goes through a chain of coroutines per
    message, then wakes its flusher task for the first of a burst; at low rates that task hop
    costs more than the publish. Here a loop turn's burst is one `writelines`, no task involved.
    Nothing is lost when the connection drops before that write: the buffer is nats-py's own,
    which its reconnect sends once the server answered (and the subscriptions are re-made),
    exactly as it does with what its own `publish` buffered while reconnecting.
    """

    def __init__(self, nc: Client) -> None:
        self._nc = nc
        self._scheduled = False

    @classmethod
    def of(cls, nc: Client) -> TurnWriter:
        """The connection's writer: one buffer (nats-py's), so one writer and one end-of-turn
        write per connection, however many publishers and consumers share it."""
        writer = _WRITERS.get(nc)
        if writer is None:
            writer = _WRITERS[nc] = cls(nc)
        return writer

    def write_soon(
        self, subject: str, payload: bytes, reply: str, headers: dict[str, str] | None
    ) -> bool:
        """Buffer one message for the end of this loop turn. False (nothing buffered): not
        connected, too large or not valid as it stands; `Client.publish` must then decide
        (buffering while reconnecting, its own errors, stripped keys)."""
        nc, both = self._nc, subject + reply
        if (
            nc._status != Client.CONNECTED
            or len(payload) > nc.max_payload
            or not subject
            # nats-py's subject rule (no whitespace), without a regex call per message
            or " " in both
            or "\t" in both
            or "\r" in both
            or "\n" in both
        ):
            return False
        if headers is None:
            command = pub_cmd(subject, reply, payload)
        else:
            block = _header_block(headers)
            if block is None:
                return False
            command = hpub_cmd(subject, reply, block, payload)
        nc._pending.append(command)
        nc._pending_data_size += len(command)
        nc.stats["out_msgs"] += 1
        nc.stats["out_bytes"] += len(payload)
        if nc._pending_data_size > nc._max_pending_size > 0:
            self._write()  # a burst beyond nats-py's buffer bound goes out now, as it would there
        elif not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._end_of_turn)
        return True

    def _end_of_turn(self) -> None:
        self._scheduled = False
        self._write()

    def _write(self) -> None:
        nc = self._nc
        # Otherwise the buffer stays for nats-py: its flusher, or its reconnect, sends it.
        if nc._status == Client.CONNECTED and nc._pending_data_size and nc._transport:
            nc._transport.writelines(nc._pending)
            nc._pending = []
            nc._pending_data_size = 0


def _header_block(headers: dict[str, str]) -> bytes | None:
    """The `NATS/1.0` header block as nats-py writes it; None when a key is not a token."""
    if not _VALID_KEYS.issuperset(headers):
        for key in headers:
            if not _HEADER_KEY.fullmatch(key):
                return None  # nats-py strips it, skips it when empty, refuses it otherwise
            if len(_VALID_KEYS) < _MAX_VALID_KEYS:
                _VALID_KEYS.add(key)
    lines = "".join([f"{k}: {v.strip()}\r\n" for k, v in headers.items()])
    # One CR and one LF per line unless a value holds one: then fold, as nats-py does.
    if not lines.count("\n") == lines.count("\r") == len(headers):
        lines = "".join([f"{k}: {v.strip().translate(_ONE_LINE)}\r\n" for k, v in headers.items()])
    return f"NATS/1.0\r\n{lines}\r\n".encode()
