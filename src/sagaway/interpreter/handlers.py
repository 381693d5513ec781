"""Dispatch from a state's ``Type`` to the module that gives it meaning (one module a type)."""

from __future__ import annotations

from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sagaway.asl.model import State
    from sagaway.interpreter.execution import Frame
    from sagaway.interpreter.failures import Failure
    from sagaway.interpreter.run import Run


@cache
def _module(state_type: str) -> ModuleType:
    # Imported here, not at the top: the state modules import the lifecycle, which imports
    # this module. Cached, so the import machinery runs once per type.
    from sagaway.interpreter.states import (
        choice,
        fail,
        map_state,
        parallel,
        pass_state,
        succeed,
        task,
        wait,
    )

    return {
        "Pass": pass_state,
        "Task": task,
        "Choice": choice,
        "Wait": wait,
        "Succeed": succeed,
        "Fail": fail,
        "Parallel": parallel,
        "Map": map_state,
    }[state_type]


def enter(run: Run, frame: Frame, state: State) -> None:
    _module(state.type).enter(run, frame, state)


def on_timer(run: Run, frame: Frame, state: State) -> None:
    if frame.data.pop("retrying", False):
        _module(state.type).execute(run, frame, state)
    else:
        _module(state.type).on_timer(run, frame, state)


def on_task(run: Run, frame: Frame, state: State, event: Any) -> None:
    _module(state.type).on_task(run, frame, state, event)


def on_child_done(run: Run, frame: Frame, state: State, child: Frame) -> None:
    _module(state.type).on_child_done(run, frame, state, child)


def on_failure(run: Run, frame: Frame, state: State, failure: Failure, caught: bool) -> None:
    """Emit the type's own "state failed" event, if it has one, once no retry is left."""
    hook = getattr(_module(state.type), "on_failure", None)
    if hook is not None:
        hook(run, frame, state, failure, caught)
