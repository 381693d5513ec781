"""The benchmark saga: valid ASL, and the transition counts the report relies on."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sagaway.asl.parser import parse_definition
from sagaway.asl.validate import validate_definition
from sagaway.bench.workloads import COMPENSATE, HAPPY, Workload, definition, registry
from sagaway.engine.virtual import run_virtual
from sagaway.interpreter.messages import Event, InvokeTask, TaskFailed, TaskSucceeded


def test_definition_is_valid_asl() -> None:
    assert validate_definition(definition()) == []


def _invoke(command: InvokeTask) -> tuple[Event, float]:
    # The registry's coroutine handlers, called directly (no engine in this test).
    name = command.resource.rsplit(":", 1)[-1]
    _, handler = registry().resolve(name)
    assert handler is not None
    try:
        value = asyncio.run(handler(command.payload, None))
    except Exception as exc:
        return TaskFailed(command.token, type(exc).__name__, str(exc)), 0.0
    return TaskSucceeded(command.token, value), 0.0


def _entered(outcome_history: list[dict[str, Any]]) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"]
        for e in outcome_history
        if e["type"].endswith("StateEntered")
    ]


@pytest.mark.parametrize(
    ("workload", "path"),
    [
        (HAPPY, ["CreateOrder", "ReserveInventory", "AuthorizePayment", "BurnLoyaltyPoints",
                 "BookShipment", "SendConfirmation"]),
        (COMPENSATE, ["CreateOrder", "ReserveInventory", "AuthorizePayment", "BurnLoyaltyPoints",
                      "RefundPayment", "ReleaseInventory", "CancelOrder", "OrderFailed"]),
    ],
)  # fmt: skip
def test_each_workload_takes_its_path(workload: Workload, path: list[str]) -> None:
    outcome = run_virtual(
        parse_definition(definition()), workload.input, _invoke, start_time=0.0,
        execution_arn="arn:aws:states:us-east-1:111111111111:execution:bench:x",
        state_machine_arn="arn:aws:states:us-east-1:111111111111:stateMachine:bench",
    )  # fmt: skip
    assert outcome.status == workload.expected_status
    assert _entered(outcome.history) == path
    assert workload.transitions == len(path)
