"""Lambda-style handlers behind Task states, reported the way AWS Lambda reports them."""

from __future__ import annotations

import json
from typing import Any

from sagaway.interpreter import InvokeTask, TaskFailed, TaskSucceeded
from sagaway.interpreter.messages import Event
from sagaway.resources.lambda_functions import FunctionRegistry, invoke
from tests.interpreter.kit import LAMBDA_ARN, drive, machine, types


class CardDeclinedError(Exception):
    pass


def _cmd(payload: Any, resource: str = LAMBDA_ARN, token: str = "root@1#0") -> InvokeTask:
    return InvokeTask(token=token, state_name="Charge", resource=resource, payload=payload)


def _registry(**handlers: Any) -> FunctionRegistry:
    registry = FunctionRegistry()
    for name, handler in handlers.items():
        registry.register(name, handler)
    return registry


def test_handler_receives_the_payload_and_its_result_is_the_output() -> None:
    seen: list[Any] = []

    def charge(event: Any, context: Any) -> Any:
        seen.append((event, context.function_name, context.idempotency_key))
        return {"charged": event["amount"]}

    result = invoke(_registry(charge=charge), _cmd({"amount": 5}))
    assert result == TaskSucceeded("root@1#0", {"charged": 5})
    assert seen == [({"amount": 5}, "charge", "root@1#0")]


def test_function_arn_with_qualifier_resolves_the_name() -> None:
    registry = _registry(charge=lambda e, c: "ok")
    assert invoke(registry, _cmd({}, resource=LAMBDA_ARN + ":prod")) == TaskSucceeded(
        "root@1#0", "ok"
    )


def test_exception_becomes_error_named_after_the_class_with_lambda_cause() -> None:
    def charge(event: Any, context: Any) -> Any:
        raise CardDeclinedError("card expired")

    result = invoke(_registry(charge=charge), _cmd({}))
    assert isinstance(result, TaskFailed)
    assert result.error == "CardDeclinedError"
    cause = json.loads(result.cause or "")
    assert cause["errorMessage"] == "card expired"
    assert cause["errorType"] == "CardDeclinedError"
    assert isinstance(cause["stackTrace"], list)
    assert any("raise CardDeclinedError" in line for line in cause["stackTrace"])


def test_request_id_is_stable_for_the_same_token() -> None:
    def boom(event: Any, context: Any) -> Any:
        raise ValueError(context.aws_request_id)

    first = invoke(_registry(charge=boom), _cmd({}))
    again = invoke(_registry(charge=boom), _cmd({}))
    other = invoke(_registry(charge=boom), _cmd({}, token="root@1#1"))
    message = json.loads(first.cause or "")["errorMessage"]  # type: ignore[union-attr]
    assert message == json.loads(again.cause or "")["errorMessage"]  # type: ignore[union-attr]
    assert message != json.loads(other.cause or "")["errorMessage"]  # type: ignore[union-attr]


def test_bytes_results_are_parsed_as_json() -> None:
    registry = _registry(charge=lambda e, c: b'{"ok": true, "n": [1, 2]}')
    assert invoke(registry, _cmd({})) == TaskSucceeded("root@1#0", {"ok": True, "n": [1, 2]})


def test_results_are_normalised_through_json() -> None:
    registry = _registry(charge=lambda e, c: {"t": (1, 2)})
    assert invoke(registry, _cmd({})) == TaskSucceeded("root@1#0", {"t": [1, 2]})


def test_result_over_256_kib_is_data_limit_exceeded() -> None:
    big = "x" * (256 * 1024)
    result = invoke(_registry(charge=lambda e, c: big), _cmd({}))
    assert isinstance(result, TaskFailed)
    assert result.error == "States.DataLimitExceeded"
    just_under = "x" * (256 * 1024 - 2)  # plus the two quotes of the JSON string
    assert isinstance(invoke(_registry(charge=lambda e, c: just_under), _cmd({})), TaskSucceeded)


def test_unknown_function_is_resource_not_found() -> None:
    result = invoke(FunctionRegistry(), _cmd({}))
    assert isinstance(result, TaskFailed)
    assert result.error == "Lambda.ResourceNotFoundException"
    assert "Function not found" in (result.cause or "")


def test_lambda_invoke_integration_uses_function_name_and_wraps_payload() -> None:
    seen: list[Any] = []

    def charge(event: Any, context: Any) -> Any:
        seen.append(event)
        return {"ok": 1}

    command = _cmd(
        {"FunctionName": "charge", "Payload": {"a": 1}}, resource="arn:aws:states:::lambda:invoke"
    )
    result = invoke(_registry(charge=charge), command)
    assert isinstance(result, TaskSucceeded)
    assert seen == [{"a": 1}]
    assert result.output["Payload"] == {"ok": 1}
    assert result.output["StatusCode"] == 200


def test_handlers_end_to_end_through_run_virtual_with_catch() -> None:
    def charge(event: Any, context: Any) -> Any:
        if event["amount"] > 100:
            raise CardDeclinedError("limit")
        return {"charged": event["amount"]}

    registry = _registry(charge=charge)

    def invoker(command: InvokeTask) -> tuple[Event, float]:
        return invoke(registry, command), 0.1

    m = machine(
        {
            "Charge": {
                "Type": "Task",
                "Resource": LAMBDA_ARN,
                "ResultPath": "$.payment",
                "Catch": [
                    {
                        "ErrorEquals": ["CardDeclinedError"],
                        "ResultPath": "$.error",
                        "Next": "Declined",
                    }
                ],
                "End": True,
            },
            "Declined": {"Type": "Pass", "OutputPath": "$.error.Error", "End": True},
        }
    )
    ok = drive(m, {"amount": 5}, invoker)
    assert ok.output == {"amount": 5, "payment": {"charged": 5}}
    assert types(ok.history)[2:5] == [
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
    ]
    declined = drive(m, {"amount": 500}, invoker)
    assert declined.status == "SUCCEEDED"
    assert declined.output == "CardDeclinedError"
    assert "LambdaFunctionFailed" in types(declined.history)
