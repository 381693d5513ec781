"""Small helpers shared by the interpreter and engine tests: inline definitions in, Steps out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sagaway.asl.model import Machine
from sagaway.asl.parser import parse_definition
from sagaway.engine.virtual import Outcome, run_virtual
from sagaway.interpreter import (
    ExecutionState,
    InvokeTask,
    Start,
    StartTimer,
    Step,
    TaskFailed,
    TaskSucceeded,
    advance,
    new_execution,
)
from sagaway.interpreter.messages import Event

ACCOUNT = "123456789012"
SM_NAME = "Orders"
SM_ARN = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:{SM_NAME}"
EXEC_NAME = "order-42"
EXEC_ARN = f"arn:aws:states:us-east-1:{ACCOUNT}:execution:{SM_NAME}:{EXEC_NAME}"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/sagaway-test"
# 2023-11-14T22:13:20Z: a round epoch keeps expected timestamps easy to read.
T0 = 1_700_000_000.0
T0_ISO = "2023-11-14T22:13:20.000Z"
LAMBDA_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:charge"


def iso(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def machine(states: Mapping[str, Any], start_at: str | None = None, **top: Any) -> Machine:
    """A definition from its States (StartAt defaults to the first state)."""
    definition = {"StartAt": start_at or next(iter(states)), "States": dict(states), **top}
    return parse_definition(definition)


def fresh(seed: int = 0) -> ExecutionState:
    return new_execution(
        execution_arn=EXEC_ARN,
        name=EXEC_NAME,
        state_machine_arn=SM_ARN,
        state_machine_name=SM_NAME,
        role_arn=ROLE_ARN,
        seed=seed,
    )


def start(m: Machine, value: Any, now: float = T0, seed: int = 0) -> Step:
    return advance(m, fresh(seed), Start(value), now)


def invokes(step: Step) -> list[InvokeTask]:
    return [c for c in step.commands if isinstance(c, InvokeTask)]


def timers(step: Step) -> list[StartTimer]:
    return [c for c in step.commands if isinstance(c, StartTimer)]


def only_invoke(step: Step) -> InvokeTask:
    found = invokes(step)
    assert len(found) == 1, step.commands
    return found[0]


def succeed(m: Machine, step: Step, output: Any, now: float = T0) -> Step:
    """Answer the one outstanding InvokeTask of ``step`` with ``output``."""
    return advance(m, step.state, TaskSucceeded(only_invoke(step).token, output), now)


def fail(m: Machine, step: Step, error: str, cause: str | None = None, now: float = T0) -> Step:
    return advance(m, step.state, TaskFailed(only_invoke(step).token, error, cause), now)


def types(history: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in history]


def echo(command: InvokeTask) -> tuple[Event, float]:
    """An invoker whose task returns its payload at once."""
    return TaskSucceeded(command.token, command.payload), 0.0


def drive(
    m: Machine,
    value: Any,
    invoker: Callable[[InvokeTask], tuple[Event, float]] = echo,
    start_time: float = T0,
) -> Outcome:
    return run_virtual(
        m,
        value,
        invoker,
        start_time=start_time,
        execution_arn=EXEC_ARN,
        state_machine_arn=SM_ARN,
        role_arn=ROLE_ARN,
    )
