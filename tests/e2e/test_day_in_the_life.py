# ruff: noqa: F811 - the orders fixtures are imported into this module, then requested by name
"""README "A day in the life", run command by command against the simulator and orders.

The block between the `day-in-the-life` markers is the test's script: variable assignments,
`curl` calls (`-X`, `-H`, `-d`, `-o`) and `jq -r` on their output (a path such as `.[0].id`, or
`select(.field == "value") | .path`). A command piped into `jq` is repeated until it yields a
value, as a reader waits between steps. New steps (payouts, FX) go into the README and run
here without changing this file.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from soleflip.common.http import hash_token
from soleflip.common.settings import ApiToken, Settings
from soleflip.orders.app import create_app
from soleflip.orders.settings import OrdersSettings
from tests.integration.orders.conftest import orders_dsn, orders_settings  # noqa: F401 - fixtures
from tests.integration.orders.support import running_sim, serving, sim_config, with_sim
from tests.support.wait import until

README = Path(__file__).resolve().parents[2] / "README.md"
TOKEN = "sf_day_in_the_life_token"
_BLOCK = re.compile(
    r"<!-- day-in-the-life:start -->\s*```sh\n(.*?)```\s*<!-- day-in-the-life:end -->", re.S
)
_CAPTURE = re.compile(r"^(\w+)=\$\((.*) \| jq -r '(.*)'\)$")
_ASSIGN = re.compile(r'^(\w+)="?([^"]*)"?$')
_SELECT = re.compile(r'^select\((\.[\w.\[\]]+) == "([^"]*)"\) \| (\.[\w.\[\]]+)$')


def script() -> list[str]:
    """The README block's commands (comments and blank lines dropped)."""
    match = _BLOCK.search(README.read_text())
    assert match, "README.md lost its day-in-the-life block"
    lines = [line.strip() for line in match.group(1).splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def jq(path: str, value: Any) -> Any:
    """The subset of `jq -r` the README uses: `.a.b`, `.[0].id`, `select(.a == "x") | .b`."""
    chosen = _SELECT.match(path)
    if chosen:
        test, wanted, path = chosen.groups()
        if str(jq(test, value)) != wanted:
            return None
    for part in re.findall(r"\[(\d+)\]|\.(\w+)", path):
        index, key = part
        if value is None:
            return None
        value = value[int(index)] if index else value.get(key)
    return value


@dataclass
class Shell:
    """The variables and the HTTP client a reader's shell would have."""

    client: httpx.AsyncClient
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)

    def expand(self, text: str) -> str:
        return re.sub(r"\$(\w+)", lambda m: self.env.get(m.group(1), m.group(0)), text)

    async def curl(self, command: str) -> tuple[int, Any]:
        args = shlex.split(self.expand(command))
        assert args[0] == "curl", command
        method, headers, body, out, url = "GET", {}, None, None, ""
        it = iter(args[1:])
        for arg in it:
            if arg == "-X":
                method = next(it)
            elif arg == "-H":
                name, _, value = next(it).partition(": ")
                headers[name] = value
            elif arg == "-d":  # as curl sends it: a form content type unless -H says otherwise
                body, method = next(it), method if method != "GET" else "POST"
                headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
            elif arg == "-o":
                out = next(it)
            elif not arg.startswith("-"):
                url = arg
        response = await self.client.request(method, url, headers=headers, content=body)
        if out is not None:
            (self.workdir / out).write_bytes(response.content)
            return response.status_code, None
        return response.status_code, response.json() if response.content else None

    async def run(self, line: str) -> None:
        if captured := _CAPTURE.match(line):
            name, command, path = captured.groups()

            async def answer() -> str | None:
                status, body = await self.curl(command)
                value = jq(path, body) if status < 300 else None
                return None if value is None else str(value)

            self.env[name] = await until(answer, 60, what=f"{name} from {command[:60]}")
        elif line.startswith("curl "):

            async def ok() -> bool:
                return (await self.curl(line))[0] < 300

            await until(ok, 60, what=line[:80])
        elif assigned := _ASSIGN.match(line):
            self.env[assigned.group(1)] = self.expand(assigned.group(2))
        else:
            raise AssertionError(f"the day-in-the-life runner cannot run: {line}")


@pytest.fixture
async def shell(orders_settings: Settings, tmp_path: Path) -> AsyncIterator[Shell]:
    token = ApiToken(name="seller", scopes=frozenset({"write"}), sha256=hash_token(TOKEN))
    async with running_sim(sim_config(orders=0, listings=0)) as sim:
        settings = msgspec.structs.replace(with_sim(orders_settings, sim), api_tokens=(token,))
        options = OrdersSettings(poll_interval_s=2, operation_poll_s=0.1)
        app = create_app(settings, options)
        async with serving(app) as orders, httpx.AsyncClient(timeout=30) as client:
            shell = Shell(client, tmp_path, {"TOKEN": TOKEN})
            shell.env["_ORDERS"], shell.env["_SIM"] = orders, sim
            yield shell


async def test_a_day_in_the_life_runs_as_the_readme_says(shell: Shell) -> None:
    for line in script():
        # The README's addresses are `./soleflip dev`'s; here the test's own servers answer.
        line = line.replace("http://127.0.0.1:8002", shell.env["_ORDERS"])
        line = line.replace("http://127.0.0.1:8090", shell.env["_SIM"])
        await shell.run(line)
    env = shell.env
    assert env["SOLD"] == env["ORDER"]
    assert (shell.workdir / "label.pdf").read_bytes().startswith(b"%PDF")
    assert Decimal(env["PROFIT"]) == Decimal(env["PAYOUT"]) - Decimal("126.00")
    assert Decimal(env["BASE"]) == Decimal(env["PROFIT"])  # sold in EUR, the base currency
    assert Decimal(env["PENDING"]) == Decimal(env["PAYOUT"])  # expected, then received
    assert datetime.fromisoformat(env["PAID_AT"]).tzinfo == UTC  # received (simulated time)
    _, unit = await shell.curl(f'curl -s -H "$AUTH" "$ORDERS/api/v1/stock/{env["UNIT"]}"')
    assert unit["status"] == "SHIPPED"
    reasons = [h["reason"] for h in unit["history"]]
    assert reasons[0] == "purchase"
    assert reasons.index("listed") < reasons.index("sale")
    assert {h["source"] for h in unit["history"]} <= {"api", "poll"}
