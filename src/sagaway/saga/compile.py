"""The saga → ASL compiler (see :mod:`sagaway.saga.builder` for the shape it produces)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sagaway.saga.builder import Saga, SagaStep

ALL = "States.ALL"


def compile_saga(saga: Saga) -> dict[str, Any]:
    if not saga.steps:
        raise ValueError(f"saga {saga.name} has no steps")
    states: dict[str, Any] = {}
    first = saga.steps[0].name
    if saga.resumable:
        states["Resume"] = _resume_choice(saga, first)
    for index, step in enumerate(saga.steps):
        states[step.name] = _forward(saga, index)
        if step.compensation is not None:
            states[step.compensation] = _compensation(saga, index)
        _add_dead_letter(saga, states, step.name, bool(step.parked_errors()))
        if step.compensation is not None:
            _add_dead_letter(saga, states, step.compensation, saga.dead_letter is not None)
    states[saga.succeeded_state] = {"Type": "Succeed"}
    states[saga.failed_state] = {
        "Type": "Fail",
        "Error": saga.failed_error,
        "Cause": "A step failed; the steps that had completed were compensated in reverse order",
    }
    if saga.dead_letter is not None:
        states[saga.review_state] = {
            "Type": "Fail",
            "Error": "NeedsReview",
            "Cause": "A step exhausted its retries; its message is in the step's dead-letter queue",
        }
    definition: dict[str, Any] = {}
    if saga.comment:
        definition["Comment"] = saga.comment
    definition["StartAt"] = "Resume" if saga.resumable else first
    definition["States"] = states
    return definition


def _resume_choice(saga: Saga, first: str) -> dict[str, Any]:
    targets = [s.name for s in saga.steps]
    targets += [s.compensation for s in saga.steps if s.compensation is not None]
    choices: list[dict[str, Any]] = [{"Variable": "$.resume", "IsPresent": False, "Next": first}]
    choices += [{"Variable": "$.resume", "StringEquals": t, "Next": t} for t in targets]
    return {"Type": "Choice", "Choices": choices, "Default": first}


def _undo_from(saga: Saga, index: int) -> str:
    """The first compensation to run when step ``index`` fails: the latest completed step's."""
    for step in reversed(saga.steps[:index]):
        if step.compensation is not None:
            return step.compensation
    return saga.failed_state


def _forward(saga: Saga, index: int) -> dict[str, Any]:
    step = saga.steps[index]
    last = index == len(saga.steps) - 1
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": step.resource,
        "ResultPath": f"$.results.{step.name}",
    }
    if step.timeout_seconds is not None:
        state["TimeoutSeconds"] = step.timeout_seconds
    if step.retry:
        state["Retry"] = [policy.to_asl() for policy in step.retry]
    catches: list[dict[str, Any]] = []
    parked = step.parked_errors()
    if parked and saga.dead_letter is not None:
        catches.append(_catch(parked, _dead_letter_name(saga, step.name)))
    if ALL not in parked or saga.dead_letter is None:
        catches.append(_catch([ALL], _undo_from(saga, index)))
    state["Catch"] = catches
    state["Next"] = saga.succeeded_state if last else saga.steps[index + 1].name
    return state


def _compensation(saga: Saga, index: int) -> dict[str, Any]:
    step: SagaStep = saga.steps[index]
    assert step.compensation_resource is not None
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": step.compensation_resource,
        "ResultPath": f"$.compensations.{step.compensation}",
    }
    if step.compensation_retry:
        state["Retry"] = [policy.to_asl() for policy in step.compensation_retry]
    if saga.dead_letter is not None:
        assert step.compensation is not None
        state["Catch"] = [_catch([ALL], _dead_letter_name(saga, step.compensation))]
    state["Next"] = _undo_from(saga, index)
    return state


def _catch(errors: list[str], target: str) -> dict[str, Any]:
    return {"ErrorEquals": errors, "ResultPath": "$.error", "Next": target}


def _dead_letter_name(saga: Saga, step: str) -> str:
    assert saga.dead_letter is not None
    return f"{step}{saga.dead_letter.state_suffix}"


def _add_dead_letter(saga: Saga, states: dict[str, Any], step: str, needed: bool) -> None:
    letter = saga.dead_letter
    if letter is None or not needed:
        return
    states[_dead_letter_name(saga, step)] = {
        "Type": "Task",
        "Resource": letter.resource,
        "Parameters": {
            "queue": f"{step}-dlq",
            "step": step,
            "execution.$": "$$.Execution.Id",
            "error.$": "$.error",
            "document.$": "$",
        },
        "ResultPath": None,
        "Retry": [letter.retry.to_asl()],
        "Next": saga.review_state,
    }
