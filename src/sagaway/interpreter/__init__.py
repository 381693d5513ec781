"""The pure ASL interpreter: ``advance(machine, state, event, now) -> Step``."""

from sagaway.interpreter.advance import Step, advance
from sagaway.interpreter.execution import ExecutionState, new_execution
from sagaway.interpreter.messages import (
    CancelTask,
    InvokeTask,
    Start,
    StartTimer,
    Stop,
    TaskFailed,
    TaskSucceeded,
    TaskTimedOut,
    TimerFired,
)

__all__ = [
    "CancelTask",
    "ExecutionState",
    "InvokeTask",
    "Start",
    "StartTimer",
    "Step",
    "Stop",
    "TaskFailed",
    "TaskSucceeded",
    "TaskTimedOut",
    "TimerFired",
    "advance",
    "new_execution",
]
