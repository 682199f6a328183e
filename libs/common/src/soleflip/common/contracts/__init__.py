"""Event contracts: the CloudEvents envelope and the typed data of every event type.

One module per context; each ends with a union of its data types and a module-level decoder.
"""

from soleflip.common.contracts.envelope import (
    CloudEvent,
    decode_event,
    decode_events,
    encode_event,
    new_event,
    uuid7,
)

__all__ = ["CloudEvent", "decode_event", "decode_events", "encode_event", "new_event", "uuid7"]
