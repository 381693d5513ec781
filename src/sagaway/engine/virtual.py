"""Run one execution to its end in memory on a virtual clock.

Waits, retry intervals and timeouts cost no real time: the clock jumps to the next due
timer. Used by ``sagaway conformance``, the test kit and quick ``sagaway run`` calls; the
durable engine drives the same interpreter with a journal and a real clock.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sagaway.asl.model import Machine
from sagaway.interpreter import (
    CancelTask,
    InvokeTask,
    Start,
    StartTimer,
    Step,
    TaskTimedOut,
    TimerFired,
    advance,
    new_execution,
)
from sagaway.interpreter.execution import RUNNING, ExecutionState
from sagaway.interpreter.messages import Event

# An invoker answers a Task: the event to feed back and how long the call took (seconds).
Invoker = Callable[[InvokeTask], tuple[Event, float]]


@dataclass(slots=True)
class Outcome:
    status: str
    output: Any = None
    error: str | None = None
    cause: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    state: ExecutionState | None = None


@dataclass(slots=True)
class _Agenda:
    """Events due at virtual times; ties keep their order of arrival."""

    heap: list[tuple[float, int, Event]] = field(default_factory=list)
    seq: int = 0

    def push(self, when: float, event: Event) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (when, self.seq, event))

    def pop(self) -> tuple[float, Event]:
        when, _, event = heapq.heappop(self.heap)
        return when, event


def run_virtual(
    machine: Machine,
    value: Any,
    invoker: Invoker,
    *,
    start_time: float,
    execution_arn: str,
    state_machine_arn: str,
    role_arn: str = "arn:aws:iam::111111111111:role/sagaway",
    execution_name: str | None = None,
    express: bool = False,
    max_steps: int = 1_000_000,
    on_time: Callable[[float], None] | None = None,
) -> Outcome:
    """Drive ``machine`` on ``value`` until it ends (or the agenda runs dry).

    ``on_time`` is told the virtual time before each step, so a test kit's clock can follow
    it (handlers then read the time their call happens at).
    """
    state = new_execution(
        execution_arn=execution_arn,
        name=execution_name or execution_arn.rsplit(":", 1)[-1],
        state_machine_arn=state_machine_arn,
        state_machine_name=state_machine_arn.rsplit(":", 1)[-1],
        role_arn=role_arn,
        express=express,
    )
    agenda = _Agenda()
    history: list[dict[str, Any]] = []
    now = start_time
    if on_time is not None:
        on_time(now)
    step = advance(machine, state, Start(value), now)
    for _ in range(max_steps):
        history.extend(step.history)
        _schedule(step, agenda, invoker, now)
        if step.state.status != RUNNING or not agenda.heap:
            break
        now, event = agenda.pop()
        if on_time is not None:
            on_time(now)
        step = advance(machine, step.state, event, now)
    final = step.state
    return Outcome(final.status, final.output, final.error, final.cause, history, final)


def _schedule(step: Step, agenda: _Agenda, invoker: Invoker, now: float) -> None:
    for command in step.commands:
        if isinstance(command, StartTimer):
            agenda.push(max(command.fire_at, now), TimerFired(command.token))
        elif isinstance(command, InvokeTask):
            event, duration = invoker(command)
            timeout = command.timeout_seconds
            if timeout is not None and duration > timeout:
                agenda.push(now + timeout, TaskTimedOut(command.token))
            else:
                agenda.push(now + duration, event)
        elif isinstance(command, CancelTask):
            pass  # the interpreter already forgot the token; a late answer is ignored
