"""Map: runs its ItemProcessor once per item (INLINE iterations or DISTRIBUTED child runs),
at most MaxConcurrency at a time; the result is the list of iteration outputs in order."""

from __future__ import annotations

from typing import Any

from sagaway.asl.model import MapSpec, State
from sagaway.expressions.errors import StatesError
from sagaway.expressions.exprs import evaluate
from sagaway.interpreter import map_runs
from sagaway.interpreter.children import abort_children, children_of, discard, spawn
from sagaway.interpreter.dataflow import states_var
from sagaway.interpreter.execution import CHILDREN, Frame
from sagaway.interpreter.failures import Failure
from sagaway.interpreter.kept import UNFINISHED, Kept, set_aside
from sagaway.interpreter.lifecycle import evaluation_failure, fail_state, succeed_state
from sagaway.interpreter.map_config import batches, integer_setting, map_items, tolerance
from sagaway.interpreter.run import Run

DISTRIBUTED = "DISTRIBUTED"
THRESHOLD = "States.ExceedToleratedFailureThreshold"


def enter(run: Run, frame: Frame, state: State) -> None:
    spec: MapSpec = state.spec
    items, selector_input = map_items(run, frame, state)
    items = batches(run, frame, state, items)
    concurrency = integer_setting(
        run, frame, state, spec.max_concurrency, spec.max_concurrency_path, "MaxConcurrency"
    )
    frame.data.update(
        # A tuple: never changed in place, so cloning the state shares it instead of copying
        # every item on every step (lists in ``data`` are copied).
        items=tuple(items),
        selector_input=selector_input,
        concurrency=concurrency or 0,
    )
    execute(run, frame, state)


def execute(run: Run, frame: Frame, state: State) -> None:
    """Start (or, on Retry, restart) the iterations."""
    items: list[Any] = frame.data["items"]
    run.emit(frame, "MapStateStarted", {"length": len(items)})
    count, percentage = tolerance(run, frame, state)
    frame.data.update(
        tolerated_count=count,
        tolerated_percentage=percentage,
        next=0,
        running=0,
        failed=0,
        done=0,
        results=[None] * len(items),
        succeeded=[False] * len(items),
    )
    frame.data.pop(UNFINISHED, None)  # a Retry starts every iteration over
    if _distributed(state):
        arn = _map_run_arn(run, frame, state)
        run.emit(frame, "MapRunStarted", {"mapRunArn": arn})
        map_runs.started(run, frame, arn, state.spec.item_batcher is not None)
    frame.phase = CHILDREN
    if not items:
        _complete(run, frame, state)
        return
    try:
        _launch(run, frame, state)
    except StatesError:
        _drop_unstarted(run, frame)
        raise


def _drop_unstarted(run: Run, frame: Frame) -> None:
    """ItemSelector failed while the first iterations were being spawned: those spawned
    before it never entered a state, and none may run once the Map has failed (a Catch
    moves on without them)."""
    for child in children_of(run, frame):
        if child.id in run.ready:
            run.ready.remove(child.id)
    discard(run, frame)


def launch_more(run: Run, frame: Frame, state: State) -> None:
    """UpdateMapRun raised MaxConcurrency: start the iterations the new limit allows."""
    try:
        _launch(run, frame, state)
    except StatesError as err:
        _fail(run, frame, state, evaluation_failure(run, frame, state, err), True)


def _launch(run: Run, frame: Frame, state: State, kept: Kept | None = None) -> None:
    data = frame.data
    items: list[Any] = data["items"]
    succeeded: list[bool] = data["succeeded"]
    limit = data["concurrency"] or len(items)
    cap = run.limits.inline_map_concurrency
    if cap is not None and not _distributed(state):
        limit = min(limit, cap)  # AWS: an inline Map runs at most 40 iterations at a time
    while data["next"] < len(items) and data["running"] < limit:
        index = data["next"]
        data["next"] += 1
        if succeeded[index]:
            continue  # before a redrive: its output is kept
        data["running"] += 1
        # Evaluated for a kept iteration too (it continues with its own input instead): an
        # ItemSelector error fails the Map at the same point as in the first run.
        item_input = _select(run, frame, state, index, items[index])
        if not _distributed(state):
            details = {"index": index, "name": state.name}
            run.emit(frame, "MapIterationStarted", details)
        if kept is None or not kept.take(frame, index):
            spawn(run, frame, state.spec.processor, index, item_input, quiet=_distributed(state))


