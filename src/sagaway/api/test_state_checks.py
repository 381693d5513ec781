"""TestState's request rules: which states take a mock, what a mock may hold, and what a
given context object may hold.

The API reference says a Map or Parallel is tested only with a mock ("TestState only
supports the following when a mock is specified: ... Parallel, or Map states"); the wording
of each refusal is AWS's, as its recorded answers give it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from sagaway.api.errors import ApiError
from sagaway.expressions.jsontext import loads

_MOCKABLE = frozenset({"Task", "Map", "Parallel"})
_NEEDS_MOCK = (
    "TestState API does not support Map or Parallel states. Supported state types include: "
    "[Task, Wait, Pass, Succeed, Fail, Choice]"
)
# The context object's fields (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html),
# each with whether it must be a string.
_CONTEXT_FIELDS: dict[str, dict[str, bool]] = {
    "Execution": {
        "Id": True, "Input": False, "Name": True, "RoleArn": True, "StartTime": True,
        "RedriveCount": False, "RedriveTime": True,
    },
    "State": {"EnteredTime": True, "Name": True, "RetryCount": False},
    "StateMachine": {"Id": True, "Name": True},
    "Task": {"Token": True},
}  # fmt: skip
_CALLBACK_PATTERNS = (".sync", ".waitForTaskToken")


def check_mock(body: Mapping[str, Any], params: Mapping[str, Any]) -> None:
    """Refuse a mock the tested state cannot take, or a missing one it needs."""
    mock: Mapping[str, Any] = params.get("mock") or {}
    mocked = "result" in mock or "errorOutput" in mock
    kind = body.get("Type")
    config: Mapping[str, Any] = params.get("stateConfiguration") or {}
    if "result" in mock and "errorOutput" in mock:
        _refuse("A test mock should have only one of the following fields: [result, errorOutput].")
    if mocked and params.get("revealSecrets"):
        _refuse("TestState does not support RevealSecrets when a mock is specified.")
    if mocked and kind not in _MOCKABLE:
        _refuse(f"State type '{kind}' is not supported when a mock is specified")
    if not mocked and "mapIterationFailureCount" in config:
        _refuse("TestState does not support MapIterationFailureCount when a mock is not specified.")
    if not mocked and kind in ("Map", "Parallel"):
        raise ApiError("InvalidDefinition", _NEEDS_MOCK)
    if not mocked and kind == "Task" and not params.get("roleArn"):
        _refuse("RoleArn must be specified when testing a Task state")
    if "result" in mock:
        try:
            result = loads(mock["result"])
        except (TypeError, ValueError):
            _refuse("Mocked result must be valid JSON")
        if kind in ("Map", "Parallel"):
            _check_result(body, result, config.get("mapIterationFailureCount"))


def _check_result(body: Mapping[str, Any], result: Any, failures: Any) -> None:
    if body.get("Type") == "Map" and "ResultWriter" in body:
        if not isinstance(result, dict):
            _refuse("Mocked result must be a JSON object.")
        return
    if not isinstance(result, list):
        _refuse("Mocked result must be an array.")
    branches = body.get("Branches")
    if (
        body.get("Type") == "Parallel"
        and isinstance(branches, list)
        and len(result) != len(branches)
    ):
        _refuse(
            "Mocked result must contain the same number of items as number of Parallel branches."
        )
    if isinstance(failures, int) and failures > len(result):
        _refuse(
            "Map iteration failure count must be less than or equal to the number of Map iterations"
        )


def check_context(body: Mapping[str, Any], context: Mapping[str, Any]) -> None:
    """A given context holds only the context object's own fields, with string ones as
    strings; ``Map`` cannot be given, ``Task`` only to a Task that waits for a callback or
    a job."""
    for key, value in context.items():
        if key == "Map":
            _invalid("'Map' field is not supported when mocking a Context object")
        fields = _CONTEXT_FIELDS.get(key)
        if fields is None:
            _invalid(f"Field '{key}' is not allowed")
        if key == "Task" and not _waits(body):
            _invalid(
                "Context object contains 'Task' when state is not a Task state with a '.sync' "
                "or '.waitForTaskToken' service integration pattern"
            )
        if not isinstance(value, Mapping):
            _invalid(f"{key} must be an object")
        for name, item in value.items():
            if name not in fields:
                _invalid(f"Field '{name}' is not allowed")
            if fields[name] and not isinstance(item, str):
                _invalid(f"{key}.{name} must be a string")


def _waits(body: Mapping[str, Any]) -> bool:
    resource = body.get("Resource")
    if body.get("Type") != "Task" or not isinstance(resource, str):
        return False
    return any(pattern in resource for pattern in _CALLBACK_PATTERNS)


def _refuse(message: str) -> NoReturn:
    raise ApiError("ValidationException", message)


def _invalid(reason: str) -> NoReturn:
    raise ApiError("ValidationException", f"Invalid Context object provided: {reason}")
