"""Definitions and handlers shared by the test kit's tests."""

from __future__ import annotations

from typing import Any

ACCOUNT = "111111111111"


def fn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"


def task(function: str, **fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": fn(function), **fields}


def definition(states: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"StartAt": next(iter(states)), "States": states, **top}


def _undo(step: str, then: str) -> dict[str, Any]:
    return task(f"undo_{step}", ResultPath=None, Next=then)


def compensation_saga() -> dict[str, Any]:
    """Three steps; a failure of step N undoes steps N-1 .. 1, newest first, then fails."""
    catch_all = {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error"}
    return definition(
        {
            "Reserve": task(
                "reserve",
                ResultPath="$.reserve",
                Catch=[{**catch_all, "Next": "Failed"}],
                Next="Charge",
            ),
            "Charge": task(
                "charge",
                ResultPath="$.charge",
                Catch=[{**catch_all, "Next": "UndoReserve"}],
                Next="Ship",
            ),
            "Ship": task(
                "ship",
                ResultPath="$.ship",
                Catch=[{**catch_all, "Next": "UndoCharge"}],
                Next="Done",
            ),
            "Done": {"Type": "Succeed"},
            "UndoCharge": _undo("charge", "UndoReserve"),
            "UndoReserve": _undo("reserve", "Failed"),
            "Failed": {"Type": "Fail", "Error": "OrderFailed", "Cause": "compensated"},
        }
    )


def recording_handlers(log: list[tuple[str, Any]]) -> dict[str, Any]:
    """A handler per step and compensation; each appends (name, event) to ``log``."""

    def make(name: str) -> Any:
        def handler(event: Any, context: Any) -> Any:
            log.append((name, event))
            return {"by": name}

        return handler

    names = ["reserve", "charge", "ship", "undo_charge", "undo_reserve"]
    return {name: make(name) for name in names}
