"""RedriveExecution on the pure interpreter: a Parallel or inline Map re-runs only the branches
or iterations that did not succeed (recursively), keeps the others' outputs, and the history
continues with ExecutionRedriven and the state's entry again."""

from __future__ import annotations

from typing import Any

from sagaway.interpreter import InvokeTask, Step, Stop, TaskFailed, TaskSucceeded, advance
from sagaway.interpreter.codec import dump_state, load_state
from sagaway.interpreter.execution import ExecutionState
from sagaway.interpreter.redrive import redrive
from tests.interpreter.kit import LAMBDA_ARN, T0, invokes, machine, start, types

LATER = T0 + 60


def _task(name: str = "T", **fields: Any) -> dict[str, Any]:
    fields.setdefault("End", "Next" not in fields)
    return {"Type": "Task", "Resource": LAMBDA_ARN, **fields}


def _branch(*names: str) -> dict[str, Any]:
    """A branch of Task states run one after the other, each passing a marker on."""
    states = {
        name: _task(name, Parameters={"state": name, "input.$": "$"}, **(
            {"Next": names[i + 1]} if i + 1 < len(names) else {}))
        for i, name in enumerate(names)
    }  # fmt: skip
    return {"StartAt": names[0], "States": states}


def _parallel(branches: int = 3) -> Any:
    return machine({"P": {"Type": "Parallel", "End": True,
                          "Branches": [_branch(f"B{i}") for i in range(branches)]}})  # fmt: skip


def _map(concurrency: int = 0, processor: dict[str, Any] | None = None) -> Any:
    processor = processor or {"StartAt": "Work", "States": {"Work": _task()}}
    return machine({"M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": concurrency,
                          "ItemProcessor": processor, "End": True}})  # fmt: skip


def _journaled(state: ExecutionState) -> ExecutionState:
    """The state as the engine reads it back from the journal."""
    return load_state(dump_state(state))


def _answer(m: Any, step: Step, outcomes: dict[str, Any]) -> Step:
    """Answer the outstanding invocations whose key is in ``outcomes``, in that order (an
    Exception fails it). The Step returned holds the answers' history, and as commands the
    invocations still outstanding (the earlier ones first)."""
    calls = {_key(c): c for c in _outstanding(step)}
    state, history, commands = step.state, [], list(step.commands)
    for key, outcome in outcomes.items():
        token = calls[key].token
        event = (TaskFailed(token, type(outcome).__name__, str(outcome))
                 if isinstance(outcome, Exception) else TaskSucceeded(token, outcome))  # fmt: skip
        step = advance(m, state, event, T0 + 1)
        state = step.state
        history += step.history
        commands += step.commands
    return Step(state, [c for c in commands if getattr(c, "token", None) in state.tokens],
                history)  # fmt: skip


def _outstanding(step: Step) -> list[InvokeTask]:
    """The step's invocations the execution still waits on."""
    return [c for c in invokes(step) if c.token in step.state.tokens]


def _key(call: InvokeTask) -> str:
    payload = call.payload
    return str(payload["state"] if isinstance(payload, dict) and "state" in payload else payload)


def _succeed_all(m: Any, step: Step) -> Step:
    """Answer every invocation with its key until the execution has nothing outstanding."""
    while pending := _outstanding(step):
        step = _answer(m, step, {_key(c): f"done-{_key(c)}" for c in pending})
    return step


def test_parallel_reruns_only_the_failed_and_aborted_branches() -> None:
    m = _parallel(4)
    step = start(m, {"n": 1})
    assert sorted(map(_key, invokes(step))) == ["B0", "B1", "B2", "B3"]
    # B0 and B2 succeed; B1 fails while B3 is still running (it is aborted).
    failed = _answer(m, step, {"B0": "done-B0", "B2": "done-B2", "B1": ValueError("boom")})
    assert failed.state.status == "FAILED"

    redriven = redrive(m, _journaled(failed.state), LATER)
    assert sorted(map(_key, invokes(redriven))) == ["B1", "B3"]
    assert all(c.payload["input"] == {"n": 1} for c in invokes(redriven))
    assert types(redriven.history)[:4] == [
        "ExecutionRedriven", "ParallelStateEntered", "ParallelStateStarted", "TaskStateEntered",
    ]  # fmt: skip
    assert redriven.state.execution["RedriveCount"] == 1

    done = _succeed_all(m, redriven)
    assert done.state.status == "SUCCEEDED"
    assert done.state.output == ["done-B0", "done-B1", "done-B2", "done-B3"]
    assert set(done.state.frames) == {"root"}


