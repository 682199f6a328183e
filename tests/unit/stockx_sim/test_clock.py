"""The simulator clock: stepping, and running faster than the wall clock without jumps."""

from __future__ import annotations

import pytest

from soleflip.stockx_sim.clock import SimClock


class Wall:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_sim_time_follows_the_wall_clock_and_steps_forward_on_advance() -> None:
    wall = Wall()
    clock = SimClock(wall_clock=wall)
    wall.now += 10
    assert clock.now() == pytest.approx(wall.now)
    clock.advance(3600)
    assert clock.now() == pytest.approx(wall.now + 3600)


def test_a_faster_clock_runs_speed_times_the_wall_and_changes_pace_without_a_jump() -> None:
    wall = Wall()
    clock = SimClock(speed=60, wall_clock=wall)
    start = clock.now()
    wall.now += 10
    assert clock.now() - start == pytest.approx(600)  # 10 wall seconds = 10 sim minutes
    before = clock.now()
    clock.set_speed(1)
    assert clock.now() == pytest.approx(before)
    wall.now += 10
    assert clock.now() - before == pytest.approx(10)
