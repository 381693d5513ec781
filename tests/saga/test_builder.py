"""The saga builder compiles to valid ASL whose Catch chains undo exactly what completed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sagaway import DeadLetter, FunctionRegistry, RetryPolicy, Saga, lambda_arn, validate_definition
from sagaway.asl.parser import parse_definition
from sagaway.engine.virtual import run_virtual
from sagaway.interpreter import InvokeTask
from sagaway.interpreter.messages import Event
from sagaway.resources.lambda_functions import invoke
from shop.saga import order_saga

ROOT = Path(__file__).resolve().parents[2]


def three_steps() -> Saga:
    saga = Saga("T", dead_letter=DeadLetter(lambda_arn("Park")))
    for name in ("A", "B", "C"):
        saga.step(name, lambda_arn(name), compensation=f"Undo{name}",
                  compensation_resource=lambda_arn(f"Undo{name}"),
                  retry=[RetryPolicy(("Transient",), max_attempts=2)])  # fmt: skip
    return saga


def run(saga: Saga, failing: dict[str, str], value: Any = None) -> tuple[str, list[str]]:
    calls: list[str] = []
    registry = FunctionRegistry()
    for name in ("A", "B", "C", "UndoA", "UndoB", "UndoC", "Park"):
        registry.register(name, _handler(name, failing, calls))

    def invoker(command: InvokeTask) -> tuple[Event, float]:
        return invoke(registry, command), 0.01

    outcome = run_virtual(parse_definition(json.dumps(saga.to_definition())), value or {},
                          invoker, start_time=0.0, execution_arn="arn:x:execution:T:e",
                          state_machine_arn="arn:x:stateMachine:T")  # fmt: skip
    return outcome.status, calls


def _handler(name: str, failing: dict[str, str], calls: list[str]) -> Any:
    def handler(event: Any, context: Any) -> Any:
        calls.append(name)
        if name in failing:
            raise type(failing[name], (Exception,), {})("boom")
        return {"done": name}

    return handler


def test_definition_is_valid_asl() -> None:
    assert validate_definition(json.dumps(three_steps().to_definition())) == []
    assert validate_definition(order_saga().to_json()) == []


def test_success_runs_every_step_and_no_compensation() -> None:
    assert run(three_steps(), {}) == ("SUCCEEDED", ["A", "B", "C"])


def test_failure_compensates_exactly_the_completed_steps_in_reverse() -> None:
    status, calls = run(three_steps(), {"C": "Declined"})
    assert (status, calls) == ("FAILED", ["A", "B", "C", "UndoB", "UndoA"])
    status, calls = run(three_steps(), {"A": "Declined"})
    assert (status, calls) == ("FAILED", ["A"])


def test_exhausted_retries_park_instead_of_compensating() -> None:
    status, calls = run(three_steps(), {"B": "Transient"})
    assert status == "FAILED"
    assert calls == ["A", "B", "B", "B", "Park"]


def test_failed_compensation_is_dead_lettered() -> None:
    _, calls = run(three_steps(), {"C": "Declined", "UndoB": "Broken"})
    assert calls[:4] == ["A", "B", "C", "UndoB"]
    assert calls[-1] == "Park" and "UndoA" not in calls


def test_resume_starts_at_the_named_step() -> None:
    status, calls = run(three_steps(), {}, {"resume": "B"})
    assert (status, calls) == ("SUCCEEDED", ["B", "C"])


def test_checked_in_order_saga_equals_the_builders_output() -> None:
    checked_in = json.loads((ROOT / "statemachines" / "order-saga.asl.json").read_text())
    assert checked_in == order_saga().to_definition()
