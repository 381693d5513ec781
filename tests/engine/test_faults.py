"""Faults: an unusable, locked or full journal; handlers that hang or answer too much; bad
input. Each is reported clearly, and nothing the journal had committed is lost."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from sagaway.engine.engine import Engine, InvalidExecutionInput
from sagaway.store.ports import StoreError
from sagaway.store.sqlite import SqliteJournal
from tests.engine.conftest import Node, definition, event_types, run, task, until

# Random hex: the journal compresses large values, and this needs new database pages (about
# 50 KB of them) wherever it is written, compressed or not.
BIG = random.Random(7).randbytes(50_000).hex()


def test_a_corrupt_database_file_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    garbage = b"this is not a SQLite database, it is a shopping list\n" * 200
    path.write_bytes(garbage)
    with pytest.raises(StoreError) as refused:
        SqliteJournal(str(path))
    assert str(path) in str(refused.value)
    assert "not a database" in str(refused.value)
    assert path.read_bytes() == garbage


class Held:
    """An async handler that records each call's idempotency key and answers ``result``
    once the test opens the gate."""

    def __init__(self, result: Any = None) -> None:
        self.result = result
        self.keys: list[str] = []
        self.gate = asyncio.Event()

    async def handler(self, event: Any, context: Any) -> Any:
        self.keys.append(context.idempotency_key)
        await self.gate.wait()
        return self.result


async def _started_and_held(node: Node, held: Held) -> tuple[Engine, str, str]:
    node.functions["hold"] = held.handler
    engine = await node.open()
    machine = engine.create_state_machine("Faults", definition({"T": task("hold")}))
    arn = (await engine.start_execution(machine.arn, "held", "{}")).arn
    await until(lambda: bool(held.keys))
    return engine, machine.arn, arn


async def _resumes_after_restart(node: Node, held: Held, arn: str) -> None:
    """The execution is still open at its last committed step; a restart finishes it by
    calling the Task again with the same idempotency key."""
    assert node.journal is not None
    assert node.journal.get_execution(arn).status == "RUNNING"  # type: ignore[union-attr]
    assert event_types(node.journal, arn)[-1] == "LambdaFunctionStarted"
    await node.close()
    held.gate = asyncio.Event()
    held.gate.set()
    engine = await node.open()
    assert await engine.wait_status(arn) == "SUCCEEDED"
    assert len(held.keys) == 2 and held.keys[0] == held.keys[1]
    assert event_types(engine.journal, arn).count("LambdaFunctionSucceeded") == 1  # type: ignore[arg-type]


def test_a_locked_database_detaches_the_execution_and_a_restart_resumes_it(node: Node) -> None:
    held = Held({"ok": True})

    async def scenario() -> None:
        engine, machine_arn, arn = await _started_and_held(node, held)
        locker = sqlite3.connect(node.path, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")  # e.g. a backup tool or an operator's sqlite3 shell
        held.gate.set()  # the Task's result cannot be journaled while the lock is held
        starting = engine.start_execution(machine_arn, "while-locked", "{}")
        outcomes = await asyncio.gather(engine.wait(arn), starting, return_exceptions=True)
        for outcome in outcomes:
            assert isinstance(outcome, StoreError)
            assert "locked" in str(outcome) and str(node.path) in str(outcome)
        assert engine.store_error is outcomes[0]
        locker.execute("ROLLBACK")
        locker.close()
        assert node.journal.find_execution(machine_arn, "while-locked") is None  # type: ignore[union-attr]
        await _resumes_after_restart(node, held, arn)
        await node.close()

    run(scenario())


def test_a_full_disk_is_reported_keeps_committed_steps_and_resumes_after_freeing_space(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The cap below is a per-connection pragma, so the steps must be written by the
    # connection this test can reach: the in-process writer. (The writer process reports
    # its SQLite errors the same way: see the locked-database test above.)
    monkeypatch.setenv("SAGAWAY_SQLITE_WRITER_PROCESS", "0")
    held = Held({"blob": BIG})

    async def scenario() -> None:
        engine, machine_arn, arn = await _started_and_held(node, held)
        # The journal's file may not grow any more: SQLite fails the writes that need new
        # pages with SQLITE_FULL, exactly as on a full disk.
        writer = node.journal._writer  # type: ignore[union-attr]
        pages = writer.execute("PRAGMA page_count").fetchone()[0]
        writer.execute(f"PRAGMA max_page_count={pages}")
        with pytest.raises(StoreError, match="database or disk is full"):
            await engine.start_execution(machine_arn, "big", json.dumps({"blob": BIG}))
        held.gate.set()  # the Task's large result does not fit either
        with pytest.raises(StoreError, match="database or disk is full"):
            await engine.wait(arn)
        assert isinstance(engine.store_error, StoreError)
        assert node.journal.find_execution(machine_arn, "big") is None  # type: ignore[union-attr]
        # Space is freed (the next connection has no cap); the restart resumes.
        await _resumes_after_restart(node, held, arn)
        engine = node.engine  # type: ignore[assignment]
        big = await engine.start_execution(machine_arn, "big", json.dumps({"blob": BIG}))
        assert await engine.wait_status(big.arn) == "SUCCEEDED"
        await node.close()

    run(scenario())


def _outcome(node: Node, states: dict[str, Any]) -> tuple[str, str | None, str | None, list[str]]:
    async def scenario() -> tuple[str, str | None, str | None, list[str]]:
        engine = await node.open()
        machine = engine.create_state_machine("Faults", definition(states))
        arn = (await engine.start_execution(machine.arn, "e", "{}")).arn
        record = await engine.wait(arn)
        assert record is not None
        types = event_types(engine.journal, arn)  # type: ignore[arg-type]
        await node.close()
        return record.status, record.error, record.output, types

    result: tuple[str, str | None, str | None, list[str]] = run(scenario())
    return result


async def _never_returns(event: Any, context: Any) -> Any:
    await asyncio.Event().wait()


def test_a_handler_that_never_returns_times_out(node: Node) -> None:
    node.functions["stuck"] = _never_returns
    status, error, _, types = _outcome(node, {"T": task("stuck", TimeoutSeconds=1)})
    assert (status, error) == ("FAILED", "States.Timeout")
    assert "LambdaFunctionTimedOut" in types


def test_a_blocked_sync_handler_times_out_and_the_timeout_is_catchable(node: Node) -> None:
    release = threading.Event()
    node.functions["stuck"] = lambda event, context: release.wait()
    catch = [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "Gave up"}]
    states = {
        "T": task("stuck", TimeoutSeconds=1, Catch=catch),
        "Gave up": {"Type": "Pass", "End": True},
    }
    try:
        status, _, output, _ = _outcome(node, states)
    finally:
        release.set()  # the worker thread cannot be interrupted: let it go
    assert status == "SUCCEEDED"
    assert json.loads(output or "")["error"]["Error"] == "States.Timeout"


def test_a_handler_without_heartbeats_fails_with_a_timeout(node: Node) -> None:
    # AWS reports a missed heartbeat as States.Timeout (States.HeartbeatTimeout is a name
    # only Retry and Catch accept).
    node.functions["silent"] = _never_returns
    states = {"T": task("silent", TimeoutSeconds=600, HeartbeatSeconds=1)}
    status, error, _, _ = _outcome(node, states)
    assert (status, error) == ("FAILED", "States.Timeout")


def test_a_result_over_the_payload_limit_is_data_limit_exceeded(node: Node) -> None:
    node.functions["huge"] = lambda event, context: "x" * (256 * 1024 + 1)
    status, error, _, _ = _outcome(node, {"T": task("huge")})
    assert (status, error) == ("FAILED", "States.DataLimitExceeded")


def test_data_limit_exceeded_can_be_caught(node: Node) -> None:
    node.functions["huge"] = lambda event, context: "x" * (256 * 1024 + 1)
    catch = [{"ErrorEquals": ["States.DataLimitExceeded"], "Next": "Smaller"}]
    states = {
        "T": task("huge", Catch=catch),
        "Smaller": {"Type": "Pass", "Parameters": {"error.$": "$.Error"}, "End": True},
    }
    status, _, output, _ = _outcome(node, states)
    assert (status, output) == ("SUCCEEDED", '{"error":"States.DataLimitExceeded"}')


def test_invalid_json_input_is_refused_before_anything_is_journaled(node: Node) -> None:
    async def scenario() -> None:
        engine = await node.open()
        machine = engine.create_state_machine(
            "Faults", definition({"P": {"Type": "Pass", "End": True}})
        )
        with pytest.raises(InvalidExecutionInput, match="Invalid State Machine Execution Input"):
            await engine.start_execution(machine.arn, "bad", '{"orderId": ')
        assert engine.journal.find_execution(machine.arn, "bad") is None
        good = await engine.start_execution(machine.arn, "bad", '{"orderId": 1}')
        assert await engine.wait_status(good.arn) == "SUCCEEDED"
        await node.close()

    run(scenario())


def test_async_and_threaded_handlers_that_exit_fail_only_their_task(node: Node) -> None:
    async def leaves(event: Any, context: Any) -> Any:
        raise SystemExit(4)

    def interrupted(event: Any, context: Any) -> Any:
        raise KeyboardInterrupt

    node.functions.update(leaves=leaves, interrupted=interrupted, ok=lambda e, c: "ok")

    async def scenario() -> None:
        engine = await node.open()
        try:
            for name, reason in (("leaves", "exit status 4"), ("interrupted", "signal: interrupt")):
                machine = engine.create_state_machine(name, definition({"T": task(name)}))
                ended = await engine.wait((await engine.start_execution(machine.arn)).arn)
                assert ended is not None and ended.error == "Lambda.Unknown"
                document = json.loads(ended.cause or "")
                assert document["errorType"] == "Runtime.ExitError"
                assert document["errorMessage"].endswith(f"Runtime exited with error: {reason}")
            machine = engine.create_state_machine("ok", definition({"T": task("ok")}))
            ended = await engine.wait((await engine.start_execution(machine.arn)).arn)
            assert ended is not None and ended.status == "SUCCEEDED"
        finally:
            await node.close()

    run(scenario())
