"""`soleflip.common.testing.procs.served`: the one launcher of `soleflip` child processes that
tests and benchmarks share."""

from __future__ import annotations

import httpx
import pytest

from soleflip.common.testing.procs import served


def test_a_served_process_is_ready_inside_the_block_and_gone_after() -> None:
    with served("stockx-sim", env={"SOLEFLIP_SIM_PRODUCTS": "1"}) as url:
        assert httpx.get(f"{url}/health/ready", timeout=5).status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health/live", timeout=2)


def test_a_command_that_exits_fails_fast_naming_it() -> None:
    with (
        pytest.raises(RuntimeError, match=r"soleflip serve no-such-service exited with 2"),
        served("serve", "no-such-service"),
    ):
        pass
