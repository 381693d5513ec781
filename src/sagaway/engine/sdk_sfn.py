"""``arn:aws:states:::aws-sdk:sfn:<action>``: the AWS SDK integration for Step Functions
itself, answered by this engine (startExecution, sendTaskSuccess, sendTaskFailure,
sendTaskHeartbeat).

Unlike the optimised ``states:startExecution`` integration, the SDK integration reports
service errors as ``Sfn.<Code>Exception`` with the AWS SDK v2 wording, and timestamps as
ISO 8601 text, as the recordings show.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sagaway.engine.callbacks import CallbackTasks, TaskTokenError
from sagaway.engine.deliveries import FAILURE, HEARTBEAT, SUCCESS
from sagaway.engine.tasks import idempotency_key
from sagaway.expressions.jsontext import dumps, loads
from sagaway.interpreter.messages import Event, InvokeTask, TaskFailed, TaskSucceeded
from sagaway.interpreter.resources import parse_resource

if TYPE_CHECKING:
    from sagaway.engine.engine import Engine

SERVICE = "aws-sdk:sfn"


class SdkError(Exception):
    """A service error as the SDK integration reports it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.error = f"Sfn.{code}Exception"
        self.cause = (
            f"{message} (Service: Sfn, Status Code: 400, Request ID: {uuid.uuid4()}) "
            "(SDK Attempt Count: 1)"
        )


def iso_millis(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


class SdkStepFunctions:
    def __init__(self, engine: Engine, callbacks: CallbackTasks) -> None:
        self.engine = engine
        self.callbacks = callbacks
        self._running: set[asyncio.Task[None]] = set()
        self._actions: dict[str, Callable[[str, InvokeTask], Awaitable[Any]]] = {
            "startExecution": self._start_execution,
            "sendTaskSuccess": self._send_task_success,
            "sendTaskFailure": self._send_task_failure,
            "sendTaskHeartbeat": self._send_task_heartbeat,
        }

    def dispatch(self, arn: str, command: InvokeTask) -> None:
        task = asyncio.get_running_loop().create_task(self._run(arn, command))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, arn: str, command: InvokeTask) -> None:
        action = self._actions.get(parse_resource(command.resource).resource)
        event: Event
        if action is None:
            cause = f"The resource '{command.resource}' is not supported by this Sagaway server"
            event = TaskFailed(command.token, "States.TaskFailed", cause)
        else:
            try:
                event = TaskSucceeded(command.token, await action(arn, command))
            except SdkError as exc:
                event = TaskFailed(command.token, exc.error, exc.cause)
        self.engine._task_done(arn, event)

    async def _start_execution(self, arn: str, command: InvokeTask) -> dict[str, Any]:
        from sagaway.engine.engine import (
            ExecutionAlreadyExists,
            InvalidExecutionInput,
            StateMachineDoesNotExist,
        )

        params = _params(command)
        target = str(params.get("StateMachineArn", ""))
        # Without a Name, one derived from the idempotency key: a re-dispatch after a crash
        # finds the same execution instead of starting a second one.
        name = params.get("Name") or str(
            uuid.uuid5(uuid.NAMESPACE_URL, idempotency_key(arn, command.token))
        )
        given = params.get("Input")  # an object is serialised implicitly, as AWS does
        text = "{}" if given is None else given if isinstance(given, str) else dumps(given)
        try:
            record = await self.engine.start_execution(target, str(name), text)
        except StateMachineDoesNotExist as exc:
            raise SdkError("StateMachineDoesNotExist",
                           f"State Machine Does Not Exist: '{target}'") from exc  # fmt: skip
        except ExecutionAlreadyExists as exc:
            raise SdkError("ExecutionAlreadyExists", f"Execution Already Exists: '{exc}'") from exc
        except InvalidExecutionInput as exc:
            raise SdkError("InvalidExecutionInput", str(exc)) from exc
        return {"ExecutionArn": record.arn, "StartDate": iso_millis(record.start_date)}

    async def _send_task_success(self, arn: str, command: InvokeTask) -> dict[str, Any]:
        params = _params(command)
        token = str(params.get("TaskToken", ""))
        self._check(token)  # AWS checks the token before the output
        text = str(params.get("Output", ""))
        try:
            loads(text)
        except ValueError as exc:
            raise SdkError("InvalidOutput", f"Invalid Output: '{exc}'") from exc
        await self._answer(token, SUCCESS, {"output": text})
        return {}

    async def _send_task_failure(self, arn: str, command: InvokeTask) -> dict[str, Any]:
        params = _params(command)
        # AWS lets both be absent; the failure then carries null Error and Cause.
        fields = {"error": params.get("Error"), "cause": params.get("Cause")}
        await self._answer(str(params.get("TaskToken", "")), FAILURE, fields)
        return {}

    async def _send_task_heartbeat(self, arn: str, command: InvokeTask) -> dict[str, Any]:
        await self._answer(str(_params(command).get("TaskToken", "")), HEARTBEAT, {})
        return {}

    def _check(self, token: str) -> None:
        try:
            self.callbacks.check(token)
        except TaskTokenError as exc:
            raise SdkError(exc.code, exc.message) from exc

    async def _answer(self, token: str, kind: str, fields: dict[str, Any]) -> None:
        try:
            await self.callbacks.respond(token, kind, fields)
        except TaskTokenError as exc:
            raise SdkError(exc.code, exc.message) from exc

    def close(self) -> None:
        for task in self._running:
            task.cancel()


def _params(command: InvokeTask) -> dict[str, Any]:
    return command.payload if isinstance(command.payload, dict) else {}
