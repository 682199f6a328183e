"""`soleflip webhook send`: sign and send one event to ingest, as a relay or n8n would.

    soleflip webhook send <type> <json-file|-> [--url http://127.0.0.1:8000]
        [--source stockx|n8n] [--secret whsec_...] [--token TOKEN] [--id ID]

The file holds the event's `data` (wrapped in a CloudEvent; id: `--id` or a new UUIDv7) or a
whole event (an object with `specversion`, sent as it is); the sender signs the exact bytes it
sends (Standard Webhooks). Without `--secret` the first of
`SOLEFLIP_WEBHOOK_SECRETS_<SOURCE>` is used; for n8n, `--token` (or the first of
`SOLEFLIP_N8N_TOKENS` when no secret is configured) is sent as a bearer token.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec

from soleflip.common.contracts import CloudEvent, encode_event, uuid7
from soleflip.common.settings import Settings, SettingsError, load_settings
from soleflip.ingest.domain import sign as _sign

__all__ = ["build_request", "main", "sign"]


def sign(secret: str, msg_id: str, timestamp: int | str, body: bytes) -> str:
    """The `webhook-signature` value (`v1,<base64 HMAC-SHA256>`) of `body` under `secret`."""
    return _sign(secret, msg_id, timestamp, body)


def build_request(
    event_type: str,
    data: Any,
    *,
    source: str,
    secret: str | None,
    token: str | None,
    event_id: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one signed webhook (signed when `secret`, bearer when `token`).

    `data` is the event's data, or a whole event (an object with `specversion`): that is sent
    as it is, with `type`, `id` and `source` filled in when it lacks them.
    """
    if isinstance(data, dict) and "specversion" in data:
        whole = {"type": event_type, "source": f"soleflip-cli/{source}", **data}
        whole["id"] = str(whole.get("id") or event_id or uuid7())
        msg_id, body = whole["id"], msgspec.json.encode(whole)
    else:
        event = CloudEvent(
            id=event_id or uuid7(),
            source=f"soleflip-cli/{source}",
            type=event_type,
            time=datetime.now(UTC),
            data=data,
        )
        msg_id, body = event.id, encode_event(event)
    headers = {"content-type": "application/json", "webhook-id": msg_id}
    if secret:
        timestamp = str(int(time.time()))
        headers["webhook-timestamp"] = timestamp
        headers["webhook-signature"] = sign(secret, msg_id, timestamp, body)
    if token:
        headers["authorization"] = f"Bearer {token}"
    return body, headers


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="soleflip webhook send", description="Sign and send one event to ingest."
    )
    parser.add_argument("type", help="event type, e.g. inventory.item.purchased")
    parser.add_argument("json_file", help="file with the event's data as JSON ('-': stdin)")
    parser.add_argument(
        "--url",
        help="ingest base URL (default SOLEFLIP_INGEST_URL, else 127.0.0.1 on SOLEFLIP_HTTP_PORT "
        "or 8000)",
    )
    parser.add_argument("--source", choices=("stockx", "n8n"), default="stockx")
    parser.add_argument("--secret", help="whsec_... (default: first configured for the source)")
    parser.add_argument("--token", help="n8n bearer token")
    parser.add_argument("--id", dest="event_id", help="event id (default: a new UUIDv7)")
    parser.add_argument("--timeout", type=float, default=10.0)
    return parser


def _credentials(args: argparse.Namespace, settings: Settings) -> tuple[str | None, str | None]:
    configured = (
        settings.webhook_secrets_stockx if args.source == "stockx" else settings.webhook_secrets_n8n
    )
    secret = args.secret or (configured[0] if configured else None)
    token = args.token
    if args.source == "n8n" and not token and not secret and settings.n8n_tokens:
        token = settings.n8n_tokens[0]
    return secret, token


def ingest_url(given: str | None, settings: Settings) -> str:
    """`--url`, else `SOLEFLIP_INGEST_URL`, else this machine on ingest's port."""
    return given or settings.ingest_url or f"http://127.0.0.1:{settings.http_port or 8000}"


def _read_data(path: str) -> Any:
    raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    return msgspec.json.decode(raw)


def main(argv: list[str]) -> int:
    """Run the command; 0 when ingest answered 2xx, 1 when it refused, 2 for usage errors."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        secret, token = _credentials(args, settings)
        data = _read_data(args.json_file)
        if not secret and not token:
            raise ValueError(f"no secret for {args.source}: pass --secret (or --token for n8n)")
        body, headers = build_request(
            args.type, data, source=args.source, secret=secret, token=token, event_id=args.event_id
        )
    except (OSError, ValueError, SettingsError, msgspec.DecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    url = f"{ingest_url(args.url, settings).rstrip('/')}/webhooks/{args.source}"
    try:
        answer = httpx.post(url, content=body, headers=headers, timeout=args.timeout)
    except httpx.HTTPError as exc:
        print(f"error: {url}: {exc}", file=sys.stderr)
        return 1
    print(f"{answer.status_code} {answer.text}")
    return 0 if answer.is_success else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
