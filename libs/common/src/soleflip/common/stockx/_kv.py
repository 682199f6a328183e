"""A compare-and-set key-value store: the NATS KV bucket in production, a dict in unit tests.

Auth and budget need only three operations (read with revision, create-if-absent, update-if-
revision), so they depend on this protocol rather than on nats-py, and unit tests run the very
same single-flight and budget code against `MemoryKv`.
"""

from __future__ import annotations

from typing import Any, Protocol

from nats.js.errors import (
    APIError,
    BucketNotFoundError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
)

from soleflip.common.bus.names import Names

AUTH_BUCKET = "stockx_auth"
BUDGET_BUCKET = "stockx_budget"


class CasConflict(Exception):
    """The key changed (or exists) since the revision the caller read."""


class CasStore(Protocol):
    """Read, create and compare-and-set on string keys holding bytes."""

    async def get(self, key: str) -> tuple[bytes, int] | None: ...

    async def create(self, key: str, value: bytes) -> int: ...

    async def update(self, key: str, value: bytes, last: int) -> int: ...


class MemoryKv:
    """In-process `CasStore` with NATS-like revisions (one sequence per store)."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[bytes, int]] = {}
        self._seq = 0

    async def get(self, key: str) -> tuple[bytes, int] | None:
        return self._data.get(key)

    async def create(self, key: str, value: bytes) -> int:
        if key in self._data:
            raise CasConflict(key)
        return self._put(key, value)

    async def update(self, key: str, value: bytes, last: int) -> int:
        current = self._data.get(key)
        if current is None or current[1] != last:
            raise CasConflict(key)
        return self._put(key, value)

    def _put(self, key: str, value: bytes) -> int:
        self._seq += 1
        self._data[key] = (value, self._seq)
        return self._seq


class NatsKv:
    """`CasStore` over a nats-py `KeyValue` bucket."""

    def __init__(self, kv: Any) -> None:
        self._kv = kv

    async def get(self, key: str) -> tuple[bytes, int] | None:
        try:
            entry = await self._kv.get(key)
        except KeyNotFoundError:
            return None
        return (entry.value or b""), int(entry.revision)

    async def create(self, key: str, value: bytes) -> int:
        try:
            return int(await self._kv.create(key, value))
        except KeyWrongLastSequenceError as exc:
            raise CasConflict(key) from exc

    async def update(self, key: str, value: bytes, last: int) -> int:
        try:
            return int(await self._kv.update(key, value, last=last))
        except KeyWrongLastSequenceError as exc:
            raise CasConflict(key) from exc


async def open_bucket(js: Any, names: Names, bucket: str, *, replicas: int = 1) -> NatsKv:
    """Bind to (creating if needed) a namespaced KV bucket that keeps only the latest value;
    a bucket this call creates gets `replicas` copies (`SOLEFLIP_NATS_REPLICAS`). An existing
    bucket is bound as it is: changing its replica count is an operator's decision."""
    name = names.bucket(bucket)
    try:
        kv = await js.key_value(name)
    except BucketNotFoundError:
        try:
            kv = await js.create_key_value(bucket=name, history=1, replicas=replicas)
        except APIError as refused:
            # Replicas starting together race here: JetStream may refuse the loser's create
            # ("subjects overlap with an existing stream") instead of treating it as a no-op.
            # The bucket exists then; bind to it. If it still does not, the refusal was the
            # real error (e.g. more replicas than servers): raise that, not "not found".
            try:
                kv = await js.key_value(name)
            except BucketNotFoundError:
                raise refused from None
    return NatsKv(kv)
