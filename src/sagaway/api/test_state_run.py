"""TestState's run: drive the pure interpreter through one state and classify the outcome.

Tasks of the tested state are answered by the mock (``result`` or ``errorOutput``) or, for
a Lambda resource without a mock, by the registered handler. Timers fire at once (a Wait
or a nested retry costs no time), except the tested state's own retry: AWS stops there and
answers RETRIABLE with the retrier it would use and the interval it would wait.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sagaway.api.test_state_machine import INIT, TestedState
from sagaway.asl.model import Machine, State
from sagaway.interpreter import (
    InvokeTask,
    Start,
    StartTimer,
    Step,
    TaskFailed,
    TimerFired,
    advance,
    new_execution,
)
from sagaway.interpreter.execution import RUNNING, ExecutionState
from sagaway.interpreter.failures import matches, pick_retrier
from sagaway.interpreter.messages import Event
from sagaway.interpreter.run import WHOLE_CONTEXT

Answer = Callable[[InvokeTask], Event]
ROOT = "root@"
MAX_STEPS = 100_000


@dataclass(slots=True)
class Setup:
    """What the request puts around the state: identity, variables, a context object."""

    role_arn: str | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)
    context: Mapping[str, Any] | None = None


@dataclass(slots=True)
class Outcome:
    status: str
    output: Any = None
    has_output: bool = False
    error: str | None = None
    cause: str | None = None
    next_state: str | None = None
    error_details: dict[str, Any] | None = None
    entered: ExecutionState | None = None  # the execution as the tested state was entered
    history: list[dict[str, Any]] = field(default_factory=list)


def run_state(
    machine: Machine, tested: TestedState, value: Any, answer: Answer, setup: Setup, now: float
) -> Outcome:
    # AWS runs the state as an EXPRESS execution of a throwaway machine, both named afresh.
    name, machine_name = uuid.uuid4().hex, uuid.uuid4().hex
    prefix = "arn:aws:states:us-east-1:111111111111"
    state = new_execution(
        execution_arn=f"{prefix}:express:{machine_name}:{name}",
        name=name,
        state_machine_arn=f"{prefix}:stateMachine:{machine_name}",
        state_machine_name=machine_name,
        express=True,
    )
    state.execution["RoleArn"] = setup.role_arn
    step = advance(machine, state, Start(value), now)
    history = list(step.history)
    entered = _install(step.state, setup)
    step = _drive(machine, entered, answer, history, now)
    return _classify(machine, tested, step, history, entered, now)


def _install(state: ExecutionState, setup: Setup) -> ExecutionState:
    """During the Init pause: the request's variables and context become the root's. A given
    context is the whole ``$$``: AWS shows exactly what was given, ``{}`` included."""
    state = state.clone()
    root = state.root
    root.variables.update(setup.variables)
    if setup.context is not None:
        root.context_extra[WHOLE_CONTEXT] = dict(setup.context)
    return state


def _drive(
    machine: Machine,
    state: ExecutionState,
    answer: Answer,
    history: list[dict[str, Any]],
    now: float,
) -> Step:
    """Fire the Init timer, then answer every command until the run ends or the tested
    state schedules a retry (left pending in the returned step)."""
    (init_token,) = state.timers
    events: deque[Event] = deque([TimerFired(init_token)])
    step = Step(state, [], [])
    for _ in range(MAX_STEPS):
        if not events:
            break
        step = advance(machine, step.state, events.popleft(), now)
        history.extend(step.history)
        if step.state.status != RUNNING:
            break
        for command in step.commands:
            if isinstance(command, InvokeTask):
                events.append(answer(command))
            elif isinstance(command, StartTimer):
                if command.token.startswith(ROOT) and ".retry" in command.token:
                    return step
                events.append(TimerFired(command.token))
    return step


def _classify(
    machine: Machine,
    tested: TestedState,
    step: Step,
    history: list[dict[str, Any]],
    entered: ExecutionState,
    now: float,
) -> Outcome:
    state = step.state
    model = machine.state("", tested.name)
    error, cause = _last_failure(history)
    if state.status == RUNNING:
        timer = next(c for c in step.commands if isinstance(c, StartTimer))
        details: dict[str, Any] = {"retryIndex": _index(model, error, retry=True)}
        details["retryBackoffIntervalSeconds"] = _number(timer.fire_at - now)
        return Outcome("RETRIABLE", None, False, error, cause, None, details, entered, history)
    if state.status != "SUCCEEDED":
        failed = Outcome(
            "FAILED", None, False, state.error, state.cause, entered=entered, history=history
        )
        # A retrier that matched but has no attempts left is still named (no backoff).
        retrier = None if error is None else pick_retrier(model.retry, error)
        if retrier is not None:
            failed.error_details = {"retryIndex": retrier}
        return failed
    next_state = _next_state(history, tested)
    outcome = Outcome("SUCCEEDED", state.output, True, next_state=next_state, entered=entered)
    outcome.history = history
    if error is not None and next_state in {c.next for c in model.catch}:
        outcome.status, outcome.error, outcome.cause = "CAUGHT_ERROR", error, cause
        outcome.error_details = {"catchIndex": _index(model, error, retry=False)}
    return outcome


def _last_failure(history: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    for event in reversed(history):
        if event["type"] == "ExecutionFailed":
            continue
        for key, details in event.items():
            if key.endswith("EventDetails") and isinstance(details, dict) and "error" in details:
                return details.get("error"), details.get("cause")
    return None, None


def _index(model: State, error: str | None, *, retry: bool) -> int:
    names = (
        [h.error_equals for h in model.retry] if retry else [h.error_equals for h in model.catch]
    )
    for i, error_equals in enumerate(names):
        if error is not None and matches(error_equals, error):
            return i
    return 0


def _next_state(history: list[dict[str, Any]], tested: TestedState) -> str | None:
    for event in history:
        details = event.get("stateEnteredEventDetails") or {}
        name = details.get("name")
        if name not in (INIT, tested.name) and name in tested.targets:
            return str(name)
    return None


def _number(seconds: float) -> int:
    # InspectionErrorDetails.retryBackoffIntervalSeconds is an Integer.
    return int(seconds)


def failed(command: InvokeTask, error: str, cause: str) -> TaskFailed:
    return TaskFailed(command.token, error, cause)
