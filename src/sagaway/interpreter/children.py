"""Child frames of Parallel and Map: starting them and aborting the ones still running."""

from __future__ import annotations

from typing import Any

from sagaway.interpreter.execution import DONE, TASK, Frame
from sagaway.interpreter.messages import CancelTask
from sagaway.interpreter.run import Run


def spawn(
    run: Run,
    parent: Frame,
    program: str,
    index: int,
    value: Any,
    *,
    context_extra: dict[str, Any] | None = None,
    quiet: bool = False,
) -> Frame:
    """Create and schedule a child frame running ``program`` from its StartAt on ``value``."""
    fid = f"{parent.id}/{parent.entered_count}.{parent.retry_count}.{index}"
    child = Frame(
        id=fid,
        program=program,
        parent=parent.id,
        index=index,
        state=run.machine.programs[program].start_at,
        input=value,
        last_id=parent.last_id,
        context_extra=context_extra or {},
        quiet=quiet or parent.quiet,
    )
    run.state.frames[fid] = child
    run.schedule(child)
    return child


def children_of(run: Run, parent: Frame) -> list[Frame]:
    return [f for f in run.state.frames.values() if f.parent == parent.id]


def abort_children(run: Run, parent: Frame, iteration_event: str | None = None) -> None:
    """Stop every running child (and their children), with AWS's *Aborted events."""
    for child in children_of(run, parent):
        if child.phase == DONE:
            continue
        abort_frame(run, child)
        if iteration_event is not None:
            name = run.current(parent).name
            run.emit(parent, iteration_event, {"index": child.index, "name": name})


def abort_frame(run: Run, frame: Frame) -> None:
    abort_children(run, frame)
    state = run.current(frame)
    if frame.phase == TASK and frame.token is not None:
        run.commands.append(CancelTask(frame.token))
        run.emit(frame, f"{state.type}StateAborted")
    elif state.type in ("Map", "Parallel") and frame.phase != DONE:
        run.emit(frame, f"{state.type}StateAborted")
    if frame.token is not None:
        run.state.tokens.pop(frame.token, None)
        run.state.timers.pop(frame.token, None)
    frame.phase = DONE
    frame.failure = ("States.Aborted", None)
    if frame.id in run.ready:
        run.ready.remove(frame.id)


def discard(run: Run, parent: Frame) -> None:
    """Forget finished children (their results were copied into the parent)."""
    for child in children_of(run, parent):
        run.state.frames.pop(child.id, None)
        discard(run, child)
