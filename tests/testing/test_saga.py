"""run_saga / SagaTest: whole executions on the virtual clock, Tasks mocked or real."""

from __future__ import annotations

import asyncio
import json
import time
import types
from pathlib import Path
from typing import Any

import pytest

from sagaway.resources.lambda_functions import FunctionRegistry
from sagaway.testing import (
    DEFAULT_START,
    InvalidDefinitionError,
    SagaTest,
    SagaTestError,
    VirtualClock,
    run_saga,
)
from tests.testing.sagas import compensation_saga, definition, fn, recording_handlers, task

ORDER = {"orderId": "o-7"}


def test_a_failing_step_runs_the_compensations_newest_first() -> None:
    log: list[tuple[str, Any]] = []
    result = run_saga(
        compensation_saga(),
        ORDER,
        functions=recording_handlers(log),
        mocks={"Ship": {"Throw": {"Error": "CourierUnavailable", "Cause": "no courier"}}},
    )
    assert result.status == "FAILED"
    assert (result.error, result.cause) == ("OrderFailed", "compensated")
    assert result.states_entered() == [
        "Reserve",
        "Charge",
        "Ship",
        "UndoCharge",
        "UndoReserve",
        "Failed",
    ]
    # The real handlers ran for every state without a mock, in that order; ship never ran.
    assert [name for name, _ in log] == ["reserve", "charge", "undo_charge", "undo_reserve"]
    undo_input = result.task_calls("UndoCharge")[0]
    assert undo_input["error"] == {"Error": "CourierUnavailable", "Cause": "no courier"}
    assert undo_input["charge"] == {"by": "charge"}


def test_real_handlers_run_when_a_state_is_not_mocked() -> None:
    log: list[tuple[str, Any]] = []
    result = run_saga(compensation_saga(), ORDER, functions=recording_handlers(log))
    assert result.succeeded
    assert [name for name, _ in log] == ["reserve", "charge", "ship"]
    assert log[0][1] == ORDER
    assert result.state_output("Ship") == {
        **ORDER,
        "reserve": {"by": "reserve"},
        "charge": {"by": "charge"},
        "ship": {"by": "ship"},
    }
    assert [call.mocked for call in result.calls] == [False, False, False]


def test_a_handler_exception_fails_the_task_with_its_class_name() -> None:
    class CardDeclined(Exception):
        pass

    def charge(event: Any, context: Any) -> Any:
        raise CardDeclined("declined")

    log: list[tuple[str, Any]] = []
    handlers = {**recording_handlers(log), "charge": charge}
    result = run_saga(compensation_saga(), ORDER, functions=handlers)
    assert result.states_entered()[-2:] == ["UndoReserve", "Failed"]
    error = result.state_output("UndoReserve")["error"]
    assert error["Error"] == "CardDeclined"
    assert json.loads(error["Cause"])["errorMessage"] == "declined"


def test_async_handlers_are_awaited() -> None:
    async def charge(event: Any, context: Any) -> Any:
        await asyncio.sleep(0)
        return {"async": True, "key": context.idempotency_key}

    saga = definition({"Charge": task("charge", End=True)})
    result = run_saga(saga, {}, functions={"charge": charge})
    assert result.output == {"async": True, "key": "root@1#0"}


def test_async_handlers_work_when_the_test_itself_runs_in_an_event_loop() -> None:
    async def charge(event: Any, context: Any) -> Any:
        await asyncio.sleep(0)
        return "done"

    async def an_async_test() -> Any:
        saga = definition({"Charge": task("charge", End=True)})
        return run_saga(saga, {}, functions={"charge": charge}).output

    assert asyncio.run(an_async_test()) == "done"


def test_a_one_day_wait_finishes_at_once_with_a_day_of_virtual_time() -> None:
    saga = definition(
        {
            "Wait": {"Type": "Wait", "Seconds": 86400, "Next": "Stamp"},
            "Stamp": {"Type": "Pass", "Parameters": {"at.$": "$$.State.EnteredTime"}, "End": True},
        }
    )
    started = time.monotonic()
    result = run_saga(saga, {})
    assert time.monotonic() - started < 30  # a real wait would take a day
    assert result.elapsed == 86400
    assert result.output == {"at": "2024-01-02T00:00:00.000Z"}


def test_handlers_read_the_virtual_time_from_the_clock() -> None:
    clock = VirtualClock(DEFAULT_START)
    seen: list[float] = []

    def stamp(event: Any, context: Any) -> Any:
        seen.append(clock.now())
        return None

    saga = definition(
        {
            "Wait": {"Type": "Wait", "Seconds": 600, "Next": "Stamp"},
            "Stamp": task("stamp", End=True),
        }
    )
    result = run_saga(saga, {}, functions={"stamp": stamp}, clock=clock)
    assert seen == [DEFAULT_START + 600]
    assert result.calls[0].time == DEFAULT_START + 600
    assert clock.now() == DEFAULT_START + 600


