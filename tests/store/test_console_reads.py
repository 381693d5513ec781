"""The console's reads and the audit log, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

from sagaway.store.ports import AuditEntry, ExecutionQuery
from tests.store.test_journal_contract import SM, start, step


def _names(journal: Any, query: ExecutionQuery) -> list[str]:
    return [s.name for s in journal.execution_summaries(query)]


def test_summaries_filter_page_newest_first_and_count_per_status(journal: Any) -> None:
    for i, name in enumerate(["o-1", "o-1-redrive", "o-2", "p-9"]):
        start(journal, name, start_date=10.0 + i)
    ended = start(journal, "o-3", start_date=20.0)
    assert journal.commit([step(ended, 1, 3, status="FAILED")]) == [True]

    assert _names(journal, ExecutionQuery()) == ["o-3", "p-9", "o-2", "o-1-redrive", "o-1"]
    assert _names(journal, ExecutionQuery(name_prefix="o-1")) == ["o-1-redrive", "o-1"]
    assert _names(journal, ExecutionQuery(status="FAILED")) == ["o-3"]
    window = ExecutionQuery(started_from=11.0, started_to=13.0)
    assert _names(journal, window) == ["o-2", "o-1-redrive"]
    assert _names(journal, ExecutionQuery(state_machine_arn=SM + "x")) == []
    assert _names(journal, ExecutionQuery(name_prefix="o_")) == []  # no wildcard in a prefix
    assert _names(journal, ExecutionQuery(name_prefix="o-1-redrive")) == ["o-1-redrive"]

    first = journal.execution_summaries(ExecutionQuery(limit=2))
    last = first[-1]
    rest = _names(journal, ExecutionQuery(limit=2, after=(last.start_date, last.arn)))
    assert [s.name for s in first] + rest == ["o-3", "p-9", "o-2", "o-1-redrive"]
    assert first[0].status == "FAILED" and first[0].stop_date == 99.0

    assert journal.execution_counts(ExecutionQuery()) == {"RUNNING": 4, "FAILED": 1}
    assert journal.execution_counts(ExecutionQuery(), cap=2) == {"RUNNING": 3, "FAILED": 1}
    # the status filter narrows the page, never the counts beside it
    assert journal.execution_counts(ExecutionQuery(name_prefix="o-", status="FAILED")) == {
        "RUNNING": 3,
        "FAILED": 1,
    }


def test_audit_entries_come_back_newest_first_and_page_by_id(journal: Any) -> None:
    for n in range(3):
        journal.record_audit(AuditEntry(float(n), "ann", "StopExecution", f"arn-{n}", "{}", "ok"))
    entries = journal.audit_entries()
    assert [e.target for e in entries] == ["arn-2", "arn-1", "arn-0"]
    assert entries[0].actor == "ann" and entries[0].outcome == "ok" and entries[0].at == 2.0
    older = journal.audit_entries(limit=5, before=entries[0].id)
    assert [e.target for e in older] == ["arn-1", "arn-0"]
