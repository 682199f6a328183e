"""The contract's configuration table (ARCHITECTURE.md section 8) and the library's settings agree:
every documented `SOLEFLIP_*` variable the library owns is parsed, and none is parsed undocumented.
"""

from __future__ import annotations

import re
from pathlib import Path

from soleflip.common.settings import load_settings

from .test_settings import EXPECTED, FULL_ENV

ARCHITECTURE = Path(__file__).resolve().parents[3] / "docs" / "ARCHITECTURE.md"
# Read by their own packages, not by `soleflip.common.settings`: pricing's and the console's
# settings, the simulator's, the test plugin's, and OpenTelemetry's SDK.
OWNED_ELSEWHERE = (
    "SOLEFLIP_PRICING_",
    "SOLEFLIP_CONSOLE_",
    "SOLEFLIP_SIM_",
    "SOLEFLIP_TEST_",
    "OTEL_",
)


def documented_variables() -> set[str]:
    """Variable names in section 8's table; `_CLIENT_SECRET` after `SOLEFLIP_STOCKX_CLIENT_ID`
    abbreviates `SOLEFLIP_STOCKX_CLIENT_SECRET` (the first two parts are shared)."""
    text = ARCHITECTURE.read_text()
    section = text.split("## 8. Configuration", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for row in re.findall(r"^\| (.+?) \|", section, flags=re.MULTILINE):
        cell = re.findall(r"`([A-Z0-9_*]+)`", row)
        if not cell:
            continue
        prefix = "_".join(cell[0].split("_")[:2])
        names.update(prefix + name if name.startswith("_") else name for name in cell)
    return names


def test_the_table_is_read() -> None:
    names = documented_variables()
    assert {"SOLEFLIP_DATABASE_URL", "SOLEFLIP_STOCKX_API_KEY", "SOLEFLIP_NATS_PREFIX"} <= names
    assert "SOLEFLIP_PRICING_REJECT_AFTER_S" in names


def test_every_documented_library_variable_is_parsed_and_none_undocumented() -> None:
    library = {n for n in documented_variables() if not n.startswith(OWNED_ELSEWHERE)}
    assert library == set(FULL_ENV)
    assert load_settings(FULL_ENV) == EXPECTED


def test_the_console_reads_exactly_its_documented_variables() -> None:
    from soleflip.console.settings import VARIABLES

    documented = {n for n in documented_variables() if n.startswith("SOLEFLIP_CONSOLE_")}
    assert documented == VARIABLES
