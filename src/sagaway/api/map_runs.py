"""Map Run actions: DescribeMapRun, ListMapRuns, UpdateMapRun.

A Map Run is a Distributed Map's run inside its parent execution (no separate record). Its
dates and status come from the parent's history (MapRunStarted, MapRunSucceeded,
MapRunFailed); its settings and counts from the parent's state: the Map frame's progress
while it runs, the counts kept when it ended (``sagaway.interpreter.map_runs``).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

from sagaway.api.errors import (
    ApiError,
    invalid_arn,
    resource_missing,
    validation,
)
from sagaway.api.service import Api, page
from sagaway.engine import arns
from sagaway.engine.notes import MapRunUpdate
from sagaway.interpreter import map_runs
from sagaway.interpreter.codec import load_state
from sagaway.interpreter.execution import ExecutionState
from sagaway.store.ports import ExecutionRecord

# mapRun:<machine>[:<version>]/<label>:<execution name>-<MapRunStarted's state entry id>
_MAP_RUN_ARN = re.compile(
    r"^arn:aws:states:[a-z0-9-]*:\d{12}:mapRun:([^/:]+)(?::[^/]*)?/.+:([^:]+)-\d+$"
)
_ENDS = {"MapRunSucceeded": "SUCCEEDED", "MapRunFailed": "FAILED"}
_NO_COUNTS: dict[str, dict[str, int]] = {"executions": {}, "items": {}}
_ZERO = dict.fromkeys(
    ("pending", "running", "succeeded", "failed", "timedOut", "aborted", "total"), 0
)
_SETTINGS = {
    "maxConcurrency": "max_concurrency",
    "toleratedFailureCount": "tolerated_count",
    "toleratedFailurePercentage": "tolerated_percentage",
}
_APPLY_WAIT = 2.0  # seconds UpdateMapRun waits for the execution's actor to take the change


@dataclass(slots=True)
class MapRun:
    arn: str
    start_date: float
    status: str = "RUNNING"
    stop_date: float | None = None


class MapRunValidation(ApiError):
    """ValidationException with AWS's ``reason`` member."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__("ValidationException", message)
        self.reason = reason

    def body(self) -> dict[str, str]:
        return {**super().body(), "reason": self.reason}


def _execution_arn(map_run_arn: str) -> str:
    match = _MAP_RUN_ARN.match(map_run_arn)
    if match is None:
        raise invalid_arn(map_run_arn)
    return arns.execution(match.group(1), match.group(2))


def _runs(api: Api, record: ExecutionRecord) -> dict[str, MapRun]:
    """The execution's Map Runs by ARN, in the order they started (a Retry or redrive of the
    Map starts its run again under the same ARN: the latest start counts)."""
    events = api.engine.journal.history(record.arn)
    by_id = {event["id"]: event for event in events}
    runs: dict[str, MapRun] = {}
    for event in events:
        if event["type"] == "MapRunStarted":
            arn = event["mapRunStartedEventDetails"]["mapRunArn"]
            runs[arn] = MapRun(arn, event["timestamp"])
        elif event["type"] in _ENDS:
            run = runs.get(_started_arn(event, by_id))
            if run is not None:
                run.status, run.stop_date = _ENDS[event["type"]], event["timestamp"]
    if record.status != "RUNNING":  # runs still open when the execution ended were aborted
        for run in runs.values():
            if run.status == "RUNNING":
                run.status, run.stop_date = "ABORTED", record.stop_date
    return runs


def _started_arn(event: dict[str, Any], by_id: dict[int, dict[str, Any]]) -> str:
    # The Map's own events chain by previousEventId (its iterations record none here).
    current: dict[str, Any] | None = event
    for _ in range(len(by_id)):
        if current is None or current["type"] == "MapRunStarted":
            break
        current = by_id.get(current["previousEventId"])
    if current is None or current["type"] != "MapRunStarted":
        return ""
    return str(current["mapRunStartedEventDetails"]["mapRunArn"])


def _state(api: Api, record: ExecutionRecord) -> ExecutionState | None:
    actor = api.engine.actors.get(record.arn)
    if actor is not None:  # newer than the journal's snapshot by the commit in flight
        return actor.state
    return load_state(record.state) if record.state else None


def _find(api: Api, map_run_arn: str) -> tuple[ExecutionRecord, MapRun]:
    execution_arn = _execution_arn(map_run_arn)
    record = api.engine.journal.get_execution(execution_arn)
    run = None if record is None else _runs(api, record).get(map_run_arn)
    if record is None or run is None:
        raise resource_missing(map_run_arn)
    return record, run


