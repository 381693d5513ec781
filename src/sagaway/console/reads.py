"""What the pages read, gathered in one call each so it can run in the thread pool."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import QueryParams

from sagaway.api.service import ALIAS, VERSION, Api
from sagaway.console.path import details_of, timestamp
from sagaway.engine.journal_steps import read_state
from sagaway.expressions.jsontext import loads
from sagaway.interpreter.execution import task_token
from sagaway.store import console_queries as CQ
from sagaway.store.ports import ExecutionQuery, ExecutionRecord, ExecutionSummary

PAGE_SIZE = 50
COUNT_CAP = 10_000  # counts beyond it show as "10,000+" (each count stays cheap)
STATUSES = CQ.STATUSES
_EXECUTION_ARN = re.compile(r"arn:aws:states:[a-z0-9-]+:\d{12}:execution:[^\"\\\s,}#]+")
_STARTED_BY = "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"


@dataclass(slots=True)
class Listing:
    query: ExecutionQuery
    rows: list[ExecutionSummary]
    counts: dict[str, int]
    machines: list[tuple[str, str]]
    next_cursor: str | None = None


def _moment(text: str | None) -> float | None:
    """A ``datetime-local`` field's value, read as UTC."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def _cursor(text: str | None) -> tuple[float, str] | None:
    if not text or "|" not in text:
        return None
    start, _, arn = text.partition("|")
    try:
        return float(start), arn
    except ValueError:
        return None


def query_from(params: QueryParams) -> ExecutionQuery:
    status = params.get("status") or None
    return ExecutionQuery(
        state_machine_arn=params.get("machine") or None,
        status=status if status in STATUSES else None,
        name_prefix=(params.get("name") or "").strip() or None,
        started_from=_moment(params.get("from")), started_to=_moment(params.get("to")),
        after=_cursor(params.get("after")), limit=PAGE_SIZE + 1,
    )  # fmt: skip


def listing(api: Api, query: ExecutionQuery) -> Listing:
    journal = api.engine.journal
    rows = journal.execution_summaries(query)
    machines = [(m.arn, m.name) for m in journal.list_state_machines()]
    counts = journal.execution_counts(query, COUNT_CAP)
    result = Listing(query, rows[:PAGE_SIZE], counts, machines)
    if len(rows) > PAGE_SIZE:
        last = rows[PAGE_SIZE - 1]
        result.next_cursor = f"{last.start_date!r}|{last.arn}"
    return result


@dataclass(slots=True)
class HistoryRow:
    id: int
    type: str
    step: str
    elapsed: float | None
    details: dict[str, Any]


@dataclass(slots=True)
class ExecutionView:
    record: ExecutionRecord
    history: list[dict[str, Any]]
    rows: list[HistoryRow] = field(default_factory=list)
    parent: str | None = None
    children: list[str] = field(default_factory=list)
    callbacks: list[tuple[str, str]] = field(default_factory=list)  # (state, task token)
    map_runs: dict[str, str] = field(default_factory=dict)  # Map Run ARN -> how it went
    meta: dict[str, Any] = field(default_factory=dict)


def execution_view(api: Api, arn: str) -> ExecutionView | None:
    record = api.engine.journal.get_execution(arn)
    if record is None:
        return None
    view = ExecutionView(record, api.engine.journal.history(arn), meta=api.execution_meta(arn))
    view.rows = history_rows(view.history)
    try:
        started_by = loads(record.input)
    except ValueError:
        started_by = None
    if isinstance(started_by, dict) and isinstance(started_by.get(_STARTED_BY), str):
        view.parent = started_by[_STARTED_BY]
    _map_runs(view)
    found = dict.fromkeys(_EXECUTION_ARN.findall(str([r.details for r in view.rows])))
    view.children = [a for a in found if a != arn and a != view.parent]
    if record.status == "RUNNING" and record.state is not None:
        state = read_state(api.engine.journal, record)
        for token, frame_id in state.tokens.items():
            frame = state.frames.get(frame_id)
            view.callbacks.append((frame.state if frame else "?", task_token(state, token)))
    return view


def _map_runs(view: ExecutionView) -> None:
    """The Distributed Map runs the history started, and how each ended (an ending event
    names no run: it ends the latest one still going)."""
    for row in view.rows:
        if row.type == "MapRunStarted":
            view.map_runs[str(row.details.get("mapRunArn", ""))] = "STARTED"
        elif row.type.startswith("MapRun"):
            going = [arn for arn, outcome in view.map_runs.items() if outcome == "STARTED"]
            if going:
                view.map_runs[going[-1]] = row.type.removeprefix("MapRun").upper()


def history_rows(history: list[dict[str, Any]]) -> list[HistoryRow]:
    """The events as AWS's console lists them: id, type, the state they belong to, time
    since the execution started, and their details."""
    rows: list[HistoryRow] = []
    first = timestamp(history[0]) if history else None
    open_states: list[str] = []
    for event in history:
        kind, info = str(event.get("type", "")), details_of(event)
        if kind.endswith("StateEntered"):
            open_states.append(str(info.get("name", "")))
        step = str(info.get("name") or (open_states[-1] if open_states else ""))
        if kind.endswith("StateExited") and step in open_states:
            open_states.remove(step)
        at = timestamp(event)
        elapsed = at - first if at is not None and first is not None else None
        rows.append(HistoryRow(int(event.get("id", 0)), kind, step, elapsed, info))
    return rows


def machine_view(api: Api, arn: str) -> dict[str, Any] | None:
    record = api.engine.journal.get_state_machine(arn)
    if record is None:
        return None
    recent = api.engine.journal.execution_summaries(ExecutionQuery(state_machine_arn=arn, limit=20))
    return {
        "record": record, "recent": recent,
        "versions": api.catalog.list(VERSION, arn), "aliases": api.catalog.list(ALIAS, arn),
    }  # fmt: skip
