"""An order's saga, step by step, read from the engine's journal (its execution history)."""

from __future__ import annotations

from typing import Any

from sagaway import Journal
from shop.saga import SAGA_NAME

_FAILED = ("TaskFailed", "TaskTimedOut", "LambdaFunctionFailed", "LambdaFunctionTimedOut")
STATE_MACHINE = f"arn:aws:states:us-east-1:111111111111:stateMachine:{SAGA_NAME}"


def saga_steps(journal: Journal, order_id: str) -> list[dict[str, Any]]:
    """One entry per Task state entered: name, outcome, error; redrives included."""
    steps: list[dict[str, Any]] = []
    names = [order_id] + [f"{order_id}-redrive-{n}" for n in range(1, 20)]
    for name in names:
        record = journal.find_execution(STATE_MACHINE, name)
        if record is None:
            break
        steps.extend(_from_history(journal.history(record.arn), name))
    return steps


def _from_history(events: list[dict[str, Any]], execution: str) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for event in events:
        kind = event.get("type", "")
        if kind == "TaskStateEntered":
            current = {"step": event["stateEnteredEventDetails"]["name"], "execution": execution,
                       "status": "RUNNING", "attempts": 0}  # fmt: skip
            steps.append(current)
        elif current is not None and kind in ("TaskScheduled", "LambdaFunctionScheduled"):
            current["attempts"] += 1
        elif current is not None and kind in _FAILED:
            details: dict[str, Any] = next(
                (v for k, v in event.items() if k.endswith("EventDetails")), {}
            )
            current["lastError"] = details.get("error")
            current["status"] = "FAILED"
        elif current is not None and kind in ("TaskSucceeded", "LambdaFunctionSucceeded"):
            current["status"] = "SUCCEEDED"
    return steps
