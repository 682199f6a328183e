"""`KvTokenStore`: the single-flight, cross-process token refresher described in `_auth`."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Awaitable, Callable

import httpx
import msgspec
import structlog

from soleflip.common.crypto import Crypto
from soleflip.common.errors import InvalidInput
from soleflip.common.stockx._auth import (
    _REAUTHORIZE,
    AUDIENCE,
    OAuthCredentials,
    TokenRecord,
    TokenTiming,
    _Rejected,
    _TokenResponse,
)
from soleflip.common.stockx._errors import (
    StockXAuthError,
    StockXServerError,
    StockXTransportError,
    StockXUnauthorized,
    error_message,
)
from soleflip.common.stockx._kv import CasConflict, CasStore
from soleflip.common.stockx._metrics import AUTH_FAILING, TOKEN_REFRESHES, UNDECRYPTABLE_RECORDS

log = structlog.get_logger(__name__)

#: A token this close to its expiry is not handed out even while a refresh is under way.
_EXPIRY_MARGIN_S = 5.0
_UNDECRYPTABLE = "the stored StockX token record cannot be decrypted with SOLEFLIP_FERNET_KEYS"


class KvTokenStore:
    """`TokenSource` whose state lives encrypted in a compare-and-set store."""

    def __init__(
        self,
        store: CasStore,
        crypto: Crypto,
        http: httpx.AsyncClient,
        credentials: OAuthCredentials,
        *,
        key: str = "token",
        timing: TokenTiming | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._store = store
        self._crypto = crypto
        self._http = http
        self._creds = credentials
        self._key = key
        self._timing = timing or TokenTiming()
        self._clock = clock
        self._sleep = sleep
        self._owner = secrets.token_hex(8)
        self._lock = asyncio.Lock()
        self._cached = TokenRecord()
        self._reseed_logged = False
        #: Why the last attempt to get a token failed for want of credentials (None: it did not).
        self.auth_problem: str | None = None

    async def get_token(self) -> str:
        if self._fresh(self._cached, None):
            return self._cached.access_token
        async with self._lock:
            if self._fresh(self._cached, None):
                return self._cached.access_token
            return await self._obtain_tracked(None)

    async def after_rejection(self, rejected: str) -> str:
        """A token other than `rejected`: another process's newer one, or a forced refresh."""
        async with self._lock:
            if self._cached.access_token != rejected and self._fresh(self._cached, None):
                return self._cached.access_token
            return await self._obtain_tracked(rejected)

    async def _obtain_tracked(self, rejected: str | None) -> str:
        """`_obtain`, remembering whether credentials failed (for readiness and the gauge)."""
        try:
            token = await self._obtain(rejected)
        except StockXAuthError as exc:
            self.auth_problem = str(exc)
            AUTH_FAILING.set(1)
            raise
        self.auth_problem = None
        AUTH_FAILING.set(0)
        return token

    def _fresh(self, record: TokenRecord, rejected: str | None) -> bool:
        token = record.access_token
        return bool(token) and token != rejected and self._clock() < record.refresh_at

    def _valid(self, record: TokenRecord, rejected: str | None) -> bool:
        token = record.access_token
        alive = self._clock() < record.expires_at - _EXPIRY_MARGIN_S
        return bool(token) and token != rejected and alive

    async def _obtain(self, rejected: str | None) -> str:
        deadline = time.monotonic() + self._timing.wait_s
        while time.monotonic() < deadline:
            record, revision = await self._load()
            if self._fresh(record, rejected):
                self._cached = record
                return record.access_token
            self._check_rejection(record, rejected)
            # Our own lease can only be a leftover (we hold the lock): take it back at once.
            if record.lease_owner not in ("", self._owner) and record.lease_until > self._clock():
                # Someone else is refreshing: use the old token while it lasts, else wait.
                if self._valid(record, rejected):
                    return record.access_token
                await self._sleep(self._timing.poll_s)
                continue
            lease = msgspec.structs.replace(
                record, lease_owner=self._owner, lease_until=self._clock() + self._timing.lease_s
            )
            try:
                leased = await self._store.update(self._key, self._encode(lease), last=revision)
            except CasConflict:
                continue
            return await self._refresh(lease, leased)
        raise StockXTransportError("timed out waiting for another process's StockX token refresh")

    def _check_rejection(self, record: TokenRecord, rejected: str | None) -> None:
        if not rejected or record.access_token != rejected:
            return
        age = self._clock() - record.issued_at
        # A token at the end of its life was rejected for its age (a late request, a server
        # clock ahead of ours, a whole-second `exp`): refreshing it is the cure, however young.
        expiring = self._clock() >= record.expires_at - _EXPIRY_MARGIN_S
        if age < self._timing.min_forced_refresh_s and not expiring:
            raise StockXUnauthorized(
                f"StockX rejected an access token issued {age:.0f} s ago; a new token will not "
                "help: check SOLEFLIP_STOCKX_API_KEY and the app's API access",
                status_code=401,
            )

    async def _load(self) -> tuple[TokenRecord, int]:
        for _ in range(10):
            found = await self._store.get(self._key)
            if found is None:
                seed = TokenRecord(refresh_token=self._creds.refresh_token)
                try:
                    return seed, await self._store.create(self._key, self._encode(seed))
                except CasConflict:
                    continue
            record, revision = self._decode(found[0]), found[1]
            if record is None:
                record = self._replacement_for_undecryptable()
                try:
                    return record, await self._store.update(
                        self._key, self._encode(record), last=revision
                    )
                except CasConflict:
                    continue
            if not record.dead:
                return record, revision
            if record.dead == self._creds.fingerprint(record.refresh_token) and not self._reseed(
                record
            ):
                raise StockXAuthError(
                    f"StockX token refresh failed ({record.dead_reason}): {_REAUTHORIZE}",
                    status_code=401,
                )
            seed = TokenRecord(refresh_token=self._creds.refresh_token or record.refresh_token)
            try:
                return seed, await self._store.update(self._key, self._encode(seed), last=revision)
            except CasConflict:
                continue
        raise StockXTransportError("the StockX token record keeps changing; giving up")

    def _replacement_for_undecryptable(self) -> TokenRecord:
        """A record no key of ours decrypts (keys changed without rotation, a new deployment on
        an old NATS) would fail every call forever: start over from the configured refresh
        token, or say how to get one."""
        configured = self._creds.refresh_token
        if not configured:
            UNDECRYPTABLE_RECORDS.labels("failed").inc()
            raise StockXAuthError(
                f"{_UNDECRYPTABLE} and no SOLEFLIP_STOCKX_REFRESH_TOKEN is configured to start "
                f"over: {_REAUTHORIZE}",
                status_code=401,
            )
        UNDECRYPTABLE_RECORDS.labels("reseeded").inc()
        if not self._reseed_logged:  # once per process; the counter counts every time
            self._reseed_logged = True
            log.error(
                "stockx.token_record_reseeded",
                reason=_UNDECRYPTABLE,
                action="replaced it with a new record from SOLEFLIP_STOCKX_REFRESH_TOKEN",
                hint="every process must list the old key after the new one while keys change",
            )
        return TokenRecord(refresh_token=configured)

    def _reseed(self, record: TokenRecord) -> bool:
        """An operator configured a different refresh token than the dead one: start over."""
        configured = self._creds.refresh_token
        return bool(configured) and configured != record.refresh_token

    async def _refresh(self, lease: TokenRecord, revision: int) -> str:
        try:
            answer = await self._request_token(lease.refresh_token)
        except _Rejected as exc:
            TOKEN_REFRESHES.labels("rejected").inc()
            dead = TokenRecord(
                refresh_token=lease.refresh_token,
                dead_reason=str(exc),
                dead=self._creds.fingerprint(lease.refresh_token),
            )
            await self._write_quietly(dead, revision)
            raise StockXAuthError(
                f"StockX token refresh failed ({exc}): {_REAUTHORIZE}", status_code=401
            ) from None
        except BaseException:
            TOKEN_REFRESHES.labels("error").inc()
            released = msgspec.structs.replace(lease, lease_owner="", lease_until=0.0)
            await asyncio.shield(self._write_quietly(released, revision))
            raise
        TOKEN_REFRESHES.labels("ok").inc()
        now = self._clock()
        record = TokenRecord(
            access_token=answer.access_token,
            issued_at=now,
            expires_at=now + answer.expires_in,
            refresh_at=now + answer.expires_in * self._timing.refresh_fraction,
            # StockX is not known to rotate refresh tokens; keep the old one unless it does.
            refresh_token=answer.refresh_token or lease.refresh_token,
        )
        await self._write_quietly(record, revision)
        self._cached = record
        return record.access_token

    async def _write_quietly(self, record: TokenRecord, revision: int) -> None:
        # A conflict means our lease expired and another process took over; its write wins.
        with contextlib.suppress(CasConflict):
            await self._store.update(self._key, self._encode(record), last=revision)

    async def _request_token(self, refresh_token: str) -> _TokenResponse:
        if not refresh_token:
            raise _Rejected("no refresh token configured")
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": self._creds.client_id,
            "client_secret": self._creds.client_secret,
            "audience": AUDIENCE,
        }
        url = f"{self._creds.auth_url}/oauth/token"
        try:
            response = await self._http.post(url, data=form, timeout=self._timing.request_timeout_s)
        except httpx.HTTPError as exc:
            raise StockXTransportError(f"StockX token endpoint unreachable: {exc!r}") from None
        return self._parse_token_response(response)

    @staticmethod
    def _parse_token_response(response: httpx.Response) -> _TokenResponse:
        status = response.status_code
        message = error_message(response.content, response.headers.get("content-type", ""))
        if 400 <= status < 500 and status != 429:
            raise _Rejected(f"HTTP {status}: {message}")
        if status != 200:
            raise StockXServerError(
                f"StockX token endpoint answered {status}: {message}", status_code=status
            )
        try:
            return msgspec.json.decode(response.content, type=_TokenResponse, strict=False)
        except msgspec.DecodeError:
            raise StockXServerError(
                f"StockX token endpoint sent no token: {message}", status_code=status
            ) from None

    def _encode(self, record: TokenRecord) -> bytes:
        return self._crypto.encrypt(msgspec.json.encode(record))

    def _decode(self, blob: bytes) -> TokenRecord | None:
        """The record, or None when no key decrypts it (or it decrypts to garbage)."""
        try:
            return msgspec.json.decode(self._crypto.decrypt(blob), type=TokenRecord)
        except (InvalidInput, msgspec.DecodeError):
            return None
