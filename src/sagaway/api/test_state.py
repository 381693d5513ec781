"""TestState: run one state of a definition on its own and show what it did.

The request's ``definition`` is one state, or a whole machine with ``stateName`` naming the
state (at any depth). The state runs once on the pure interpreter (see
``test_state_machine`` and ``test_state_run``); its Task is answered by ``mock`` when given,
else, for a Lambda resource, by the handler registered on this server. ``inspectionLevel``
DEBUG and TRACE add ``inspectionData`` (``test_state_inspect``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from sagaway.api.errors import ApiError
from sagaway.api.machines import check_definition
from sagaway.api.test_state_checks import check_context, check_mock
from sagaway.api.test_state_inspect import ABSENT, inspection_data, items_refusal
from sagaway.api.test_state_machine import TestedState, build_definition, find_state
from sagaway.api.test_state_run import ROOT, Outcome, Setup, run_state
from sagaway.asl.parser import parse_definition
from sagaway.expressions.jsontext import dumps, loads_document
from sagaway.expressions.scope import Scope
from sagaway.interpreter import InvokeTask, TaskFailed, TaskSucceeded
from sagaway.interpreter.messages import Event
from sagaway.interpreter.resources import LAMBDA, parse_resource
from sagaway.resources.lambda_functions import FunctionRegistry, invoke

if TYPE_CHECKING:
    from sagaway.api.service import Api

THRESHOLD_ERROR = "States.ExceedToleratedFailureThreshold"
THRESHOLD_CAUSE = "The specified tolerated failure threshold was exceeded"
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"


async def test_state(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    definition = _json(params["definition"], "InvalidDefinition", "definition")
    if not isinstance(definition, Mapping):
        raise ApiError("InvalidDefinition", "Invalid State Machine Definition: not an object")
    tested = find_state(definition, params.get("stateName"))
    if params.get("stateName") is not None:
        check_definition(params["definition"], "STANDARD")  # a whole machine: checked whole
    check_mock(tested.body, params)
    mock: Mapping[str, Any] = params.get("mock") or {}
    mocked = "result" in mock or "errorOutput" in mock
    config: Mapping[str, Any] = params.get("stateConfiguration") or {}
    try:
        raw = build_definition(tested, mocked, config.get("retrierRetryCount") or 0)
        machine = parse_definition(raw)
    except (KeyError, TypeError, ValueError) as exc:
        raise ApiError("InvalidDefinition", f"Invalid State Machine Definition: {exc}") from exc
    value = _json(params.get("input", "{}"), "ValidationException", "input")
    variables = _json(params.get("variables", "{}"), "ValidationException", "variables")
    context = _json(params.get("context", "null"), "ValidationException", "context")
    if context is not None and not isinstance(context, Mapping):
        raise ApiError("ValidationException", "Invalid Context object provided: not an object")
    if context is not None:
        check_context(tested.body, context)
    setup = Setup(params.get("roleArn"), dict(variables or {}), context)
    answers = Answers(tested, mock, config, api)
    # Off the event loop: a registered Lambda handler may block.
    outcome = await asyncio.to_thread(
        run_state, machine, tested, value, answers, setup, time.time()
    )
    response = _response(outcome)
    if params.get("inspectionLevel", "INFO") != "INFO":
        response["inspectionData"] = inspection_data(
            machine, tested, value, outcome, answers.result, setup.variables
        )
    return response


class Answers:
    """Answers the run's Tasks; remembers the tested state's raw result for inspection."""

    def __init__(
        self,
        tested: TestedState,
        mock: Mapping[str, Any],
        config: Mapping[str, Any],
        api: Api,
    ) -> None:
        self.tested, self.body, self.mock, self.config = tested, tested.body, mock, config
        self.registry: FunctionRegistry = api.engine.registry
        self.result: Any = ABSENT

    def __call__(self, command: InvokeTask) -> Event:
        tested = command.token.startswith(ROOT)
        if tested and ("result" in self.mock or "errorOutput" in self.mock):
            return self._mocked(command)
        event = self._invoke(command)
        if tested and isinstance(event, TaskSucceeded):
            self.result = event.output
        return event

    def _mocked(self, command: InvokeTask) -> Event:
        if self.body.get("Type") == "Map" and self.tested.query_language == "JSONPath":
            refused = items_refusal(self.body, Scope(command.payload, command.context))
            if refused is not None:
                return TaskFailed(command.token, "States.Runtime", refused)
        if "errorOutput" in self.mock:
            failure = self.mock["errorOutput"] or {}
            return TaskFailed(command.token, str(failure.get("error", "")), failure.get("cause"))
        result = _json(self.mock["result"], "ValidationException", "mock.result")
        if self._threshold_exceeded(result):
            return TaskFailed(command.token, THRESHOLD_ERROR, THRESHOLD_CAUSE)
        self.result = result
        return TaskSucceeded(command.token, result)

    def _threshold_exceeded(self, result: Any) -> bool:
        """A Map told (``mapIterationFailureCount``) that more iterations failed than it
        tolerates fails as a real one would."""
        failures = self.config.get("mapIterationFailureCount")
        if self.body.get("Type") != "Map" or not failures:
            return False
        count = self.body.get("ToleratedFailureCount")
        if isinstance(count, int):
            return bool(failures > count)
        percentage = self.body.get("ToleratedFailurePercentage")
        if isinstance(percentage, int | float) and isinstance(result, list) and result:
            return bool(failures * 100 / len(result) > percentage)
        return False

    def _invoke(self, command: InvokeTask) -> Event:
        ref = parse_resource(command.resource)
        if ref.family == LAMBDA or command.resource.startswith(LAMBDA_INVOKE):
            return invoke(self.registry, command)
        cause = f"TestState without a mock cannot call '{command.resource}' on this server"
        return TaskFailed(command.token, "States.TaskFailed", cause)


def _response(outcome: Outcome) -> dict[str, Any]:
    response: dict[str, Any] = {"status": outcome.status}
    if outcome.has_output:
        response["output"] = dumps(outcome.output)
    if outcome.error is not None:
        response["error"] = outcome.error
    if outcome.cause is not None:
        response["cause"] = outcome.cause
    if outcome.next_state is not None:
        response["nextState"] = outcome.next_state
    return response


def _json(text: Any, code: str, member: str) -> Any:
    try:
        return loads_document(text)
    except (TypeError, ValueError) as exc:
        raise ApiError(code, f"Invalid JSON in '{member}': {exc}") from exc


ACTIONS: dict[str, Callable[[Api, dict[str, Any]], Awaitable[dict[str, Any]]]] = {
    "TestState": test_state,
}
