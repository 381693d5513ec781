"""``advance`` is a pure function of (machine, state, event, now) (DESIGN §1, house rule 2)."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sagaway.interpreter import (
    Start,
    StartTimer,
    Stop,
    TaskSucceeded,
    TimerFired,
    advance,
)
from tests.interpreter.kit import (
    T0,
    T0_ISO,
    fail,
    fresh,
    iso,
    machine,
    only_invoke,
    start,
    succeed,
    types,
)

TASK_MACHINE = machine(
    {
        "Prepare": {"Type": "Pass", "Result": {"sku": "A1"}, "ResultPath": "$.item", "Next": "Do"},
        "Do": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "reserve", "Payload.$": "$"},
            "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 3, "JitterStrategy": "FULL"}],
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
    }
)


def test_advance_does_not_mutate_the_state_passed_in() -> None:
    first = start(TASK_MACHINE, {"order": 7})
    before = copy.deepcopy(first.state)
    token = only_invoke(first).token
    after = advance(TASK_MACHINE, first.state, TaskSucceeded(token, {"ok": True}), T0 + 5)
    assert first.state == before
    assert first.state.status == "RUNNING"
    assert after.state.status == "SUCCEEDED"
    assert after.state is not first.state


def test_initial_state_is_left_untouched_by_start() -> None:
    initial = fresh()
    snapshot = copy.deepcopy(initial)
    advance(TASK_MACHINE, initial, Start({"order": 7}), T0)
    assert initial == snapshot
    assert initial.frames == {}
    assert initial.next_id == 1


def test_same_inputs_give_the_same_step_twice() -> None:
    state = start(TASK_MACHINE, {"order": 7}).state
    token = next(iter(state.tokens))
    a = advance(TASK_MACHINE, state, TaskSucceeded(token, {"n": 1}), T0 + 2)
    b = advance(TASK_MACHINE, state, TaskSucceeded(token, {"n": 1}), T0 + 2)
    assert a == b
    assert a.history[0]["type"] == "TaskSucceeded"


def test_retry_with_full_jitter_is_repeatable_for_the_same_state() -> None:
    first = start(TASK_MACHINE, {})
    a = fail(TASK_MACHINE, first, "Busy", now=T0 + 1)
    b = fail(TASK_MACHINE, first, "Busy", now=T0 + 1)
    assert a.commands == b.commands
    [timer] = a.commands
    assert isinstance(timer, StartTimer)
    assert T0 + 1 <= timer.fire_at <= T0 + 1 + 3


_JITTER_SCRIPT = """
from tests.interpreter.kit import fail, machine, start
m = machine({"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True,
    "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1000, "JitterStrategy": "FULL"}]}})
print(repr(fail(m, start(m, {}, seed=7), "Boom").commands[0].fire_at))
"""


def test_full_jitter_delay_does_not_depend_on_the_process_hash_seed() -> None:
    root = Path(__file__).resolve().parents[2]
    results = set()
    for hash_seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(root)}
        done = subprocess.run(
            [sys.executable, "-c", _JITTER_SCRIPT],
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        )
        results.add(done.stdout.strip())
    assert len(results) == 1, results


def test_advance_reads_no_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden() -> float:
        raise AssertionError("the interpreter read the clock")

    for name in ("time", "time_ns", "monotonic", "perf_counter"):
        monkeypatch.setattr(time, name, forbidden)
    m = machine(
        {
            "Mark": {
                "Type": "Pass",
                "Parameters": {"start.$": "$$.Execution.StartTime", "at.$": "$$.State.EnteredTime"},
                "Next": "Nap",
            },
            "Nap": {"Type": "Wait", "Seconds": 10, "End": True},
        }
    )
    first = start(m, {}, now=T0)
    [timer] = first.commands
    assert timer == StartTimer(token=timer.token, fire_at=T0 + 10)
    done = advance(m, first.state, TimerFired(timer.token), T0 + 10)
    assert done.state.output == {"start": T0_ISO, "at": T0_ISO}
    assert {e["timestamp"] for e in first.history} == {T0}
    assert {e["timestamp"] for e in done.history} == {T0 + 10}


def test_results_follow_now_not_wall_time() -> None:
    m = machine(
        {"Mark": {"Type": "Pass", "Parameters": {"t.$": "$$.State.EnteredTime"}, "End": True}}
    )
    early = start(m, {}, now=0.0)
    late = start(m, {}, now=T0 + 0.25)
    assert early.state.output == {"t": "1970-01-01T00:00:00.000Z"}
    assert late.state.output == {"t": iso(T0 + 0.25)} == {"t": "2023-11-14T22:13:20.250Z"}


def test_stop_aborts_and_cancels_the_outstanding_task() -> None:
    first = start(TASK_MACHINE, {})
    token = only_invoke(first).token
    stopped = advance(TASK_MACHINE, first.state, Stop("Operator", "manual stop"), T0 + 9)
    assert stopped.state.status == "ABORTED"
    assert stopped.state.error == "Operator"
    assert stopped.state.cause == "manual stop"
    assert [c.token for c in stopped.commands] == [token]
    assert type(stopped.commands[0]).__name__ == "CancelTask"
    assert types(stopped.history) == ["TaskStateAborted", "ExecutionAborted"]
    assert stopped.history[-1]["executionAbortedEventDetails"] == {
        "cause": "manual stop",
        "error": "Operator",
    }
    # A late answer for the cancelled task changes nothing.
    late = advance(TASK_MACHINE, stopped.state, TaskSucceeded(token, {}), T0 + 10)
    assert late.history == [] and late.commands == []
    assert late.state.status == "ABORTED"


def test_stale_token_is_ignored() -> None:
    first = start(TASK_MACHINE, {})
    step = advance(TASK_MACHINE, first.state, TaskSucceeded("no-such-token", {}), T0)
    assert step.history == [] and step.commands == []
    assert step.state == first.state


def test_answer_after_success_is_ignored() -> None:
    first = start(TASK_MACHINE, {})
    done = succeed(TASK_MACHINE, first, {"ok": 1})
    again = advance(TASK_MACHINE, done.state, TaskSucceeded(only_invoke(first).token, {}), T0)
    assert again.history == []
    assert again.state.output == {"ok": 1}


def test_execution_timeout_seconds_times_the_execution_out() -> None:
    m = machine(
        {"Nap": {"Type": "Wait", "Seconds": 600, "End": True}},
        TimeoutSeconds=60,
    )
    first = start(m, {})
    fire = sorted(c.fire_at for c in first.commands if isinstance(c, StartTimer))
    assert fire == [T0 + 60, T0 + 600]
    timeout_token = next(
        c.token for c in first.commands if isinstance(c, StartTimer) and c.fire_at == T0 + 60
    )
    out = advance(m, first.state, TimerFired(timeout_token), T0 + 60)
    assert out.state.status == "TIMED_OUT"
    assert out.state.error == "States.Timeout"
    assert types(out.history)[-1] == "ExecutionTimedOut"
