"""Shared pieces for the engine tests: real SQLite journal files, inline definitions, and
an engine that can be closed and opened again on the same file (a restart)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sagaway.engine import event_loop
from sagaway.engine.engine import Engine
from sagaway.resources.lambda_functions import FunctionRegistry
from sagaway.store.sqlite import SqliteJournal

ACCOUNT = "111111111111"
HANG_GUARD = 60.0  # seconds before a wait that should end is reported as stuck


def fn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"


def task(name: str, **fields: Any) -> dict[str, Any]:
    """A Task state calling the handler registered as ``name``."""
    fields.setdefault("End", "Next" not in fields)
    return {"Type": "Task", "Resource": fn(name), **fields}


def definition(states: dict[str, Any], start: str | None = None) -> str:
    return json.dumps({"StartAt": start or next(iter(states)), "States": states})


class OffsetClock:
    """The wall clock moved forward by ``offset`` seconds: time that passed while the
    engine was down, without the test sleeping through it."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def now(self) -> float:
        return time.time() + self.offset


@dataclass
class Node:
    """An engine process on a journal file: ``open`` it, ``close`` it, open it again."""

    path: Path
    functions: dict[str, Callable[..., Any]] = field(default_factory=dict)
    engine: Engine | None = None
    journal: SqliteJournal | None = None

    async def open(self, clock: OffsetClock | None = None) -> Engine:
        registry = FunctionRegistry()
        for name, handler in self.functions.items():
            registry.register(name, handler)
        self.journal = SqliteJournal(str(self.path))
        self.engine = Engine(self.journal, registry, clock=clock)
        await self.engine.start()
        await self.engine.recovery.finished()  # resumed in the background: wait for it
        return self.engine

    async def close(self) -> None:
        if self.engine is not None:
            await self.engine.close()
        if self.journal is not None:
            self.journal.close()
        self.engine = self.journal = None


@pytest.fixture
def node(tmp_path: Path) -> Node:
    return Node(tmp_path / "journal.db")


async def until(predicate: Callable[[], bool]) -> None:
    """Yield to the engine until ``predicate`` holds (a progress condition, not a timing
    assertion: only a hung engine reaches the guard)."""
    deadline = time.monotonic() + HANG_GUARD
    while not predicate():
        assert time.monotonic() < deadline, "the engine made no progress"
        await asyncio.sleep(0.005)


def event_types(journal: SqliteJournal, arn: str) -> list[str]:
    return [event["type"] for event in journal.history(arn)]


def run(coro: Awaitable[Any]) -> Any:
    async def guarded() -> Any:
        return await asyncio.wait_for(coro, HANG_GUARD)

    # The loop the engine's commands run on (uvloop where installed): the engine's tests
    # run there, and the other suites' asyncio.run cover an application's own asyncio loop.
    return event_loop.run(guarded())