def test_history_ids_continue_from_the_failed_run() -> None:
    m = _parallel(2)
    failed = _answer(m, start(m, {}), {"B0": "done-B0", "B1": ValueError("boom")})
    redriven = redrive(m, _journaled(failed.state), LATER)
    first = redriven.history[0]
    assert first["id"] == failed.state.next_id
    assert first["previousEventId"] == failed.state.next_id - 1
    assert first["executionRedrivenEventDetails"] == {"redriveCount": 1}
    ids = [e["id"] for e in redriven.history]
    assert ids == list(range(ids[0], ids[0] + len(ids)))
    entered = redriven.history[1]
    assert entered["previousEventId"] == first["id"]
    assert entered["stateEnteredEventDetails"]["name"] == "P"


def test_a_failed_branch_continues_from_the_state_that_failed() -> None:
    m = machine({"P": {"Type": "Parallel", "End": True,
                       "Branches": [_branch("A1", "A2"), _branch("B1")]}})  # fmt: skip
    step = _answer(m, start(m, {}), {"A1": "done-A1", "B1": "done-B1"})
    failed = _answer(m, step, {"A2": ValueError("boom")})
    assert failed.state.status == "FAILED"
    redriven = redrive(m, _journaled(failed.state), LATER)
    (call,) = invokes(redriven)
    assert call.state_name == "A2" and call.payload["input"] == "done-A1"
    done = _succeed_all(m, redriven)
    assert done.state.output == ["done-A2", "done-B1"]


def test_inline_map_reruns_only_the_failed_and_aborted_iterations() -> None:
    m = _map()
    step = start(m, {"items": ["i0", "i1", "i2", "i3", "i4"]})
    # i1 fails while i3 still runs (aborted); i0, i2 and i4 succeeded.
    failed = _answer(m, step, {"i0": "done-i0", "i2": "done-i2", "i4": "done-i4",
                               "i1": ValueError("boom")})  # fmt: skip
    assert failed.state.status == "FAILED"

    redriven = redrive(m, _journaled(failed.state), LATER)
    assert [c.payload for c in invokes(redriven)] == ["i1", "i3"]
    assert types(redriven.history)[:4] == [
        "ExecutionRedriven", "MapStateEntered", "MapStateStarted", "MapIterationStarted",
    ]  # fmt: skip
    started = [e["mapIterationStartedEventDetails"]["index"] for e in redriven.history
               if e["type"] == "MapIterationStarted"]  # fmt: skip
    assert started == [1, 3]
    assert redriven.history[2]["mapStateStartedEventDetails"] == {"length": 5}

    done = _succeed_all(m, redriven)
    assert done.state.output == ["done-i0", "done-i1", "done-i2", "done-i3", "done-i4"]


def test_map_redrive_keeps_max_concurrency() -> None:
    m = _map(concurrency=2)
    step = start(m, {"items": [0, 1, 2, 3, 4]})
    assert [c.payload for c in invokes(step)] == [0, 1]
    step = _answer(m, step, {"0": 100})  # 2 starts
    failed = _answer(m, step, {"1": ValueError("boom")})  # 2 is aborted; 3, 4 never started
    redriven = redrive(m, _journaled(failed.state), LATER)
    assert [c.payload for c in invokes(redriven)] == [1, 2]
    step = _answer(m, redriven, {"1": 101})
    assert [c.payload for c in invokes(step)] == [2, 3]  # one more, never more than two
    done = _succeed_all(m, step)
    assert done.state.output == [100, 101, "done-2", "done-3", "done-4"]


def test_parallel_inside_a_failed_map_iteration_reruns_only_its_failed_branch() -> None:
    processor = {"StartAt": "P", "States": {"P": {
        "Type": "Parallel", "End": True,
        "Branches": [_branch("A"), _branch("B")],
    }}}  # fmt: skip
    m = _map(processor=processor)
    step = start(m, {"items": [0, 1, 2]})
    calls = invokes(step)
    assert len(calls) == 6
    # Every other task succeeds first, then item 1's branch B fails.
    for call in sorted(calls, key=lambda c: (c.payload["state"], c.payload["input"]) == ("B", 1)):
        key = (call.payload["state"], call.payload["input"])
        outcome: Any = ValueError("boom") if key == ("B", 1) else f"{key[0]}{key[1]}"
        event = (TaskFailed(call.token, "ValueError", "boom") if isinstance(outcome, Exception)
                 else TaskSucceeded(call.token, outcome))  # fmt: skip
        step = advance(m, step.state, event, T0 + 1)
    assert step.state.status == "FAILED"

    redriven = redrive(m, _journaled(step.state), LATER)
    (call,) = invokes(redriven)
    assert (call.payload["state"], call.payload["input"]) == ("B", 1)
    assert types(redriven.history)[:7] == [
        "ExecutionRedriven", "MapStateEntered", "MapStateStarted", "MapIterationStarted",
        "ParallelStateEntered", "ParallelStateStarted", "TaskStateEntered",
    ]  # fmt: skip
    done = advance(m, redriven.state, TaskSucceeded(call.token, "B1-again"), LATER)
    assert done.state.status == "SUCCEEDED"
    assert done.state.output == [["A0", "B0"], ["A1", "B1-again"], ["A2", "B2"]]


