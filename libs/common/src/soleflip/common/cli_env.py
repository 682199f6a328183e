"""What an operator command (`migrate`, `sync`, `dlq`, `webhook send`) needs around it: the URLs
and secrets of a `soleflip dev` next to it, a fast check that its dependencies answer, and one
clear line instead of a traceback when one of them is down.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

#: Written by `soleflip dev` (secrets, then its Postgres and NATS URLs); read by commands run in
#: the same directory for every variable the environment does not set.
DEV_ENV = Path(".soleflip") / "dev.env"
#: Long enough for a loaded machine, short enough that a typo in a URL is reported at once.
PROBE_TIMEOUT_S = 3.0


def read_env_file(path: Path) -> dict[str, str]:
    """`KEY=value` lines of `path` (comments and blank lines skipped); {} when it is missing."""
    if not path.is_file():
        return {}
    pairs = (
        line.split("=", 1)
        for line in path.read_text().splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    )
    return {key.strip(): value.strip() for key, value in pairs}


def write_env_values(path: Path, values: Mapping[str, str]) -> None:
    """Set `values` in the env file at `path`, keeping its other lines (and its 0600 mode)."""
    lines = path.read_text().splitlines() if path.is_file() else []
    kept = [line for line in lines if line.partition("=")[0].strip() not in values]
    kept += [f"{key}={value}" for key, value in values.items()]
    path.write_text("\n".join(kept) + "\n")


def dev_defaults(environ: Mapping[str, str], cwd: Path) -> dict[str, str]:
    """The variables of the nearest `.soleflip/dev.env` (in `cwd` or a parent, as `soleflip dev`
    puts it at the repository root) that `environ` does not set: the caller's own win."""
    for directory in [cwd, *cwd.parents]:
        if (directory / DEV_ENV).is_file():
            values = read_env_file(directory / DEV_ENV)
            return {k: v for k, v in values.items() if k not in environ}
    return {}


def _address(url: str, default_port: int) -> tuple[str, int] | None:
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port or default_port
    except ValueError:
        return None
    # A Unix socket, a multi-host DSN or a query-string host: let the client itself decide.
    return (host, port) if host and "," not in parts.netloc else None


def _answers(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


def unreachable(dependencies: Iterable[tuple[str, Iterable[str], int]]) -> str | None:
    """The first dependency none of whose URLs accepts a TCP connection, as one sentence.

    `dependencies`: (name, urls, default port). A dependency whose URL cannot be probed this way
    counts as reachable: the command's own client reports it then.
    """
    for name, urls, default_port in dependencies:
        addresses = [_address(url, default_port) for url in urls]
        probed = [a for a in addresses if a is not None]
        if not probed or len(probed) < len(addresses) or any(_answers(a) for a in probed):
            continue
        shown = ", ".join(f"{host}:{port}" for host, port in probed)
        return f"{name} is unreachable at {shown}: is it running, and is the URL right?"
    return None
