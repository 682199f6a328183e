"""Restart backoff of a `soleflip dev` child: 1 s doubling to 30 s, from 1 s again after a
stable run."""

from __future__ import annotations

from pathlib import Path

from soleflip.common.localinfra._child import STABLE_AFTER_S, Child


def test_crashes_in_a_row_back_off_exponentially_up_to_the_cap() -> None:
    child = Child("orders", 8002, Path("orders.log"))
    delays = [child.schedule_restart(now=float(i)) for i in range(7)]
    assert delays == [1, 2, 4, 8, 16, 30, 30]
    assert child.restart_at == 6 + 30


def test_a_stable_run_resets_the_backoff() -> None:
    child = Child("orders", 8002, Path("orders.log"))
    for i in range(4):
        child.schedule_restart(now=float(i))
    child.started_at = 10.0
    assert child.schedule_restart(now=10.0 + STABLE_AFTER_S) == 1
    assert child.crashes == 1
