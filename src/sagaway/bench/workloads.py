"""The benchmark workload of DESIGN.md §5: a 6-step order saga with no-op steps.

One definition serves both workloads; the input decides whether step 4 fails:

- ``happy``: CreateOrder, ReserveInventory, AuthorizePayment, BurnLoyaltyPoints,
  BookShipment, SendConfirmation: 6 state transitions.
- ``compensate``: BurnLoyaltyPoints fails; its Catch runs the compensations of the steps
  that completed, newest first (RefundPayment, ReleaseInventory, CancelOrder), then the
  Fail state: 4 + 3 + 1 = 8 state transitions.

The handlers are coroutine functions that do nothing, so what is measured is the engine
(interpreter, journal, dispatch), not the steps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sagaway.resources.lambda_functions import FunctionRegistry

FUNCTION_ARN = "arn:aws:lambda:us-east-1:111111111111:function:"
FAILING_STEP = "BurnLoyaltyPoints"

# (step, its compensation or None when nothing needs undoing / it cannot be undone)
STEPS: tuple[tuple[str, str | None], ...] = (
    ("CreateOrder", "CancelOrder"),
    ("ReserveInventory", "ReleaseInventory"),
    ("AuthorizePayment", "RefundPayment"),
    ("BurnLoyaltyPoints", "RestoreLoyaltyPoints"),
    ("BookShipment", "CancelShipment"),
    ("SendConfirmation", None),  # not compensable, hence last
)


class StepFailed(Exception):
    """Raised by the step named in the input's ``failAt`` (the ASL error is the class name)."""


@dataclass(frozen=True, slots=True)
class Workload:
    name: str
    input: dict[str, Any]
    expected_status: str
    transitions: int  # states entered by one execution

    @property
    def input_text(self) -> str:
        return json.dumps(self.input)


HAPPY = Workload("happy", {"orderId": "bench"}, "SUCCEEDED", len(STEPS))
COMPENSATE = Workload(
    "compensate",
    {"orderId": "bench", "failAt": FAILING_STEP},
    "FAILED",
    # the steps up to and including the failing one, the compensations of those before
    # it, and the Fail state
    2 * [name for name, _ in STEPS].index(FAILING_STEP) + 2,
)
WORKLOADS = {w.name: w for w in (HAPPY, COMPENSATE)}


def definition() -> str:
    """The saga in ASL: each step catches any error and starts undoing what ran before it."""
    states: dict[str, Any] = {}
    undo_chain: list[str] = []  # compensations of the steps so far, newest first
    for index, (step, compensation) in enumerate(STEPS):
        state: dict[str, Any] = {
            "Type": "Task",
            "Resource": FUNCTION_ARN + step,
            "ResultPath": f"$.{step}",
            "Catch": [
                {
                    "ErrorEquals": ["States.ALL"],
                    "ResultPath": "$.error",
                    "Next": undo_chain[0] if undo_chain else "OrderFailed",
                }
            ],
        }
        if index + 1 < len(STEPS):
            state["Next"] = STEPS[index + 1][0]
        else:
            state["End"] = True
        states[step] = state
        if compensation is not None:
            undo_chain.insert(0, compensation)
    for position, compensation in enumerate(undo_chain):
        after = undo_chain[position + 1] if position + 1 < len(undo_chain) else "OrderFailed"
        states[compensation] = {
            "Type": "Task",
            "Resource": FUNCTION_ARN + compensation,
            "ResultPath": None,
            "Next": after,
        }
    states["OrderFailed"] = {"Type": "Fail", "Error": "OrderFailed", "Cause": "compensated"}
    return json.dumps({"StartAt": STEPS[0][0], "States": states}, indent=2)


def functions() -> dict[str, Any]:
    """No-op coroutine handlers for every step and compensation, by function name."""
    handlers: dict[str, Any] = {}
    for step, compensation in STEPS:
        handlers[step] = _step(step)
        if compensation is not None:
            handlers[compensation] = _noop
    return handlers


def registry() -> FunctionRegistry:
    """:func:`functions` registered for an in-process engine."""
    registry = FunctionRegistry()
    for name, handler in functions().items():
        registry.register(name, handler)
    return registry


def _step(name: str) -> Any:
    async def handler(event: Any, context: Any) -> dict[str, Any]:
        if event.get("failAt") == name:
            raise StepFailed(f"{name} failed on purpose")
        return {"ok": True}

    handler.__name__ = name
    return handler


async def _noop(event: Any, context: Any) -> dict[str, Any]:
    return {"ok": True}