def test_a_handler_that_advances_the_clock_past_timeout_seconds_times_out() -> None:
    clock = VirtualClock()

    def slow(event: Any, context: Any) -> Any:
        clock.advance(120)
        return "late"

    saga = definition({"Slow": task("slow", TimeoutSeconds=60, End=True)})
    result = run_saga(saga, {}, functions={"slow": slow}, clock=clock)
    assert (result.status, result.error) == ("FAILED", "States.Timeout")
    assert result.elapsed == 60


def test_start_time_sets_the_execution_start() -> None:
    saga = definition(
        {"Now": {"Type": "Pass", "Parameters": {"t.$": "$$.Execution.StartTime"}, "End": True}}
    )
    result = run_saga(saga, {}, start_time=1_700_000_000)
    assert result.output == {"t": "2023-11-14T22:13:20.000Z"}
    assert result.start_time == 1_700_000_000
    with pytest.raises(SagaTestError, match="not both"):
        run_saga(saga, {}, start_time=0, clock=VirtualClock())


def test_definition_as_text_path_or_dict(tmp_path: Path) -> None:
    name = {"Type": "Pass", "Parameters": {"sm.$": "$$.StateMachine.Name"}, "End": True}
    saga = definition({"Name": name})
    path = tmp_path / "orders.asl.json"
    path.write_text(json.dumps(saga))
    for source in (saga, json.dumps(saga)):
        assert run_saga(source).output == {"sm": "SagaTest"}
    # From a file, the state machine is named after it.
    for source in (path, str(path)):
        assert run_saga(source).output == {"sm": "orders"}
    assert run_saga(path, name="Checkout").output == {"sm": "Checkout"}


def test_an_invalid_definition_lists_its_problems() -> None:
    bad = {"StartAt": "Missing", "States": {"P": {"Type": "Pass", "End": True}}}
    with pytest.raises(InvalidDefinitionError, match="MISSING_TRANSITION_TARGET"):
        run_saga(bad)
    with pytest.raises(SagaTestError, match="neither JSON text nor a readable file"):
        run_saga("no/such/file.asl.json")


def test_functions_from_a_module_or_a_registry() -> None:
    module = types.ModuleType("handlers_module")
    exec(  # a throwaway module whose public functions become handlers
        "def charge(event, context):\n    return {'module': True}\n",
        module.__dict__,
    )
    saga = definition({"Charge": task("charge", End=True)})
    assert run_saga(saga, functions=module).output == {"module": True}
    registry = FunctionRegistry()
    registry.register("charge", lambda event, context: {"registry": True})
    assert run_saga(saga, functions=registry).output == {"registry": True}
    with pytest.raises(SagaTestError, match="not callable"):
        run_saga(saga, functions={"charge": 42})


def test_an_unregistered_unmocked_function_is_a_clear_error() -> None:
    saga = definition({"Charge": task("charge", End=True)})
    with pytest.raises(SagaTestError, match=r"'charge'.*registered: other"):
        run_saga(saga, functions={"other": lambda e, c: None})


def test_a_service_integration_must_be_mocked() -> None:
    sqs = {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": True}
    saga = definition({"Notify": sqs})
    with pytest.raises(SagaTestError, match="mock this state"):
        run_saga(saga)
    assert run_saga(saga, mocks={"Notify": {"Return": {"MessageId": "m-1"}}}).output == {
        "MessageId": "m-1"
    }


def test_lambda_invoke_calls_the_named_function_with_its_payload() -> None:
    invoke = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": fn("charge"), "Payload": {"amount.$": "$.amount"}},
        "ResultSelector": {"charged.$": "$.Payload.charged"},
        "End": True,
    }
    saga = definition({"Charge": invoke})
    result = run_saga(saga, {"amount": 3}, functions={"charge": lambda e, c: {"charged": e}})
    assert result.output == {"charged": {"amount": 3}}


def test_a_saga_test_runs_many_times_and_run_mocks_override() -> None:
    log: list[tuple[str, Any]] = []
    saga = SagaTest(
        compensation_saga(),
        functions=recording_handlers(log),
        mocks={"Ship": {"Return": {"tracking": "t-1"}}},
    )
    assert saga.task_states == ["Charge", "Reserve", "Ship", "UndoCharge", "UndoReserve"]
    happy = saga.run(ORDER)
    assert happy.state_output("Ship")["ship"] == {"tracking": "t-1"}
    sad = saga.run(ORDER, mocks={"Charge": {"Throw": {"Error": "Declined"}}})
    assert sad.states_entered() == ["Reserve", "Charge", "UndoReserve", "Failed"]
    # The constructor's mocks still apply to later runs.
    assert saga.run(ORDER).state_output("Ship")["ship"] == {"tracking": "t-1"}


def test_a_wait_for_task_token_task_is_answered_by_its_mock() -> None:
    callback = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "approve", "Payload": {"token.$": "$$.Task.Token"}},
        "End": True,
    }
    saga = definition({"Approve": callback})
    with pytest.raises(SagaTestError, match="mock this state"):
        run_saga(saga, functions={"approve": lambda e, c: None})
    result = run_saga(saga, mocks={"Approve": {"Return": {"approved": True}}})
    assert result.output == {"approved": True}
    assert result.task_calls("Approve") == [
        {"FunctionName": "approve", "Payload": {"token": "root@1#0"}}
    ]
