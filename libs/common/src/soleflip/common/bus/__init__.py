"""The bus: NATS JetStream behind a small, explicit API (ARCHITECTURE.md section 9).

`connect` → a client that reconnects forever; `ensure_streams`/`check_streams`/`ensure_kv` →
the contract's streams and buckets; `Publisher` → de-duplicated, retried, pipelined publishes
(`ReplyInbox` and `TurnWriter`: its read and write paths, which ingest uses too);
`ConsumerRunner` → durable pull consumers with ack/nak/term and dead letters; `dlq` → the
operator's list and replay. Every name goes through `Names`, so a prefix isolates a deployment.
"""

from soleflip.common.bus._replies import ReplyInbox
from soleflip.common.bus._writer import TurnWriter
from soleflip.common.bus.connection import connect, disconnect
from soleflip.common.bus.consumer import DEFAULT_NAK_DELAYS, ConsumerRunner
from soleflip.common.bus.dlq import (
    DLQ_STREAM,
    DeadLetter,
    Replayed,
    dead_letter_message,
    dead_letter_subject,
    list_dead_letters,
    replay,
)
from soleflip.common.bus.message import ORIGINAL_MSG_ID, Message, Outcome
from soleflip.common.bus.names import Names
from soleflip.common.bus.publisher import (
    MSG_ID,
    Outgoing,
    PubAckReply,
    Publisher,
    PublishRejected,
    PubResult,
    decode_pub_ack,
    event_message,
)
from soleflip.common.bus.settle import BatchHandler, DeliveriesExhausted, Handler
from soleflip.common.bus.streams import (
    STREAMS,
    StreamSpec,
    check_streams,
    ensure_kv,
    ensure_streams,
    stream_spec,
)

__all__ = [
    "DEFAULT_NAK_DELAYS",
    "DLQ_STREAM",
    "MSG_ID",
    "ORIGINAL_MSG_ID",
    "STREAMS",
    "BatchHandler",
    "ConsumerRunner",
    "DeadLetter",
    "DeliveriesExhausted",
    "Handler",
    "Message",
    "Names",
    "Outcome",
    "Outgoing",
    "PubAckReply",
    "PubResult",
    "PublishRejected",
    "Publisher",
    "Replayed",
    "ReplyInbox",
    "StreamSpec",
    "TurnWriter",
    "check_streams",
    "connect",
    "dead_letter_message",
    "dead_letter_subject",
    "decode_pub_ack",
    "disconnect",
    "ensure_kv",
    "ensure_streams",
    "event_message",
    "list_dead_letters",
    "replay",
    "stream_spec",
]
