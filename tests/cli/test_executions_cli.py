"""``sagaway executions list|show|history`` against a real journal file."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from sagaway.engine.engine import Engine
from sagaway.store.sqlite import SqliteJournal
from tests.cli.cli_kit import sagaway

PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
FAIL = json.dumps({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "C"}}})
ALPHA = "arn:aws:states:us-east-1:111111111111:execution:alpha:"


async def _populate(path: Path) -> None:
    journal = SqliteJournal(str(path))
    try:
        async with Engine(journal) as engine:
            alpha = engine.create_state_machine("alpha", PASS)
            beta = engine.create_state_machine("beta", FAIL)
            for machine, name in ((alpha, "first"), (alpha, "shared"), (beta, "shared")):
                record = await engine.start_execution(machine.arn, name, '{"n": 1}')
                await engine.wait(record.arn)
    finally:
        journal.close()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("executions") / "s.db"
    asyncio.run(_populate(path))
    return path


def test_list_json_newest_first_with_filters(db: Path) -> None:
    everything = sagaway("executions", "list", "--db", db, "--json").json()["executions"]
    assert len(everything) == 3
    assert {e["status"] for e in everything} == {"SUCCEEDED", "FAILED"}
    assert set(everything[0]) >= {"executionArn", "stateMachineArn", "name", "status", "startDate"}
    failed = sagaway("executions", "list", "--db", db, "--status", "failed", "--json").json()
    assert [e["name"] for e in failed["executions"]] == ["shared"]
    alpha = sagaway("executions", "list", "--db", db, "--state-machine", "alpha", "--json").json()
    assert sorted(e["name"] for e in alpha["executions"]) == ["first", "shared"]
    one = sagaway("executions", "list", "--db", db, "--limit", "1", "--json").json()
    assert len(one["executions"]) == 1


def test_list_table_on_stderr(db: Path) -> None:
    done = sagaway("executions", "list", "--db", db)
    assert done.code == 0 and done.out == ""
    assert "first" in done.err and "SUCCEEDED" in done.err and "3 execution(s)" in done.err


def test_show_by_unique_name(db: Path) -> None:
    body = sagaway("executions", "show", "first", "--db", db, "--json").json()
    assert body["executionArn"] == ALPHA + "first"
    assert (body["status"], body["input"], body["output"]) == ("SUCCEEDED", {"n": 1}, {"n": 1})
    assert body["startDate"] <= body["stopDate"]


def test_show_by_arn_of_a_failed_execution(db: Path) -> None:
    arn = "arn:aws:states:us-east-1:111111111111:execution:beta:shared"
    body = sagaway("executions", "show", arn, "--db", db, "--json").json()
    assert (body["status"], body["error"], body["cause"]) == ("FAILED", "E", "C")


def test_history_json_and_reverse(db: Path) -> None:
    events = sagaway("executions", "history", "first", "--db", db, "--json").json()["events"]
    assert [e["type"] for e in events] == [
        "ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded",
    ]  # fmt: skip
    newest = sagaway("executions", "history", ALPHA + "first", "--db", db, "--json", "--reverse")
    assert newest.json()["events"] == events[::-1]
    table = sagaway("executions", "history", "first", "--db", db)
    assert table.code == 0 and "PassStateEntered" in table.err


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["show", "shared"], "'shared' is ambiguous (2 executions"),
        (["show", "nobody"], "no execution named 'nobody'"),
        (["history", "arn:aws:states:us-east-1:111111111111:execution:x:y"], "does not exist"),
        (["list", "--status", "DONE"], "--status must be one of"),
        (["list", "--state-machine", "gamma"], "state machine gamma does not exist"),
    ],
)
def test_clear_errors(db: Path, args: list[str], reason: str) -> None:
    done = sagaway("executions", *args, "--db", db)
    assert done.code == 2
    assert reason in done.err and "Traceback" not in done.err


def test_a_missing_database_is_not_created(tmp_path: Path) -> None:
    done = sagaway("executions", "list", "--db", f"sqlite:///{tmp_path / 'none.db'}")
    assert done.code == 2 and "no Sagaway database at" in done.err
    assert not (tmp_path / "none.db").exists()


LONG = "order-saga-with-a-name-long-enough-to-overflow-any-terminal-" + "x" * 40


async def _populate_long(path: Path) -> None:
    journal = SqliteJournal(str(path))
    try:
        async with Engine(journal) as engine:
            machine = engine.create_state_machine(LONG, PASS)
            for n in range(5):
                record = await engine.start_execution(machine.arn, f"{LONG}-{n}", "{}")
                await engine.wait(record.arn)
    finally:
        journal.close()


def test_tables_keep_identifiers_whole_and_say_how_many_more(tmp_path: Path) -> None:
    path = tmp_path / "long.db"
    asyncio.run(_populate_long(path))
    done = sagaway("executions", "list", "--db", path, "--limit", "2")
    rows = [line for line in done.err.splitlines() if f"{LONG}-" in line]
    assert len(rows) == 2 and all(LONG in row.split(f"{LONG}-")[1] for row in rows), done.err
    assert "2 execution(s), 3 more (--limit 5 shows them all)" in done.err
    history = sagaway("executions", "history", f"{LONG}-0", "--db", path)
    header = next(line for line in history.err.splitlines() if " type " in line)
    assert " state " in header
    entered = next(line for line in history.err.splitlines() if "PassStateEntered" in line)
    assert " P " in entered
    shown = sagaway("executions", "show", f"{LONG}-0", "--db", path)
    assert f"execution:{LONG}:{LONG}-0" in shown.err  # the whole ARN on one line