def test_aborted_execution_reruns_only_what_was_still_running() -> None:
    m = _parallel(3)
    step = _answer(m, start(m, {}), {"B0": "done-B0"})
    stopped = advance(m, step.state, Stop(), T0 + 2)
    assert stopped.state.status == "ABORTED"
    redriven = redrive(m, _journaled(stopped.state), LATER)
    assert sorted(map(_key, invokes(redriven))) == ["B1", "B2"]
    done = _succeed_all(m, redriven)
    assert done.state.output == ["done-B0", "done-B1", "done-B2"]


def test_redrive_after_redrive_keeps_what_each_attempt_finished() -> None:
    m = _parallel(3)
    failed = _answer(m, start(m, {}), {"B0": "done-B0", "B1": ValueError("boom")})
    again = _answer(m, redrive(m, _journaled(failed.state), LATER),
                    {"B2": "done-B2", "B1": ValueError("still")})  # fmt: skip
    assert again.state.status == "FAILED"
    third = redrive(m, _journaled(again.state), LATER + 60)
    assert [_key(c) for c in invokes(third)] == ["B1"]
    assert third.state.execution["RedriveCount"] == 2
    assert _succeed_all(m, third).state.output == ["done-B0", "done-B1", "done-B2"]


def test_retry_counters_start_over() -> None:
    m = machine({"P": {"Type": "Parallel", "End": True, "Branches": [_branch("A"), _branch("B")],
                       "Retry": [{"ErrorEquals": ["ValueError"], "MaxAttempts": 1,
                                  "IntervalSeconds": 1}]}})  # fmt: skip
    step = _answer(m, start(m, {}), {"A": "done-A", "B": ValueError("boom")})
    retry_fired = advance(m, step.state, _timer(step), T0 + 5)  # the retry: both branches again
    failed = _answer(m, retry_fired, {"A": "done-A", "B": ValueError("boom")})
    assert failed.state.status == "FAILED"
    redriven = redrive(m, _journaled(failed.state), LATER)
    assert [_key(c) for c in invokes(redriven)] == ["B"]
    assert redriven.state.frames["root"].retry_count == 0
    retried = _answer(m, redriven, {"B": ValueError("again")})
    assert retried.state.status == "RUNNING"  # the retrier has its attempt again


def _timer(step: Step) -> Any:
    from sagaway.interpreter import StartTimer, TimerFired

    (timer,) = [c for c in step.commands if isinstance(c, StartTimer)]
    return TimerFired(timer.token)


def test_edited_input_reruns_the_whole_state() -> None:
    m = _parallel(2)
    failed = _answer(m, start(m, {"v": 1}), {"B0": "done-B0", "B1": ValueError("boom")})
    redriven = redrive(m, _journaled(failed.state), LATER, new_input={"v": 2})
    calls = invokes(redriven)
    assert sorted(map(_key, calls)) == ["B0", "B1"]
    assert all(c.payload["input"] == {"v": 2} for c in calls)


def test_a_state_that_failed_before_its_children_runs_again_as_a_whole() -> None:
    m = _map()
    failed = start(m, {"items": "not a list"})
    assert failed.state.status == "FAILED"
    redriven = redrive(m, _journaled(failed.state), LATER, new_input={"items": [7, 8]})
    assert [c.payload for c in invokes(redriven)] == [7, 8]


def test_a_branch_only_ready_for_its_next_parallel_runs_that_state_afresh() -> None:
    # Branch 0 finishes P1 and is READY for P2 (P1's progress still in its data) when branch
    # 1 fails in the same step: the redrive must enter P2 normally, not "resume" it with
    # P1's results. Branch 1's Choice matches nothing before the first redrive.
    inner = {"StartAt": "X", "States": {"X": {"Type": "Pass", "Result": "p1", "End": True}}}
    first = {"StartAt": "P1", "States": {
        "P1": {"Type": "Parallel", "Branches": [inner], "Next": "P2"},
        "P2": {"Type": "Parallel", "Branches": [_branch("T")], "End": True},
    }}  # fmt: skip
    second = {"StartAt": "Step", "States": {
        "Step": {"Type": "Pass", "Next": "Gate"},
        "Gate": {"Type": "Choice", "Choices": [  # no Default: States.NoChoiceMatched
            {"Variable": "$$.Execution.RedriveCount", "NumericGreaterThan": 0, "Next": "Ok"}]},
        "Ok": {"Type": "Succeed"},
    }}  # fmt: skip
    m = machine({"P": {"Type": "Parallel", "Branches": [first, second], "End": True}})
    failed = start(m, {})
    assert failed.state.status == "FAILED" and not invokes(failed)
    redriven = redrive(m, _journaled(failed.state), LATER)
    (call,) = invokes(redriven)
    assert call.state_name == "T" and call.payload["input"] == ["p1"]
    done = _succeed_all(m, redriven)
    assert done.state.output == [["done-T"], {}]
