"""Map Run records: what DescribeMapRun reports about a Distributed Map's runs.

The history AWS records (MapRunStarted, MapRunSucceeded, MapRunFailed) carries no counts or
settings, and the Map frame's progress is forgotten once the state moves on, so each run's
settings and final counts are kept in ``ExecutionState.map_runs`` under its ARN. A record is
replaced, never changed in place: ``ExecutionState.clone`` copies the mapping, not the
records.
"""

from __future__ import annotations

from typing import Any

from sagaway.interpreter.execution import CHILDREN, DONE, ExecutionState, Frame
from sagaway.interpreter.run import Run

ARN = "map_run_arn"  # the Map frame's data key naming its current run
ABORTED_ERROR = "States.Aborted"  # the failure abort_frame leaves on an aborted child


def started(run: Run, frame: Frame, arn: str, batched: bool) -> None:
    data = frame.data
    data[ARN] = arn
    run.state.map_runs[arn] = {
        "frame": frame.id,
        "batched": batched,
        "max_concurrency": data["concurrency"],
        "tolerated_count": data["tolerated_count"],
        "tolerated_percentage": data["tolerated_percentage"],
        "counts": None,
    }


def ended(run: Run, frame: Frame) -> None:
    """Keep the run's final counts (call before its children are aborted or discarded)."""
    arn = frame.data.get(ARN)
    record = run.state.map_runs.get(arn or "")
    if arn is None or record is None:
        return
    counts = progress(run.state, frame, record["batched"], ended=True)
    run.state.map_runs[arn] = {**record, "counts": counts}


def updated(state: ExecutionState, arn: str, changes: dict[str, Any]) -> Frame | None:
    """Apply UpdateMapRun's ``changes`` (record keys) to the run and, while it runs, to its
    Map frame; returns that frame (None when the run is not running)."""
    record = state.map_runs[arn]
    state.map_runs[arn] = {**record, **changes}
    frame = running_frame(state, arn)
    if frame is not None:
        key = {"max_concurrency": "concurrency"}
        frame.data.update({key.get(name, name): value for name, value in changes.items()})
    return frame


def running_frame(state: ExecutionState, arn: str) -> Frame | None:
    frame = map_frame(state, arn)
    return frame if frame is not None and frame.phase == CHILDREN else None


def map_frame(state: ExecutionState, arn: str) -> Frame | None:
    """The Map frame of a run that has not recorded its end (running, or aborted with the
    execution and not moved on since)."""
    record = state.map_runs.get(arn)
    if record is None or record["counts"] is not None:
        return None
    frame = state.frames.get(record["frame"])
    if frame is None or frame.data.get(ARN) != arn:
        return None
    return frame


def progress(
    state: ExecutionState, frame: Frame, batched: bool, *, ended: bool = False
) -> dict[str, dict[str, int]]:
    """Item and child-execution counts from the Map frame's data and its child frames.

    Each item (or batch) is one child execution: succeeded per the frame's flags, running
    while its child frame has not finished (aborted once the run has ended), failed when it
    was started and is neither, pending when not started (a failed run leaves some so)."""
    data = frame.data
    items: list[Any] = data["items"]
    succeeded: list[bool] = data["succeeded"]
    children = [f for f in state.frames.values() if f.parent == frame.id]
    running = {f.index for f in children if f.phase != DONE}
    aborted = {f.index for f in children if f.failure == (ABORTED_ERROR, None)}
    statuses = []
    for index in range(len(items)):
        if succeeded[index]:
            statuses.append("succeeded")
        elif index in running:
            statuses.append("aborted" if ended else "running")
        elif index in aborted:
            statuses.append("aborted")
        elif index < data["next"]:
            statuses.append("failed")
        else:  # never started, even once the run has ended
            statuses.append("pending")
    weights = [len(item["Items"]) if batched else 1 for item in items]
    return {
        "executions": _tally(statuses, [1] * len(items)),
        "items": _tally(statuses, weights),
    }


def _tally(statuses: list[str], weights: list[int]) -> dict[str, int]:
    counts = dict.fromkeys(("pending", "running", "succeeded", "failed", "aborted"), 0)
    for status, weight in zip(statuses, weights, strict=True):
        counts[status] += weight
    return {**counts, "timedOut": 0, "total": sum(weights), "resultsWritten": 0}
