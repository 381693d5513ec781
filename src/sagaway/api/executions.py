"""Execution actions: StartExecution, StartSyncExecution, StopExecution, DescribeExecution,
ListExecutions, RedriveExecution."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from sagaway.api import versions
from sagaway.api.errors import ApiError, machine_missing
from sagaway.api.service import (
    EXECUTION,
    Api,
    check_name,
    decode_cursor,
    encode_cursor,
    machine_ref,
)
from sagaway.engine import redrive as redrive_module
from sagaway.engine.deliveries import STOP
from sagaway.engine.engine import ExecutionAlreadyExists, StateMachineDoesNotExist
from sagaway.expressions.jsontext import loads_document
from sagaway.interpreter.limits import HISTORY_FULL_REASON, history_was_full
from sagaway.observability.context import traceparent_to_xray, xray_to_traceparent
from sagaway.store.ports import ExecutionRecord, ExecutionSummary, ListCursor

ENDED_REDRIVABLE = redrive_module.REDRIVABLE


def _check_input(text: str) -> str:
    try:
        loads_document(text)
    except ValueError as exc:
        raise ApiError(
            "InvalidExecutionInput", f"Invalid State Machine Execution Input: '{exc}'"
        ) from exc
    return text


async def _start(api: Api, params: dict[str, Any]) -> ExecutionRecord:
    arn = params["stateMachineArn"]
    ref = machine_ref(arn)
    name = check_name(params["name"]) if params.get("name") is not None else None
    text = _check_input(params.get("input") or "{}")
    run_as, meta = await asyncio.to_thread(versions.resolve, api, arn)
    if run_as is None:
        await api.machine(ref.arn)
    try:
        trace = xray_to_traceparent(params.get("traceHeader") or "")
        record = await api.engine.start_execution(
            ref.arn, name, text, run_as=run_as, trace_parent=trace
        )
    except StateMachineDoesNotExist as exc:
        raise machine_missing(arn) from exc
    except ExecutionAlreadyExists as exc:
        raise ApiError("ExecutionAlreadyExists", f"Execution Already Exists: '{exc}'") from exc
    if meta:
        await asyncio.to_thread(api.catalog.put, EXECUTION, record.arn, meta)
    return record


async def start_execution(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    record = await _start(api, params)
    return {"executionArn": record.arn, "startDate": record.start_date}


async def start_sync_execution(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    ref = machine_ref(params["stateMachineArn"])
    if ref.qualifier is None and (await api.machine(ref.arn)).type != "EXPRESS":
        raise ApiError(
            "StateMachineTypeNotSupported",
            "This operation is not supported by this type of State Machine",
        )
    record = await _start(api, params)
    final = await _express_outcome(api, record.arn)
    out = _describe(api, final, await api.meta(final.arn))
    for key in ("redriveCount", "redriveStatus", "stateMachineVersionArn",
                "stateMachineAliasArn"):  # fmt: skip
        out.pop(key, None)
    out["billingDetails"] = {"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": 100}
    return out


async def _express_outcome(api: Api, arn: str) -> ExecutionRecord:
    # An EXPRESS execution is journaled only once it has ended (its outcome is written
    # just after the engine sees the end), so wait for the actor, then for that row.
    if arn in api.engine.actors:
        await api.engine.wait(arn)
    delay = 0.001
    while True:
        record = await asyncio.to_thread(api.engine.journal.get_execution, arn)
        if record is not None and record.status != "RUNNING":
            return record
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)


async def stop_execution(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    found = await api.execution(params["executionArn"])
    arn = found.arn
    error, cause = params.get("error"), params.get("cause")
    cluster = api.engine.cluster
    if found.status == "RUNNING" and arn not in api.engine.actors and cluster is not None:
        # Another member runs it: record the stop for its owner and answer once recorded.
        await cluster.deliveries.send(arn, STOP, None, {"error": error, "cause": cause})
        return {"stopDate": api.engine.clock.now()}
    await api.engine.stop_execution(arn, error, cause)
    record = await asyncio.to_thread(api.engine.journal.get_execution, arn)
    stop = record.stop_date if record and record.stop_date else api.engine.clock.now()
    return {"stopDate": stop}


def _trace_header(record: ExecutionRecord) -> str:
    """The trace header passed to the execution (AWS: DescribeExecution's traceHeader),
    from the trace context journaled with its state."""
    blob = record.state
    if isinstance(blob, str):  # an adapter may hand the state back as text
        blob = blob.encode()
    if blob is None or b'"traceparent"' not in blob:
        return ""
    trace = orjson.loads(blob).get("trace") or {}
    # With tracing on, "parent" is the caller's and "traceparent" the execution's own span.
    return traceparent_to_xray(str(trace.get("parent", trace.get("traceparent", ""))))


def _describe(api: Api, record: ExecutionRecord, meta: dict[str, Any]) -> dict[str, Any]:
    """DescribeExecution's answer for ``record`` with its catalog facts ``meta``."""
    out: dict[str, Any] = {
        "executionArn": record.arn,
        "stateMachineArn": record.state_machine_arn,
        "name": record.name,
        "status": record.status,
        "startDate": record.start_date,
        "input": record.input,
        "inputDetails": {"included": True},
    }
    if record.stop_date is not None:
        out["stopDate"] = record.stop_date
    if record.output is not None:
        out["output"] = record.output
        out["outputDetails"] = {"included": True}
    # "The error string if the state machine execution failed": a timed-out execution's
    # description carries neither error nor cause (its history's ExecutionTimedOut does).
    if record.error is not None and record.status != "TIMED_OUT":
        out["error"] = record.error
    if record.cause is not None and record.status != "TIMED_OUT":
        out["cause"] = record.cause
    header = _trace_header(record)
    if header:
        out["traceHeader"] = header
    out.update({k: v for k, v in meta.items() if k.startswith("stateMachine")})
    if record.machine_type != "EXPRESS":
        out["redriveCount"] = meta.get("redriveCount", 0)
        if "redriveDate" in meta:
            out["redriveDate"] = meta["redriveDate"]
        out["redriveStatus"] = (
            "REDRIVABLE" if record.status in ENDED_REDRIVABLE else "NOT_REDRIVABLE"
        )
        if history_was_full(record.error, record.cause):
            out["redriveStatus"] = "NOT_REDRIVABLE"
            out["redriveStatusReason"] = HISTORY_FULL_REASON
    return out


async def describe_execution(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    # Off the event loop: the row holds the input and output, up to 256 KiB each.
    record = await api.execution(params["executionArn"])
    return _describe(api, record, await api.meta(record.arn))


async def list_executions(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("stateMachineArn") is None:
        raise ApiError("ValidationException", "Must provide a StateMachine ARN or MapRun ARN")
    arn = params["stateMachineArn"]
    try:
        ref = machine_ref(arn)
    except ApiError as exc:  # AWS answers a malformed ARN here as a missing machine
        raise machine_missing(arn) from exc
    await api.machine(ref.arn)
    query = _Listing(ref.arn, params.get("statusFilter"), params.get("maxResults") or 100)
    after = decode_cursor(params.get("nextToken"))
    keep = _keep(arn if ref.qualifier else None, ref.is_version, params.get("redriveFilter"))
    items, after = await asyncio.to_thread(_collect, api, query, after, keep)
    out: dict[str, Any] = {"executions": items}
    if after is not None:
        out["nextToken"] = encode_cursor(after)
    return out


@dataclass(frozen=True, slots=True)
class _Listing:
    machine: str
    status: str | None
    limit: int


def _keep(
    qualified: str | None, is_version: bool, redrive_filter: str | None
) -> Callable[[dict[str, Any]], bool]:
    """The filters the journal's index cannot apply (they live in the catalog)."""
    key = "stateMachineVersionArn" if is_version else "stateMachineAliasArn"

    def keep(item: dict[str, Any]) -> bool:
        if qualified is not None and item.get(key) != qualified:
            return False
        if redrive_filter is not None:
            return bool(item.get("redriveCount", 0) > 0) == (redrive_filter == "REDRIVEN")
        return True

    return keep


def _collect(
    api: Api, query: _Listing, after: ListCursor | None, keep: Callable[[dict[str, Any]], bool]
) -> tuple[list[dict[str, Any]], ListCursor | None]:
    """One page from the journal's keyset pages (read one row ahead, so the last page has no
    token); the cursor to resume from, None when nothing remains."""
    items: list[dict[str, Any]] = []
    while True:
        batch = api.engine.journal.list_execution_page(
            query.machine, query.status, query.limit + 1, after
        )
        for summary in batch:
            if len(items) == query.limit:
                return items, after
            after = (summary.start_date, summary.arn)
            item = _summary(api, summary)
            if keep(item):
                items.append(item)
        if len(batch) <= query.limit:
            return items, None


def _summary(api: Api, record: ExecutionSummary) -> dict[str, Any]:
    out: dict[str, Any] = {
        "executionArn": record.arn,
        "stateMachineArn": record.state_machine_arn,
        "name": record.name,
        "status": record.status,
        "startDate": record.start_date,
    }
    if record.stop_date is not None:
        out["stopDate"] = record.stop_date
    meta = api.execution_meta(record.arn)
    out.update({k: v for k, v in meta.items() if k.startswith("stateMachine")})
    if "redriveCount" in meta:
        out["redriveCount"] = meta["redriveCount"]
        out["redriveDate"] = meta["redriveDate"]
    return out


async def redrive_execution(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    record = await api.execution(params["executionArn"])
    arn = record.arn
    new_input: Any = redrive_module.UNCHANGED
    if params.get("input") is not None:  # Sagaway's extension: edited input (docs/api.md)
        if not isinstance(params["input"], str):
            raise ApiError("SerializationException", "'input' must be a JSON text")
        new_input = loads_document(_check_input(params["input"]))
    try:
        count = await redrive_module.redrive(api.engine, record, new_input)
    except redrive_module.NotRedrivable as exc:
        raise ApiError("ExecutionNotRedrivable", str(exc)) from exc
    now = api.engine.clock.now()
    meta = await api.meta(arn)
    meta.update({"redriveCount": count, "redriveDate": now})
    await asyncio.to_thread(api.catalog.put, EXECUTION, arn, meta)
    return {"redriveDate": now}


ACTIONS = {
    "StartExecution": start_execution,
    "StartSyncExecution": start_sync_execution,
    "StopExecution": stop_execution,
    "DescribeExecution": describe_execution,
    "ListExecutions": list_executions,
    "RedriveExecution": redrive_execution,
}
