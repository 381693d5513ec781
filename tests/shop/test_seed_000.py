"""Seed 000: the article's three-step order-saga.asl.json runs unchanged (its SAM
placeholders substituted as SAM would) with its six handlers; ChargePayment throws, as in the
article's failure test, and the stock reservation and the order are compensated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sagaway import FunctionRegistry, lambda_arn, validate_definition
from sagaway.asl.parser import parse_definition
from sagaway.engine.virtual import run_virtual
from sagaway.interpreter import InvokeTask
from sagaway.interpreter.messages import Event
from sagaway.resources.lambda_functions import invoke

TEXT = (Path(__file__).parent / "seed000" / "order-saga.asl.json").read_text()
FUNCTIONS = ("CreateOrder", "CancelOrder", "ReserveInventory", "ReleaseInventory",
             "ChargePayment", "RefundPayment")  # fmt: skip


def substituted() -> str:
    text = TEXT
    for name in FUNCTIONS:
        text = text.replace("${" + name + "FunctionArn}", lambda_arn(name))
    return text


def run(charge_fails: bool) -> tuple[Any, list[str]]:
    calls: list[str] = []

    def handler(name: str) -> Any:
        def h(event: dict[str, Any], context: Any) -> dict[str, Any]:
            calls.append(name)
            if name == "ChargePayment" and charge_fails:
                raise Exception("Payment processing failed")
            return {**event, name: "done"}

        return h

    registry = FunctionRegistry()
    for name in FUNCTIONS:
        registry.register(name, handler(name))

    def invoker(command: InvokeTask) -> tuple[Event, float]:
        return invoke(registry, command), 0.05

    outcome = run_virtual(parse_definition(substituted()), {"orderId": "o-1", "customerId": "c-1"},
                          invoker, start_time=0.0, execution_arn="arn:x:execution:saga:e1",
                          state_machine_arn="arn:x:stateMachine:saga")  # fmt: skip
    return outcome, calls


def test_definition_is_accepted() -> None:
    assert validate_definition(substituted()) == []


def test_happy_path() -> None:
    outcome, calls = run(charge_fails=False)
    assert outcome.status == "SUCCEEDED"
    assert calls == ["CreateOrder", "ReserveInventory", "ChargePayment"]


def test_failing_charge_is_retried_then_compensated_in_reverse() -> None:
    outcome, calls = run(charge_fails=True)
    assert (outcome.status, outcome.error) == ("FAILED", "OrderSagaFailed")
    # States.TaskFailed matches the thrown Error: 1 try + 3 retries (2s, 4s, 8s of backoff).
    assert calls == ["CreateOrder", "ReserveInventory"] + ["ChargePayment"] * 4 + [
        "ReleaseInventory",
        "CancelOrder",
    ]
    waits = [e for e in outcome.history if e["type"] == "TaskStateEntered"]
    assert [e["stateEnteredEventDetails"]["name"] for e in waits][-2:] == [
        "CompensateInventory",
        "CompensateOrder",
    ]
    json.dumps(outcome.history)