def _counts(state: ExecutionState | None, arn: str) -> dict[str, dict[str, int]]:
    if state is None:
        return _NO_COUNTS
    frame = map_runs.map_frame(state, arn)
    record = state.map_runs.get(arn, {})
    if frame is not None:
        return map_runs.progress(state, frame, record["batched"])
    counts: dict[str, dict[str, int]] = record.get("counts") or _NO_COUNTS
    return counts


def _settings(state: ExecutionState | None, arn: str) -> dict[str, Any]:
    record = {} if state is None else state.map_runs.get(arn, {})
    return {
        "maxConcurrency": record.get("max_concurrency") or 0,
        "toleratedFailurePercentage": float(record.get("tolerated_percentage") or 0),
        "toleratedFailureCount": record.get("tolerated_count") or 0,
    }


async def describe_map_run(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    record, run = await asyncio.to_thread(_find, api, params["mapRunArn"])
    state = _state(api, record)
    counts = _counts(state, run.arn)
    out: dict[str, Any] = {
        "mapRunArn": run.arn,
        "executionArn": record.arn,
        "status": run.status,
        "startDate": run.start_date,
        **_settings(state, run.arn),
        "itemCounts": {**_ZERO, "resultsWritten": 0, **counts["items"]},
        "executionCounts": {**_ZERO, "resultsWritten": 0, **counts["executions"]},
        "redriveCount": 0,
    }
    if run.stop_date is not None:
        out["stopDate"] = run.stop_date
    return out


async def list_map_runs(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    record = await api.execution(params["executionArn"])
    runs = await asyncio.to_thread(_runs, api, record)
    items = [_list_item(record, run) for run in runs.values()]
    return page(items, params, "mapRuns")


def _list_item(record: ExecutionRecord, run: MapRun) -> dict[str, Any]:
    # The Map Run's own state machine: <parent machine>/<label>.
    machine = run.arn.replace(":mapRun:", ":stateMachine:", 1).rpartition(":")[0]
    item = {
        "executionArn": record.arn,
        "mapRunArn": run.arn,
        "stateMachineArn": machine,
        "startDate": run.start_date,
    }
    if run.stop_date is not None:
        item["stopDate"] = run.stop_date
    return item


async def update_map_run(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    _execution_arn(params["mapRunArn"])  # InvalidArn before any other complaint
    changes = _changes(params)
    record, run = await asyncio.to_thread(_find, api, params["mapRunArn"])
    actor = api.engine.actors.get(record.arn)
    if run.status != "RUNNING" or record.status != "RUNNING":
        raise MapRunValidation(
            "Map Run is not running: it cannot be updated", "CANNOT_UPDATE_COMPLETED_MAP_RUN"
        )
    if actor is None:  # a cluster member that does not run the execution cannot change it
        raise validation("The Map Run's execution is running on another Sagaway server")
    update = MapRunUpdate(run.arn, changes)
    api.engine.post_note(record.arn, update)
    await _applied(actor.inbox, update)
    return {}


def _changes(params: dict[str, Any]) -> dict[str, Any]:
    changes = {key: params[name] for name, key in _SETTINGS.items() if name in params}
    if not changes:
        raise MapRunValidation(
            "At least one of maxConcurrency, toleratedFailurePercentage or "
            "toleratedFailureCount must be provided",
            "MISSING_REQUIRED_PARAMETER",
        )
    percentage = params.get("toleratedFailurePercentage")
    if percentage is not None and percentage > 100:  # the model check covers integers only
        raise validation(
            f"1 validation error detected: Value '{float(percentage)}' at "
            "'toleratedFailurePercentage' failed to satisfy constraint: "
            "Member must have value less than or equal to 100"
        )
    if percentage is not None:
        changes["tolerated_percentage"] = float(percentage)
    return changes


async def _applied(inbox: Any, update: MapRunUpdate) -> None:
    """Answer once the actor has taken the change, so a DescribeMapRun that follows sees it
    (the actor applies its inbox on the next loop turn, or after a commit in flight)."""
    deadline = asyncio.get_running_loop().time() + _APPLY_WAIT
    while any(item is update for item in inbox):
        if asyncio.get_running_loop().time() > deadline:
            return
        await asyncio.sleep(0.005)


ACTIONS = {
    "DescribeMapRun": describe_map_run,
    "ListMapRuns": list_map_runs,
    "UpdateMapRun": update_map_run,
}
