"""The event loop engines run on: uvloop by default where installed, the standard library's
when SAGAWAY_EVENT_LOOP says so, a clear error for anything else; and the engine's own
paths (eager handlers, handlers that wait, threads, timeouts) on each loop."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from sagaway.engine import event_loop
from tests.api.serve_kit import Serve, client, machine, wait_end
from tests.engine.conftest import Node, definition, task


def _loop_module() -> str:
    async def which() -> str:
        return type(asyncio.get_running_loop()).__module__

    return event_loop.run(which())


def test_the_default_is_uvloop_where_it_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(event_loop.ENV, raising=False)
    assert importlib.util.find_spec("uvloop") is not None  # a dependency on Linux
    assert event_loop.choice() == "uvloop"
    assert _loop_module().startswith("uvloop")


def test_asyncio_is_chosen_by_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(event_loop.ENV, " AsyncIO ")
    assert event_loop.choice() == "asyncio"
    assert _loop_module().startswith("asyncio")


def test_an_unknown_loop_is_refused_with_the_names_accepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(event_loop.ENV, "trio")
    with pytest.raises(
        event_loop.EventLoopChoiceError, match="'trio': expected one of uvloop, asyncio"
    ):
        event_loop.choice()


def test_uvloop_asked_for_where_it_is_missing_says_how_to_get_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "uvloop" else real(name, *a)
    )
    monkeypatch.setenv(event_loop.ENV, "uvloop")
    with pytest.raises(event_loop.EventLoopChoiceError, match="pip install uvloop"):
        event_loop.choice()
    monkeypatch.delenv(event_loop.ENV)
    assert event_loop.choice() == "asyncio"  # the default falls back quietly


def test_the_cli_refuses_a_wrong_choice_before_it_starts(tmp_path: Path) -> None:
    env = {**os.environ, event_loop.ENV: "bogus"}
    done = subprocess.run(
        [sys.executable, "-m", "sagaway", "executions", "list", "--db", f"sqlite:///{tmp_path}/j.db"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "error: SAGAWAY_EVENT_LOOP='bogus': expected one of uvloop, asyncio" in done.stderr
    assert not (tmp_path / "j.db").exists()  # nothing was started


def _slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
    time.sleep(0.01)  # a thread-pool handler
    return {"thread": event["n"]}


async def _waits(event: dict[str, Any], context: Any) -> dict[str, Any]:
    await asyncio.sleep(0.01)  # goes on in a Task after its eager start
    return {"waited": event["n"]}


async def _at_once(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"eager": event["n"]}  # answered in its eager start


async def _hangs(event: dict[str, Any], context: Any) -> None:
    await asyncio.sleep(3600)


@pytest.mark.parametrize("loop", event_loop.LOOPS)
@pytest.mark.parametrize("kind", ["STANDARD", "EXPRESS"])
def test_each_kind_of_handler_runs_on_each_loop(
    loop: str, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(event_loop.ENV, loop)
    functions = {"slow": _slow, "waits": _waits, "at_once": _at_once, "hangs": _hangs}
    node = Node(tmp_path / "journal.db", functions)
    states = {
        "AtOnce": task("at_once", Next="Waits", ResultPath="$.a"),
        "Waits": task("waits", Next="Slow", ResultPath="$.b"),
        "Slow": task("slow", Next="Hangs", ResultPath="$.c"),
        "Hangs": task(
            "hangs",
            TimeoutSeconds=1,
            Catch=[{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.d", "Next": "Done"}],
        ),
        "Done": {"Type": "Pass", "End": True},
    }

    async def scenario() -> tuple[str, list[str]]:
        engine = await node.open()
        machine = engine.create_state_machine("Kinds", definition(states), type=kind)
        starts = [
            engine.start_execution(machine.arn, f"n{i}", json.dumps({"n": i})) for i in range(5)
        ]
        records = await asyncio.gather(*starts)
        outputs = []
        for record in records:
            ended = await engine.wait(record.arn)
            assert ended is not None and ended.status == "SUCCEEDED", ended
            outputs.append(ended.output or "")
        module = type(asyncio.get_running_loop()).__module__
        await node.close()
        return module, outputs

    module, outputs = event_loop.run(asyncio.wait_for(scenario(), 60))
    assert module.startswith(loop)
    for i, text in enumerate(outputs):
        out = json.loads(text)
        assert out["a"] == {"eager": i} and out["b"] == {"waited": i} and out["c"] == {"thread": i}
        assert out["d"]["Error"] == "States.Timeout"


@pytest.mark.parametrize("loop", event_loop.LOOPS)
def test_serve_runs_on_the_loop_chosen(loop: str, tmp_path: Path) -> None:
    with Serve(tmp_path, env={event_loop.ENV: loop}) as server:
        # uvicorn would take uvloop whenever it is importable: serve hands it the choice.
        maps = Path(f"/proc/{server.process.pid}/maps").read_text()
        assert ("uvloop" in maps) == (loop == "uvloop")
        sfn = client(server.url)
        arn = machine(
            sfn, "p", json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
        )
        ex = sfn.start_execution(stateMachineArn=arn, input='{"a": 1}')
        assert wait_end(sfn, ex["executionArn"])["status"] == "SUCCEEDED"
