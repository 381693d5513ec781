"""A closed PostgreSQL journal opens no connection again: a read, a write or a relay lock
asked of it afterwards (a thread of an engine that is stopping) fails with StoreError
instead of leaving a connection open that nothing will close."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest

from sagaway.store.ports import StoreError
from sagaway.store.postgres import PostgresJournal
from tests.store.conftest import drop_schema, postgres_url


def _sessions(url: str, application: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (application,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def _settles_at(url: str, application: str, expected: int) -> int:
    """The session count once it is ``expected`` (a backend leaves pg_stat_activity a
    moment after its client closed), or the last count seen after 10 s."""
    deadline = time.monotonic() + 10
    while (seen := _sessions(url, application)) != expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return seen


def test_a_closed_journal_opens_no_connection_again() -> None:
    base = postgres_url()
    application = f"close-test-{threading.get_ident()}"
    url = f"{base}&application_name={application}"
    journal = PostgresJournal(url)
    try:
        journal.list_state_machines()  # a reader of this thread
        seen: list[Any] = []
        other = threading.Thread(target=lambda: seen.append(journal.list_state_machines()))
        other.start()
        other.join()
        assert seen == [[]] and _sessions(base, application) == 3  # the writer, two readers
    finally:
        journal.close()
    assert _settles_at(base, application, 0) == 0
    with pytest.raises(StoreError, match="is closed"):
        journal.list_state_machines()  # this thread's reader was closed: none is opened
    outcome: list[BaseException] = []

    def read_in_a_new_thread() -> None:
        try:
            journal.list_state_machines()
        except BaseException as exc:
            outcome.append(exc)

    late = threading.Thread(target=read_in_a_new_thread)
    late.start()
    late.join()
    assert len(outcome) == 1 and isinstance(outcome[0], StoreError)
    with pytest.raises(StoreError, match="is closed"):
        journal.remove_outbox([1])  # a write: the closed writer is not replaced
    assert journal.leads_relay() is False
    assert _sessions(base, application) == 0  # still none: nothing was opened
    drop_schema(base)


def test_a_closed_catalog_opens_no_connection_again() -> None:
    from sagaway.store.postgres_catalog import PostgresCatalog

    base = postgres_url()
    application = f"catalog-close-{threading.get_ident()}"
    catalog = PostgresCatalog(f"{base}&application_name={application}")
    assert _sessions(base, application) == 1
    catalog.close()
    assert _settles_at(base, application, 0) == 0
    with pytest.raises(StoreError, match="is closed"):
        catalog.put("activity", "arn:aws:states:us-east-1:1:activity:a", {"name": "a"})
    assert _sessions(base, application) == 0  # still none: nothing was opened
    drop_schema(base)
