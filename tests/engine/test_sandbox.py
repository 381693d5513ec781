"""Handlers in sandbox processes (resources/sandbox.py), driven by an engine in this process:
results, failures with the handler's own stack trace, heartbeats, and a clean close."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from sagaway.engine.engine import Engine
from sagaway.resources.lambda_functions import FunctionRegistry
from sagaway.resources.loader import load_functions
from sagaway.store.sqlite import SqliteJournal
from tests.engine.conftest import definition, run, task

FUNCTIONS = Path(__file__).with_name("sandbox_functions.py")


def test_sandboxed_handlers_answer_fail_and_heartbeat(tmp_path: Path) -> None:
    registry = load_functions(str(FUNCTIONS), FunctionRegistry(isolation="process"))
    journal = SqliteJournal(str(tmp_path / "j.db"))

    async def scenario() -> None:
        async with Engine(journal, registry) as engine:
            states = {
                "Echo": task("echo", Next="Beat"),
                "Beat": task("beating", HeartbeatSeconds=1, Next="Fail"),
                "Fail": task("fails"),
            }
            machine = engine.create_state_machine("Sandboxed", definition(states))
            arn = (await engine.start_execution(machine.arn, "one", '{"n": 1}')).arn
            ended = await engine.wait(arn)
            assert ended is not None and ended.status == "FAILED", ended
            assert ended.error == "ValueError"
            cause = json.loads(ended.cause or "")
            assert cause["errorMessage"] == "no 2 here"
            assert any("raise ValueError" in line for line in cause["stackTrace"])
            assert engine.tasks.sandboxes.processes == 1  # one warm sandbox served all three
        assert engine.tasks.sandboxes.processes == 0

    try:
        run(scenario())
    finally:
        journal.close()


def test_an_invocation_whose_process_died_twice_runs_next_in_a_sandbox(tmp_path: Path) -> None:
    """Two engines stop while the same attempt runs in-process (as if its handler had ended
    them); the third runs that attempt in a sandbox, where it answers as it always would."""
    path = str(tmp_path / "j.db")

    async def life(start: bool, last: bool = False) -> str | None:
        journal = SqliteJournal(path)
        engine = Engine(journal, load_functions(str(FUNCTIONS)))
        try:
            await engine.start()
            await engine.recovery.finished()  # resumed in the background: wait for it
            if start:
                machine = engine.create_state_machine("Slow", definition({"T": task("slow")}))
                await engine.start_execution(machine.arn, "slow", '{"seconds": 0.5}')
            arn = next(iter(engine.actors))
            if not last:
                await asyncio.sleep(0.2)  # the handler runs in a thread: stop mid-call
                return None
            ended = await engine.wait(arn)
            assert ended is not None and ended.status == "SUCCEEDED", ended
            return str(ended.output)
        finally:
            await engine.close()
            journal.close()

    assert run(life(start=True)) is None
    assert run(life(start=False)) is None  # re-invoked in-process once
    output = run(life(start=False, last=True))
    assert output is not None and json.loads(output)["pid"] != os.getpid()
