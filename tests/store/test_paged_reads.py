"""Paged reads through the journal port, on both adapters: ListExecutions pages by keyset
without the large columns, GetExecutionHistory pages without decoding the whole history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sagaway.store import sqlite_queries as Q
from sagaway.store.ports import ExecutionSummary, StepRecord, StoreError
from sagaway.store.sqlite import SqliteJournal
from tests.store.test_journal_contract import SM, start, step


def test_execution_pages_follow_the_keyset_newest_first(journal: Any) -> None:
    # Two executions share a start date: the arn breaks the tie, so no page repeats or skips.
    arns = [start(journal, name, date) for name, date in
            [("a", 1.0), ("b", 2.0), ("c", 2.0), ("d", 3.0), ("e", 4.0)]]  # fmt: skip
    journal.commit([step(arns[0], 1, 3, status="FAILED")])
    seen: list[str] = []
    after = None
    while True:
        page = journal.list_execution_page(SM, None, 2, after)
        seen += [s.arn for s in page]
        if len(page) < 2:
            break
        after = (page[-1].start_date, page[-1].arn)
    assert seen == [arns[4], arns[3], arns[1], arns[2], arns[0]]
    failed = journal.list_execution_page(SM, "FAILED", 10)
    assert failed == [ExecutionSummary(arns[0], SM, "a", "FAILED", 1.0, 99.0)]
    assert journal.list_execution_page("arn:other", None, 10) == []


def test_a_page_of_executions_reads_only_the_listing_index(tmp_path: Path) -> None:
    # SQLite keeps a row's columns in sequence (input, definition, output inline or in
    # overflow pages): a scan or a sort would read them all. The plan of a page must be a
    # search of the listing index, with no sort.
    store = SqliteJournal(f"sqlite:///{tmp_path / 'plan.db'}")
    params = (SM, None, None, 2.0, 2.0, 2.0, "arn", 1)
    plan = store._reader().execute(f"EXPLAIN QUERY PLAN {Q.LIST_EXECUTION_PAGE}", params)
    details = " / ".join(row[-1] for row in plan)
    store.close()
    assert "USING INDEX executions_listing" in details, details
    assert "TEMP B-TREE" not in details, details


def test_history_pages_forward_and_backward_across_rows(journal: Any) -> None:
    arn = start(journal, "o1")  # events 1-2 in one row
    journal.commit([step(arn, 1, 3), step(arn, 2, 5)])  # rows 3-4 and 5-6
    ids = lambda events: [e["id"] for e in events]  # noqa: E731
    assert ids(journal.history_page(arn, 3)) == [1, 2, 3]
    assert ids(journal.history_page(arn, 3, after=3)) == [4, 5, 6]
    assert ids(journal.history_page(arn, 10, after=6)) == []
    assert ids(journal.history_page(arn, 4, reverse=True)) == [6, 5, 4, 3]
    assert ids(journal.history_page(arn, 4, after=3, reverse=True)) == [2, 1]
    assert ids(journal.history_page("arn:none", 5)) == []


def test_history_pages_decode_only_the_rows_they_need(journal: Any) -> None:
    arn = start(journal, "o1")
    # A row that is not valid JSON after the first page: a page that stops before it must
    # not decode it (the whole history used to be decoded for every page).
    journal.commit([StepRecord(arn, 1, b"{}", "RUNNING", [{"id": 3, "type": "X"}])])
    with journal_row_corrupted(journal, arn, 3):
        assert [e["id"] for e in journal.history_page(arn, 2)] == [1, 2]
        with pytest.raises(ValueError):
            journal.history_page(arn, 3)


def test_ping_answers_while_the_database_does(journal: Any) -> None:
    journal.ping()
    journal.close()
    with pytest.raises(StoreError):  # closed: no connection is opened again
        journal.ping()


class journal_row_corrupted:
    """Overwrite one history row's blob with bytes that are not JSON, through the adapter's
    own writer connection, for the block's duration."""

    def __init__(self, journal: Any, arn: str, first_id: int) -> None:
        self.journal, self.arn, self.first_id = journal, arn, first_id

    def _set(self, blob: bytes) -> None:
        mark = "?" if self.journal.dialect == "sqlite" else "%s"
        query = (f"UPDATE history SET events = {mark}"
                 f" WHERE execution_arn = {mark} AND first_event_id = {mark}")  # fmt: skip
        with self.journal._transaction() as conn:
            conn.execute(query, (blob, self.arn, self.first_id))

    def __enter__(self) -> None:
        self._set(b"not json")

    def __exit__(self, *exc: object) -> None:
        self._set(b'[{"id": 3, "type": "X"}]')
