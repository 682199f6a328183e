"""Dev secrets for `soleflip dev`: generated once into `.soleflip/dev.env`, kept between runs."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path


def whsec() -> str:
    """A Standard Webhooks secret: `whsec_` and base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def load_or_create_secrets(path: Path) -> tuple[dict[str, str], str | None]:
    """The dev secrets from `path`; created on first run, when the admin token is returned too
    (only its sha256 is stored, so it can be shown this once)."""
    if path.is_file():
        lines = path.read_text().splitlines()
        pairs = (line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
        found = {key.strip(): value.strip() for key, value in pairs}
        if "SOLEFLIP_CONSOLE_SERVICE_TOKEN" not in found:  # a dev.env from before the console
            found |= _console_token(found.get("SOLEFLIP_API_TOKENS", ""))
            from soleflip.common.cli_env import write_env_values

            keys = ("SOLEFLIP_CONSOLE_SERVICE_TOKEN", "SOLEFLIP_API_TOKENS")
            write_env_values(path, {key: found[key] for key in keys})
        return found, None
    from cryptography.fernet import Fernet

    from soleflip.common.http.auth import generate_token

    token, entry = generate_token("admin", ("read", "write", "admin"))
    values = {
        "SOLEFLIP_FERNET_KEYS": Fernet.generate_key().decode(),
        "SOLEFLIP_WEBHOOK_SECRETS_STOCKX": whsec(),
        "SOLEFLIP_WEBHOOK_SECRETS_N8N": whsec(),
        "SOLEFLIP_N8N_TOKENS": "n8n_" + secrets.token_urlsafe(24),
        **_console_token(entry),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "# soleflip dev secrets (generated; local use only)\n"
    body += "".join(f"{key}={value}\n" for key, value in values.items())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(body)
    return values, token


def _console_token(entries: str) -> dict[str, str]:
    """The console's service token (it calls the four services' APIs; users sign in to the
    console with their own tokens) and `SOLEFLIP_API_TOKENS` with its entry added."""
    from soleflip.common.http.auth import generate_token

    token, entry = generate_token("console", ("admin",))
    return {
        "SOLEFLIP_CONSOLE_SERVICE_TOKEN": token,
        "SOLEFLIP_API_TOKENS": f"{entries};{entry}" if entries else entry,
    }
