"""The quotas inside the pure interpreter: the transition budget, the history cap, the
payload limit at every state, and Fault."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sagaway.asl.parser import parse_definition
from sagaway.expressions.jsontext import MAX_DEPTH, check_aws_json, loads_document
from sagaway.interpreter import Start, Step, advance, new_execution
from sagaway.interpreter.advance import CONTINUE
from sagaway.interpreter.limits import Limits, over_limit
from sagaway.interpreter.messages import Fault

LOOP = parse_definition(json.dumps({"StartAt": "A", "States": {
    "A": {"Type": "Pass", "Next": "B"},
    "B": {"Type": "Choice", "Default": "A",
          "Choices": [{"Variable": "$.stop", "IsPresent": True, "Next": "C"}]},
    "C": {"Type": "Succeed"}}}))  # fmt: skip


def start(definition: Any, value: Any = None, limits: Limits | None = None) -> Step:
    state = new_execution(execution_arn="arn:e", name="e", state_machine_arn="arn:m",
                          state_machine_name="m")  # fmt: skip
    machine = definition if not isinstance(definition, dict) else parse_definition(
        json.dumps(definition))  # fmt: skip
    return advance(machine, state, Start({} if value is None else value), 0.0,
                   limits or Limits())  # fmt: skip


def test_a_step_enters_at_most_its_budget_of_states_then_continues() -> None:
    step = start(LOOP, limits=Limits(transitions_per_step=10))
    assert step.yielded and step.state.status == "RUNNING"
    entered = [e for e in step.history if e["type"].endswith("StateEntered")]
    assert len(entered) == 10
    more = advance(LOOP, step.state, CONTINUE, 1.0, Limits(transitions_per_step=10))
    assert more.yielded
    assert more.history[0]["id"] == step.history[-1]["id"] + 1


def test_the_last_slot_of_a_full_history_is_execution_failed() -> None:
    step = start(LOOP, limits=Limits(history_events=101))
    assert [e["id"] for e in step.history] == list(range(1, 102))
    assert step.history[-1]["type"] == "ExecutionFailed"
    assert step.state.status == "FAILED"
    assert step.state.cause == "The execution reached the maximum number of history events (101)."
    assert list(step.state.frames) == ["root"]


def test_execution_succeeded_may_take_the_last_slot() -> None:
    # ExecutionStarted, PassStateEntered, PassStateExited, ExecutionSucceeded: 4 events.
    one = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    assert start(one, limits=Limits(history_events=4)).state.status == "SUCCEEDED"
    assert start(one, limits=Limits(history_events=3)).state.status == "FAILED"


def test_state_output_and_effective_input_are_held_to_the_payload_limit() -> None:
    big = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "x" * 200, "End": True}}}
    failed = start(big, limits=Limits(payload_bytes=100)).state
    assert (failed.status, failed.error) == ("FAILED", "States.DataLimitExceeded")
    assert "'P' returned a result" in (failed.cause or "")
    doubled = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True,
               "Parameters": {"a.$": "$", "b.$": "$"}}}}  # fmt: skip
    failed = start(doubled, {"v": "y" * 60}, Limits(payload_bytes=100)).state
    assert failed.error == "States.DataLimitExceeded"
    assert "'P' has an input" in (failed.cause or "")
    assert start(doubled, {"v": "y"}, Limits(payload_bytes=100)).state.status == "SUCCEEDED"


def test_a_fault_fails_a_running_execution() -> None:
    step = start(LOOP, limits=Limits(transitions_per_step=5))
    failed = advance(LOOP, step.state, Fault("States.Runtime", "broken"), 1.0)
    assert (failed.state.status, failed.state.error) == ("FAILED", "States.Runtime")
    assert failed.history[-1]["type"] == "ExecutionFailed"


def test_over_limit_counts_utf8_bytes() -> None:
    assert not over_limit("é" * 50, 100)
    assert over_limit("é" * 51, 100)
    assert not over_limit("x" * 10**6, None)


@pytest.mark.parametrize("value", [float("nan"), [float("-inf")], 2**64, -(2**63) - 1,
                                   {"a": {1, 2}}])  # fmt: skip
def test_values_aws_refuses(value: Any) -> None:
    with pytest.raises(ValueError):
        check_aws_json(value)


def test_nesting_is_bounded_without_recursion() -> None:
    deep: Any = 1
    for _ in range(MAX_DEPTH):
        deep = [deep]
    check_aws_json(deep)
    with pytest.raises(ValueError, match="nested deeper"):
        check_aws_json([deep])
    with pytest.raises(ValueError, match="nested too deeply"):
        loads_document("[" * 100_000 + "]" * 100_000)
    assert loads_document('{"n": 18446744073709551615}') == {"n": 2**64 - 1}
