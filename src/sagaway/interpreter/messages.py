"""What flows into and out of :func:`advance`: events from the world, commands to it.

Events are facts the engine observed (a Task returned, a timer fired); commands are work the
interpreter asks the engine to do. Both are plain frozen data so the engine can journal them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Start:
    """Start the execution with ``input`` (already decoded JSON)."""

    input: Any


@dataclass(frozen=True, slots=True)
class TaskSucceeded:
    token: str
    output: Any


@dataclass(frozen=True, slots=True)
class TaskFailed:
    token: str
    error: str | None  # None: SendTaskFailure without an error name
    cause: str | None = None


@dataclass(frozen=True, slots=True)
class TaskTimedOut:
    """The engine saw a Task exceed TimeoutSeconds or miss a heartbeat."""

    token: str
    error: str = "States.Timeout"
    cause: str | None = None


@dataclass(frozen=True, slots=True)
class TimerFired:
    token: str


@dataclass(frozen=True, slots=True)
class Stop:
    """StopExecution: abort everything still running."""

    error: str | None = None
    cause: str | None = None


@dataclass(frozen=True, slots=True)
class Fault:
    """The engine could not carry out or record a step (a value it cannot store, an
    unexpected error): the execution fails with ``error`` instead of staying RUNNING."""

    error: str
    cause: str


Event = Start | TaskSucceeded | TaskFailed | TaskTimedOut | TimerFired | Stop | Fault


@dataclass(frozen=True, slots=True)
class InvokeTask:
    """Call the Task's resource. ``token`` identifies this attempt; it is also the stable
    idempotency key (execution-relative: frame, entered count and attempt)."""

    token: str
    state_name: str
    resource: str
    payload: Any
    timeout_seconds: float | None = None
    heartbeat_seconds: float | None = None
    context: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StartTimer:
    token: str
    fire_at: float  # epoch seconds


@dataclass(frozen=True, slots=True)
class CancelTask:
    token: str


Command = InvokeTask | StartTimer | CancelTask
