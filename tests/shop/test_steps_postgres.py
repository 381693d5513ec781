"""The intake reads an order's steps through the store port: the same answer from a journal
in PostgreSQL (a cluster's) as from SQLite, here from a real engine's history."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sagaway import Engine, FunctionRegistry, open_journal
from shop.saga import SAGA_NAME
from shop.steps import saga_steps
from tests.store.conftest import drop_schema, postgres_url

ROOT = Path(__file__).resolve().parents[2]
FN = "arn:aws:lambda:us-east-1:111111111111:function:"
DEFINITION = json.dumps({"StartAt": "ReserveInventory", "States": {
    "ReserveInventory": {"Type": "Task", "Resource": f"{FN}reserve", "Next": "AuthorizePayment"},
    "AuthorizePayment": {"Type": "Task", "Resource": f"{FN}authorize", "End": True,
                         "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Declined"}]},
    "Declined": {"Type": "Fail", "Error": "OrderFailed"}}})  # fmt: skip


async def _run_saga(url: str) -> None:
    def reserve(event: Any, context: Any) -> Any:
        return event

    def authorize(event: Any, context: Any) -> Any:
        raise ValueError("card declined")

    registry = FunctionRegistry()
    registry.register("reserve", reserve)
    registry.register("authorize", authorize)
    journal = open_journal(url, owner="intake-test")
    try:
        async with Engine(journal, registry) as engine:
            machine = engine.create_state_machine(SAGA_NAME, DEFINITION)
            record = await engine.start_execution(machine.arn, "o-1", "{}")
            assert await engine.wait_status(record.arn, 10) == "FAILED"
    finally:
        journal.close()


def _steps(url: str) -> list[dict[str, Any]]:
    # The engine runs in a process of its own, as the shop's engine does beside the intake.
    engine = subprocess.run([sys.executable, "-m", "tests.shop.test_steps_postgres", url],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert engine.returncode == 0, engine.stderr
    reader = open_journal(url)  # as the intake opens it: no worker identity
    try:
        return saga_steps(reader, "o-1")
    finally:
        reader.close()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_the_intake_reads_steps_from_either_journal(database: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'j.db'}" if database == "sqlite" else postgres_url()
    try:
        steps = _steps(url)
    finally:
        if database == "postgresql":
            drop_schema(url)
    assert [(s["step"], s["status"], s["attempts"]) for s in steps] == [
        ("ReserveInventory", "SUCCEEDED", 1), ("AuthorizePayment", "FAILED", 1)]  # fmt: skip
    assert steps[1]["lastError"] == "ValueError"


if __name__ == "__main__":
    asyncio.run(_run_saga(sys.argv[1]))
