"""What a Parallel or Map keeps of its children for RedriveExecution.

AWS redrives only the branches and iterations that failed or were aborted. So a Parallel or
Map records which children succeeded (``succeeded``, one flag per index, beside
``results``), and when it fails it sets aside the children that did not succeed, with all
the frames below them, in its own data before they are discarded. They are plain data, as
everything in the state is (house rule 2): the failure path pays for it, a run that succeeds
does not.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from sagaway.interpreter.children import children_of
from sagaway.interpreter.execution import Frame
from sagaway.interpreter.run import Run

UNFINISHED = "unfinished"  # frame.data key: the set-aside frames, as dicts
_FIELDS = tuple(f.name for f in fields(Frame))


def set_aside(run: Run, parent: Frame) -> None:
    """Keep the children of ``parent`` that did not succeed, and every frame below them.

    Called before they are aborted, so a frame records the phase it was in: one that was
    only READY for its next state has not entered it, and its data is not that state's."""
    succeeded: list[bool] = parent.data["succeeded"]
    kept: list[dict[str, Any]] = []
    for child in children_of(run, parent):
        if not succeeded[child.index]:
            _collect(run, child, kept)
    parent.data[UNFINISHED] = kept


def _collect(run: Run, frame: Frame, into: list[dict[str, Any]]) -> None:
    into.append({name: getattr(frame, name) for name in _FIELDS})
    for child in children_of(run, frame):
        _collect(run, child, into)


def restore(run: Run, parent: Frame) -> None:
    """Make the frames set aside when ``parent`` failed frames of the execution again."""
    for body in parent.data.pop(UNFINISHED, ()):
        failure = body["failure"]
        frame = Frame(**{**body, "failure": None if failure is None else tuple(failure)})
        run.state.frames[frame.id] = frame.clone()  # its own containers, not the stash's


@dataclass(slots=True)
class Kept:
    """A redriven Parallel's or Map's children from before that did not succeed (by index),
    and the queue of those taken up again: the redrive continues each where it ended."""

    children: dict[int, Frame]
    resumed: list[Frame]

    def take(self, parent: Frame, index: int) -> bool:
        """Continue the kept child ``index`` instead of starting it over, if there is one."""
        child = self.children.pop(index, None)
        if child is None:
            return False
        child.last_id = parent.last_id  # its next event follows the parent's, as spawn's do
        self.resumed.append(child)
        return True
