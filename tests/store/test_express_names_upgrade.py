"""A journal from before migration 0007 (``express_names``), upgraded: its executions are
kept with every column, a STANDARD name stays unique per state machine, and EXPRESS
executions of one name (AWS runs them concurrently, each with its own ARN) all fit."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sagaway.store.migrations import latest
from sagaway.store.ports import ExecutionRecord, StepRecord
from sagaway.store.sqlite import SqliteJournal
from tests.store.conftest import (
    drop_schema,
    migrations_before,
    postgres_at,
    postgres_url,
    sqlite_at,
)

SM = "arn:aws:states:us-east-1:111111111111:stateMachine:orders"
XSM = "arn:aws:states:us-east-1:111111111111:stateMachine:quick"
COLUMNS = (
    "arn, state_machine_arn, name, status, input, start_date, definition, machine_type,"
    " stop_date, output, error, cause, version, state, redrive_count"
)


def row(arn: str, machine: str, name: str, machine_type: str) -> tuple[Any, ...]:
    return (arn, machine, name, "SUCCEEDED", '{"a":1}', 1.5, "{}", machine_type, 2.5, '"ok"',
            None, None, 3, b"state", 1)  # fmt: skip


STANDARD = row(f"{SM.replace('stateMachine', 'execution')}:o-1", SM, "o-1", "STANDARD")


def express(n: int) -> tuple[Any, ...]:
    return row(f"{XSM.replace('stateMachine', 'express')}:same:{n}", XSM, "same", "EXPRESS")


def check_upgraded(insert: Callable[[tuple[Any, ...]], bool], journal: Any) -> None:
    kept = journal.get_execution(STANDARD[0])
    assert kept is not None
    assert (kept.name, kept.status, kept.input, kept.output, kept.version, kept.state) == (
        "o-1",
        "SUCCEEDED",
        '{"a":1}',
        '"ok"',
        3,
        b"state",
    )
    assert kept.redrive_count == 1
    taken = row(f"{STANDARD[0]}-other-arn", SM, "o-1", "STANDARD")
    assert not insert(taken), "a STANDARD name is still unique per state machine"
    assert insert(express(1)) and insert(express(2)), "EXPRESS names may repeat"
    assert not insert(express(2)), "an ARN is still unique"
    found = journal.find_execution(XSM, "same")
    assert found is not None and found.arn in (express(1)[0], express(2)[0])


def test_sqlite_upgrade_keeps_executions_and_lets_express_names_repeat(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite_at(path, migrations_before("sqlite", "express_names"))
    old.execute(f"INSERT INTO executions ({COLUMNS}) VALUES ({', '.join('?' * 15)})", STANDARD)
    old.commit()
    old.close()
    journal = SqliteJournal(f"sqlite:///{path}")  # migrates on open
    conn = sqlite3.connect(path, isolation_level=None)

    def insert(values: tuple[Any, ...]) -> bool:
        try:
            conn.execute(f"INSERT INTO executions ({COLUMNS}) VALUES ({', '.join('?' * 15)})",
                         values)  # fmt: skip
        except sqlite3.IntegrityError:
            return False
        return True

    try:
        assert journal.applied_migrations() == set(range(1, latest("sqlite") + 1))
        check_upgraded(insert, journal)
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'"
                                              " AND tbl_name = 'executions'")}  # fmt: skip
        assert {"executions_names", "executions_listing", "executions_by_name"} <= indexes
    finally:
        conn.close()
        journal.close()


def test_postgresql_upgrade_keeps_executions_and_lets_express_names_repeat() -> None:
    import psycopg

    from sagaway.store.postgres import PostgresJournal

    url = postgres_url()
    marks = ", ".join(["%s"] * 15)
    try:
        with psycopg.connect(url) as conn:
            postgres_at(conn, migrations_before("postgresql", "express_names"))
            conn.execute(f"INSERT INTO executions ({COLUMNS}) VALUES ({marks})", STANDARD)
        journal = PostgresJournal(url)
        try:
            with psycopg.connect(url, autocommit=True) as conn:

                def insert(values: tuple[Any, ...]) -> bool:
                    try:
                        conn.execute(f"INSERT INTO executions ({COLUMNS}) VALUES ({marks})",
                                     values)  # fmt: skip
                    except psycopg.errors.UniqueViolation:
                        return False
                    return True

                check_upgraded(insert, journal)
        finally:
            journal.close()
    finally:
        drop_schema(url)


def outcome(arn: str, machine: str, name: str, machine_type: str) -> StepRecord:
    """An ended execution's only step, as the engine commits an EXPRESS outcome."""
    step = StepRecord(arn, 0, b"{}", "SUCCEEDED", [], output='"ok"', stop_date=2.0)
    step.create = ExecutionRecord(arn, machine, name, "RUNNING", "{}", 1.0, "{}", machine_type)
    return step


def test_each_journal_takes_express_outcomes_of_one_name_and_refuses_a_standard_one(
    journal: Any,
) -> None:
    express_arns = [express(n)[0] for n in (1, 2, 3)]
    flags = journal.commit([outcome(arn, XSM, "same", "EXPRESS") for arn in express_arns])
    assert flags == [True, True, True]
    assert [journal.get_execution(arn).output for arn in express_arns] == ['"ok"'] * 3
    first = outcome(STANDARD[0], SM, "o-1", "STANDARD")
    again = outcome(f"{STANDARD[0]}-again", SM, "o-1", "STANDARD")
    assert journal.commit([first, again]) == [True, False]
