"""``sagaway run`` on the durable engine (and ``--virtual``), run as a real subprocess."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from sagaway.messaging.archive import Archive
from sagaway.store.sqlite import SqliteJournal
from tests.cli.cli_kit import ORDER_FUNCTIONS, ORDER_SAGA, ROOT, sagaway

SHIPPABLE = '{"orderId": "o-1", "total": 40, "items": ["book"], "address": "1 Main St"}'
UNSHIPPABLE = '{"orderId": "o-2", "total": 40, "items": ["book"]}'


def run_order(db: Path, input_text: str, *extra: str) -> tuple[int, str, str]:
    done = sagaway(
        "run", ORDER_SAGA, "--functions", ORDER_FUNCTIONS, "--db", db, "--input", input_text,
        *extra,
    )  # fmt: skip
    return done.code, done.out, done.err


def test_success_prints_output_and_journals_the_execution(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    code, out, err = run_order(db, SHIPPABLE, "--name", "o-1")
    assert code == 0, err
    assert json.loads(out) == {
        "orderId": "o-1",
        "status": "CONFIRMED",
        "shipment": {"trackingNumber": "t-o-1"},
    }
    journal = SqliteJournal(str(db))
    try:
        (record,) = journal.list_executions()
        assert (record.name, record.status) == ("o-1", "SUCCEEDED")
        assert record.arn.endswith(":execution:order-saga:o-1")
        assert journal.history(record.arn)[-1]["type"] == "ExecutionSucceeded"
    finally:
        journal.close()


def test_failure_prints_status_error_cause_and_exits_1(tmp_path: Path) -> None:
    code, out, _ = run_order(tmp_path / "s.db", UNSHIPPABLE)
    assert code == 1
    assert out == "FAILED: OrderFailed: order o-2 cancelled and compensated\n"


def test_json_with_history_is_one_object(tmp_path: Path) -> None:
    code, out, _ = run_order(tmp_path / "s.db", UNSHIPPABLE, "--json", "--history")
    assert code == 1
    body = json.loads(out)
    assert body["status"] == "FAILED"
    assert (body["error"], body["cause"]) == ("OrderFailed", "order o-2 cancelled and compensated")
    assert body["executionArn"].startswith("arn:aws:states:us-east-1:")
    types = [event["type"] for event in body["history"]]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionFailed"
    assert "LambdaFunctionFailed" in types
    assert [event["id"] for event in body["history"]] == list(range(1, len(types) + 1))


def test_history_table_goes_to_stderr(tmp_path: Path) -> None:
    code, out, err = run_order(tmp_path / "s.db", SHIPPABLE, "--history")
    assert code == 0
    assert json.loads(out)["status"] == "CONFIRMED"  # stdout stays machine-readable
    assert "ExecutionSucceeded" in err and "LambdaFunctionScheduled" in err


def test_a_changed_definition_is_used_by_the_next_run(tmp_path: Path) -> None:
    machine = tmp_path / "greet.asl.json"
    db = tmp_path / "s.db"
    for word in ("hello", "goodbye"):
        definition = {
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "Result": word, "End": True}},
        }
        machine.write_text(json.dumps(definition))
        done = sagaway("run", machine, "--db", db)
        assert (done.code, done.out) == (0, f'"{word}"\n'), done.err
    journal = SqliteJournal(str(db))
    try:
        (record,) = journal.list_state_machines()
        assert record.name == "greet" and "goodbye" in record.definition
        assert len(journal.list_executions()) == 2
    finally:
        journal.close()


WAIT = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}}


def test_wait_really_waits_on_the_durable_engine(tmp_path: Path) -> None:
    machine = tmp_path / "wait.json"
    machine.write_text(json.dumps(WAIT))
    done = sagaway("run", machine, "--db", tmp_path / "s.db", "--json", "--history")
    assert done.code == 0, done.err
    stamps = {e["type"]: e["timestamp"] for e in done.json()["history"]}
    assert stamps["WaitStateEntered"] < stamps["WaitStateExited"]
    journal = SqliteJournal(str(tmp_path / "s.db"))
    try:
        events = journal.history(journal.list_executions()[0].arn)
    finally:
        journal.close()
    entered, exited = (next(e["timestamp"] for e in events if e["type"] == t)
                       for t in ("WaitStateEntered", "WaitStateExited"))  # fmt: skip
    assert exited - entered >= 1.0


def test_virtual_runs_in_memory_without_a_database(tmp_path: Path) -> None:
    machine = tmp_path / "wait.json"
    machine.write_text(json.dumps(WAIT))
    done = sagaway("run", machine, "--virtual", "--input", '{"a": 1}', cwd=tmp_path)
    assert (done.code, done.out) == (0, '{"a":1}\n'), done.err
    assert not (tmp_path / "sagaway.db").exists()


def test_default_database_is_sagaway_db_in_the_working_directory(tmp_path: Path) -> None:
    done = sagaway(
        "run", ORDER_SAGA, "--functions", ORDER_FUNCTIONS, "--input", SHIPPABLE, cwd=tmp_path
    )
    assert done.code == 0, done.err
    assert (tmp_path / "sagaway.db").is_file()


def test_a_name_already_used_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    assert run_order(db, SHIPPABLE, "--name", "same")[0] == 0
    code, _, err = run_order(db, SHIPPABLE, "--name", "same")
    assert code == 2
    assert "already exists" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--input", "{not json"], "--input is not valid JSON"),
        (["--functions", "no_such_module_xyz"], "cannot load functions from no_such_module_xyz"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path: Path, args: list[str], reason: str) -> None:
    done = sagaway("run", ORDER_SAGA, "--db", tmp_path / "s.db", *args)
    assert done.code == 2
    assert reason in done.err and "Traceback" not in done.err
    assert len(done.err.strip().splitlines()) == 1


def test_invalid_definition_prints_pointers_and_exits_2(tmp_path: Path) -> None:
    machine = tmp_path / "bad.json"
    machine.write_text('{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}')
    done = sagaway("run", machine, "--db", tmp_path / "s.db")
    assert done.code == 2
    assert f"{machine}: /States/A/Next: MISSING_TRANSITION_TARGET" in done.err
    assert "Traceback" not in done.err
    assert not (tmp_path / "s.db").exists()


def test_missing_file_exits_2(tmp_path: Path) -> None:
    done = sagaway("run", tmp_path / "absent.json", "--db", tmp_path / "s.db")
    assert done.code == 2
    assert done.err.startswith("error: cannot read") and "Traceback" not in done.err


def test_a_file_that_is_not_a_database_exits_2(tmp_path: Path) -> None:
    db = tmp_path / "notes.txt"
    db.write_text("these are not the tables you are looking for\n" * 100)
    done = sagaway("run", ORDER_SAGA, "--db", db)
    assert done.code == 2
    assert "not a database" in done.err and "Traceback" not in done.err


def test_the_readme_run_examples_do_what_the_readme_says(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = [b for b in readme.split("```bash\n")[1:] if b.startswith(".venv/bin/sagaway run")]
    assert len(blocks) == 2
    outcomes = []
    for block in blocks:
        command = block.split("```")[0].replace("\\\n", " ")
        args = shlex.split(command)[2:]  # after ".venv/bin/sagaway run"
        done = sagaway("run", *args, "--db", f"sqlite:///{tmp_path / 'readme.db'}", cwd=ROOT)
        outcomes.append((done.code, done.out, done.err))
    (ok, out, _), (failed, failure, _) = outcomes
    assert ok == 0 and '"status":"CONFIRMED"' in out
    assert failed == 1 and "FAILED: OrderFailed: order o-2 cancelled and compensated" in failure


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        ('CONCURRENCY = {"nope": 1}', "CONCURRENCY names 'nope', which is not a function"),
        ('CONCURRENCY = {"step": 0}', "CONCURRENCY['step'] must be a whole number >= 1"),
        ('ISOLATION = "vm"', "ISOLATION['step'] must be thread or process"),
    ],
)
def test_bad_function_settings_exit_2_with_one_line(
    tmp_path: Path, settings: str, reason: str
) -> None:
    functions = tmp_path / "settings_functions.py"
    functions.write_text(f"def step(event, context):\n    return event\n\n{settings}\n")
    done = sagaway("run", ORDER_SAGA, "--db", tmp_path / "s.db", "--functions", functions)
    assert done.code == 2
    assert reason in done.err and "Traceback" not in done.err
    assert len(done.err.strip().splitlines()) == 1


def test_handlers_run_in_sandbox_processes_with_isolation_process(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    code, out, err = run_order(db, SHIPPABLE, "--isolation", "process")
    assert code == 0, err
    assert json.loads(out)["status"] == "CONFIRMED"


def test_run_has_the_integrations_serve_has_put_events_included(tmp_path: Path) -> None:
    entry = {"Source": "shop.orders", "DetailType": "OrderConfirmed", "Detail": {"orderId": "o"}}
    machine = tmp_path / "publish.json"
    machine.write_text(json.dumps({"StartAt": "Publish", "States": {"Publish": {
        "Type": "Task", "Resource": "arn:aws:states:::events:putEvents",
        "Parameters": {"Entries": [entry]}, "End": True}}}))  # fmt: skip
    db = tmp_path / "s.db"
    done = sagaway("run", machine, "--db", db)
    assert done.code == 0, done.err
    (result,) = json.loads(done.out)["Entries"]
    # The event was committed with the step: in the bus's archive once relayed, or still
    # in the journal's outbox if the run ended first (the next engine on it relays it), or
    # both when the run ended between the relay's delivery and its acknowledgement (the
    # bus's inbox takes an event id once, so relaying it again delivers nothing twice).
    journal = SqliteJournal(str(db))
    try:
        pending = [json.loads(body)["id"] for _, _, body in journal.pending_outbox()]
    finally:
        journal.close()
    archive = Archive(f"sqlite:///{tmp_path / 's-events.db'}")
    try:
        archived = [e["id"] for e in archive.between(0, 1e12)]
    finally:
        archive.close()
    assert pending in ([], [result["EventId"]]) and archived in ([], [result["EventId"]])
    assert pending or archived
