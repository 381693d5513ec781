"""The in-memory timer wheel: timers fire in order of their due time, and the timers of an
execution that ended here are dropped (every EXPRESS execution arms a 5-minute cap)."""

from __future__ import annotations

import asyncio

from sagaway.engine.timers import COMPACT_AT, TimerWheel
from tests.engine.conftest import run, until


class Manual:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t


def test_an_ended_execution_s_timers_never_fire() -> None:
    clock = Manual()
    fired: list[tuple[str, str]] = []

    async def scenario() -> None:
        wheel = TimerWheel(clock, lambda arn, token: fired.append((arn, token)))
        wheel.start()
        wheel.add("a", "cap", 1010.0)
        wheel.add("b", "cap", 1020.0)
        wheel.add("b", "wait", 1005.0)
        wheel.forget("a")
        clock.t = 1030.0
        wheel.add("c", "now", 1000.0)  # due at once: wakes the wheel
        await until(lambda: len(fired) == 3)
        assert fired == [("c", "now"), ("b", "wait"), ("b", "cap")]
        await wheel.stop()

    run(scenario())


def test_a_redriven_execution_s_new_timers_fire() -> None:
    clock = Manual()
    fired: list[tuple[str, str]] = []

    async def scenario() -> None:
        wheel = TimerWheel(clock, lambda arn, token: fired.append((arn, token)))
        wheel.start()
        wheel.add("a", "cap", 1010.0)
        wheel.forget("a")
        wheel.add("a", "retry", 1001.0)  # running here again
        clock.t = 1002.0
        wheel.add("z", "now", 1000.0)
        await until(lambda: ("a", "retry") in fired)
        await wheel.stop()

    run(scenario())


def test_the_timers_of_ended_executions_are_dropped_in_bulk() -> None:
    async def scenario() -> None:
        wheel = TimerWheel(Manual(), lambda arn, token: None)
        wheel.add("running", "cap", 2000.0)
        for i in range(COMPACT_AT * 2):
            wheel.add(f"e{i}", "cap", 1300.0)
            wheel.forget(f"e{i}")
        assert len(wheel) < COMPACT_AT + 1  # compacted at least once
        assert any(entry[2] == "running" for entry in wheel._heap)
        await asyncio.sleep(0)

    run(scenario())
