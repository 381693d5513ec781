"""Handlers in sandbox processes (resources/sandbox.py), driven by an engine in this process:
results, failures with the handler's own stack trace, heartbeats, and a clean close."""

from __future__ import annotations

import json
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
