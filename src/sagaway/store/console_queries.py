"""SQL for the console's reads (execution listings, counts, the audit log), both dialects.

A listing's WHERE clause depends on which filters are set, so it is assembled here from
fixed fragments; values always travel as parameters. The columns stay off the large ones
(input, output, definition, state): a page of fifty rows reads a few kilobytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sagaway.store.ports import AuditEntry, ExecutionQuery, ExecutionSummary

SUMMARY_COLUMNS = "arn, state_machine_arn, name, status, start_date, stop_date, redrive_count"
AUDIT_COLUMNS = "id, at, actor, action, target, detail, outcome"


def _where(query: ExecutionQuery, mark: str, *, paged: bool) -> tuple[str, list[Any]]:
    conditions: list[str] = []
    params: list[Any] = []
    if query.state_machine_arn is not None:
        conditions.append(f"state_machine_arn = {mark}")
        params.append(query.state_machine_arn)
    if query.name_prefix:
        if mark == "?":  # SQLite compares text bytewise: a range on the name index is exact
            conditions.append(f"name >= {mark} AND name < {mark}")
            params.extend([query.name_prefix, query.name_prefix + "\U0010ffff"])
        else:  # PostgreSQL: LIKE on a text_pattern_ops index, whatever the collation
            conditions.append(f"name LIKE {mark}")
            escaped = query.name_prefix.replace("\\", "\\\\").replace("%", "\\%")
            params.append(escaped.replace("_", "\\_") + "%")
    if query.started_from is not None:
        conditions.append(f"start_date >= {mark}")
        params.append(query.started_from)
    if query.started_to is not None:
        conditions.append(f"start_date < {mark}")
        params.append(query.started_to)
    if paged and query.status is not None:
        conditions.append(f"{_status_column(query, mark)} = {mark}")
        params.append(query.status)
    if paged and query.after is not None:
        conditions.append(f"(start_date < {mark} OR (start_date = {mark} AND arn < {mark}))")
        params.extend([query.after[0], query.after[0], query.after[1]])
    return (" WHERE " + " AND ".join(conditions)) if conditions else "", params


def _status_column(query: ExecutionQuery, mark: str) -> str:
    """With a name prefix, SQLite's planner (no statistics gathered) would rather walk the
    status index, a large fraction of the table, than the name index's short range: the
    unary ``+`` keeps the status term off any index there."""
    return "+status" if query.name_prefix and mark == "?" else "status"


def summaries(query: ExecutionQuery, mark: str) -> tuple[str, list[Any]]:
    where, params = _where(query, mark, paged=True)
    sql = (
        f"SELECT {SUMMARY_COLUMNS} FROM executions{where}"
        f" ORDER BY start_date DESC, arn DESC LIMIT {mark}"
    )
    return sql, [*params, query.limit]


STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")


def count(query: ExecutionQuery, status: str, cap: int, mark: str) -> tuple[str, list[Any]]:
    """How many executions ``query`` selects with ``status``, counting no further than
    ``cap + 1``: each count walks at most that many index entries, whatever the journal's
    size (a listing needs "more than ten thousand", not the exact figure)."""
    where, params = _where(query, mark, paged=False)
    term = f"{_status_column(query, mark)} = {mark}"
    where = f"{where} AND {term}" if where else f" WHERE {term}"
    sql = f"SELECT count(*) FROM (SELECT 1 FROM executions{where} LIMIT {mark}) AS capped"
    return sql, [*params, status, cap + 1]


def insert_audit(mark: str) -> str:
    marks = ", ".join([mark] * 6)
    return f"INSERT INTO audit (at, actor, action, target, detail, outcome) VALUES ({marks})"


def audit_page(mark: str, *, before: bool) -> str:
    where = f" WHERE id < {mark}" if before else ""
    return f"SELECT {AUDIT_COLUMNS} FROM audit{where} ORDER BY id DESC LIMIT {mark}"


def audit_row(entry: AuditEntry) -> tuple[Any, ...]:
    return (entry.at, entry.actor, entry.action, entry.target, entry.detail, entry.outcome)


def summary(row: tuple[Any, ...]) -> ExecutionSummary:
    return ExecutionSummary(*row)


def audit(row: tuple[Any, ...]) -> AuditEntry:
    entry_id, at, actor, action, target, detail, outcome = row
    return AuditEntry(at, actor, action, target, detail, outcome, entry_id)


# A read of an adapter: the rows ``sql`` selects with ``params``.
Read = Callable[[str, Sequence[Any]], Iterable[Sequence[Any]]]


def counts_per_status(read: Read, query: ExecutionQuery, cap: int, mark: str) -> dict[str, int]:
    """``Journal.execution_counts`` on either database."""
    counts = {}
    for status in STATUSES:
        sql, params = count(query, status, cap, mark)
        rows = list(read(sql, params))
        if rows and rows[0][0]:
            counts[status] = int(rows[0][0])
    return counts


def audit_entries(read: Read, limit: int, before: int | None, mark: str) -> list[AuditEntry]:
    """``Journal.audit_entries`` on either database."""
    sql = audit_page(mark, before=before is not None)
    params = (limit,) if before is None else (before, limit)
    return [audit(tuple(r)) for r in read(sql, params)]