def redrive(run: Run, frame: Frame, state: State, kept: Kept) -> None:
    """RedriveExecution of an inline Map: iterate again only over the items whose iteration
    did not succeed, as AWS does (the others' outputs are kept); an iteration in ``kept``
    continues where it ended."""
    data = frame.data
    succeeded: list[bool] = data["succeeded"]
    data.update(next=0, running=0, failed=0, done=succeeded.count(True))
    run.emit(frame, "MapStateStarted", {"length": len(data["items"])})
    frame.phase = CHILDREN
    if data["done"] == len(data["items"]):  # it failed after its iterations
        _complete(run, frame, state)
        return
    try:
        _launch(run, frame, state, kept)
    except StatesError as err:
        _fail(run, frame, state, evaluation_failure(run, frame, state, err), False)


def _select(run: Run, frame: Frame, state: State, index: int, item: Any) -> Any:
    selector = state.spec.item_selector
    if selector is None:
        return item
    extra = {"Map": {"Item": {"Index": index, "Value": item}}}
    scope = run.scope(frame, frame.data["selector_input"], extra)
    if selector.kind == "jsonata":
        states = states_var(run, frame, input=frame.input)
        states["context"] = scope.context
        return evaluate(selector, scope, "ItemSelector", states)
    return evaluate(selector, scope, "ItemSelector")


def on_child_done(run: Run, frame: Frame, state: State, child: Frame) -> None:
    data = frame.data
    data["running"] -= 1
    data["done"] += 1
    distributed = _distributed(state)
    outcome = "Failed" if child.failure is not None else "Succeeded"
    if not distributed:
        details = {"index": child.index, "name": state.name}
        run.emit(frame, f"MapIteration{outcome}", details, previous=child.last_id)
    if child.failure is not None:
        data["failed"] += 1
        if not distributed or _over_tolerance(data):
            _fail(run, frame, state, Failure(*child.failure), distributed)
            return
    else:
        data["results"][child.index] = child.output
        data["succeeded"][child.index] = True
    run.state.frames.pop(child.id, None)
    if data["done"] == len(data["items"]):
        _complete(run, frame, state)
        return
    try:
        _launch(run, frame, state)
    except StatesError as err:
        _fail(run, frame, state, evaluation_failure(run, frame, state, err), distributed)


def _over_tolerance(data: dict[str, Any]) -> bool:
    count, percentage = data["tolerated_count"], data["tolerated_percentage"]
    if count is None and percentage is None:
        return True
    if count is not None and data["failed"] > count:
        return percentage is None or 100 * data["failed"] / len(data["items"]) > percentage
    if percentage is not None and 100 * data["failed"] / len(data["items"]) > percentage:
        return count is None or data["failed"] > count
    return False


def _fail(run: Run, frame: Frame, state: State, failure: Failure, distributed: bool) -> None:
    if distributed:
        map_runs.ended(run, frame)
    else:  # a Distributed Map runs again as a whole on redrive
        set_aside(run, frame)
    abort_children(run, frame, None if distributed else "MapIterationAborted")
    discard(run, frame)
    if distributed:
        failure = Failure(THRESHOLD, "The specified tolerated failure threshold was exceeded")
        run.emit(frame, "MapRunFailed", {"error": failure.error, "cause": failure.cause})
    fail_state(run, frame, state, failure)


def _complete(run: Run, frame: Frame, state: State) -> None:
    if _distributed(state):
        map_runs.ended(run, frame)
        run.emit(frame, "MapRunSucceeded")
    run.emit(frame, "MapStateSucceeded")
    results: list[Any] = frame.data["results"]
    discard(run, frame)
    succeed_state(run, frame, state, results)


def on_failure(run: Run, frame: Frame, state: State, failure: Failure, caught: bool) -> None:
    run.emit(frame, "MapStateFailed")


def _distributed(state: State) -> bool:
    return bool(state.spec.mode == DISTRIBUTED)


def _map_run_arn(run: Run, frame: Frame, state: State) -> str:
    machine_arn: str = run.state.state_machine["Id"]
    label = state.spec.label or state.name
    run_id = f"{run.state.execution['Name']}-{frame.entered_id}"
    return machine_arn.replace(":stateMachine:", ":mapRun:") + f"/{label}:{run_id}"
