"""TaskInvoker: call timing on the virtual clock and HeartbeatSeconds."""

from __future__ import annotations

from typing import Any

from sagaway.interpreter import InvokeTask, TaskSucceeded, TaskTimedOut
from sagaway.testing import VirtualClock, run_saga
from sagaway.testing.invoker import apply_heartbeat
from tests.testing.sagas import definition, fn, task


def _command(heartbeat: float | None) -> InvokeTask:
    return InvokeTask("root@1#0", "T", fn("t"), {}, heartbeat_seconds=heartbeat)


def test_apply_heartbeat_finds_the_first_silent_gap() -> None:
    done = TaskSucceeded("root@1#0", 1)
    assert apply_heartbeat(_command(None), done, [], 500) == (done, 500)
    assert apply_heartbeat(_command(10), done, [9, 18], 27) == (done, 27)
    late = apply_heartbeat(_command(10), done, [9], 27)
    assert late == (TaskTimedOut("root@1#0", "States.HeartbeatTimeout"), 19)


def _working(clock: VirtualClock, beats: bool) -> Any:
    def handler(event: Any, context: Any) -> Any:
        for _ in range(3):
            clock.advance(15)
            if beats:
                context.heartbeat()
        return "done"

    return handler


def test_a_handler_that_heartbeats_in_time_is_not_timed_out() -> None:
    saga = definition({"Work": task("work", HeartbeatSeconds=20, End=True)})
    clock = VirtualClock()
    alive = run_saga(saga, functions={"work": _working(clock, beats=True)}, clock=clock)
    assert (alive.status, alive.output, alive.elapsed) == ("SUCCEEDED", "done", 45)
    clock = VirtualClock()
    silent = run_saga(saga, functions={"work": _working(clock, beats=False)}, clock=clock)
    # A missed heartbeat is reported as States.Timeout, as AWS reports it.
    assert (silent.status, silent.error, silent.elapsed) == ("FAILED", "States.Timeout", 20)


def _advancing(clock: VirtualClock, seconds: float) -> Any:
    def handler(event: Any, context: Any) -> Any:
        clock.advance(seconds)
        return "done"

    return handler


def test_parallel_branches_each_start_at_the_step_time() -> None:
    clock = VirtualClock()
    saga = definition(
        {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    definition({"Slow": task("slow", End=True)}),
                    definition({"Fast": task("fast", End=True)}),
                ],
                "End": True,
            }
        }
    )
    functions = {"slow": _advancing(clock, 50), "fast": _advancing(clock, 5)}
    result = run_saga(saga, functions=functions, clock=clock)
    assert [call.time for call in result.calls] == [result.start_time] * 2
    # The slowest branch decides when the Parallel ends: 50 s, not 50 + 5.
    assert result.elapsed == 50
