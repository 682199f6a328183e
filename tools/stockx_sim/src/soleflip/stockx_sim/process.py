"""`soleflip stockx-sim` in a child process, for tests and benchmarks that need the simulator
where StockX would be: on a real port, with its own interpreter and clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from soleflip.common.testing.procs import served


@contextmanager
def served_simulator(**sim_env: object) -> Iterator[str]:
    """Serve a fresh simulator until the block ends; yields its base URL.

    `sim_env` are `SOLEFLIP_SIM_*` settings by their lower-case suffix: `rate_per_s=1`,
    `token_ttl_s=8`, `rotate_refresh_tokens=True`.
    """
    env = {f"SOLEFLIP_SIM_{k.upper()}": str(v).lower() for k, v in sim_env.items()}
    with served("stockx-sim", env=env) as url:
        yield url
