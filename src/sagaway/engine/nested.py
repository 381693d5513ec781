"""``arn:aws:states:::states:startExecution[.sync|.sync:2|.waitForTaskToken]``: a Task that
starts an execution of another state machine on this engine.

Without a suffix the Task ends once the child has started; ``.sync`` waits for the child to
end and returns its DescribeExecution fields with Input and Output as JSON text, ``.sync:2``
with them parsed. A child started without a Name gets one derived from the parent's
idempotency key, so re-dispatching the Task after a crash finds the same child instead of
starting a second one.
"""

from __future__ import annotations

import asyncio
import email.utils
import uuid
from typing import TYPE_CHECKING, Any

from sagaway.engine.callbacks import CallbackTasks
from sagaway.engine.notes import Note
from sagaway.engine.tasks import idempotency_key
from sagaway.expressions.jsontext import dumps, loads
from sagaway.interpreter.messages import Event, InvokeTask, TaskFailed, TaskSucceeded
from sagaway.interpreter.resources import parse_resource
from sagaway.store.ports import ExecutionRecord

if TYPE_CHECKING:
    from sagaway.engine.engine import Engine

START = "startExecution"
MODES = {START, f"{START}.sync", f"{START}.sync:2", f"{START}.waitForTaskToken"}


def _sdk_cause(message: str, code: str) -> str:
    # How the AWS SDK inside Step Functions words a service error, as the recordings show.
    return (
        f"{message} (Service: AWSStepFunctions; Status Code: 400; Error Code: {code}; "
        f"Request ID: {uuid.uuid4()}; Proxy: null)"
    )


def millis(epoch: float | None) -> int | None:
    return None if epoch is None else int(epoch * 1000)


def start_response(record: ExecutionRecord) -> dict[str, Any]:
    """StartExecution's answer as the Task returns it (and TaskSubmitted records it): the
    fields, with the HTTP metadata of the SDK call around them, as the recordings show."""
    request_id = str(uuid.uuid4())
    body = f'{{"executionArn":"{record.arn}","startDate":{record.start_date}}}'
    headers = {
        "Content-Length": str(len(body)),
        "Content-Type": "application/x-amz-json-1.0",
        "Date": email.utils.formatdate(usegmt=True),
        "connection": "keep-alive",
        "x-amzn-RequestId": request_id,
    }
    metadata = {
        "AllHttpHeaders": {name: [value] for name, value in headers.items()},
        "HttpHeaders": headers,
        "HttpStatusCode": 200,
    }
    return {
        "ExecutionArn": record.arn,
        "SdkHttpMetadata": metadata,
        "SdkResponseMetadata": {"RequestId": request_id},
        "StartDate": millis(record.start_date),
    }


def describe_output(record: ExecutionRecord, *, parsed: bool) -> dict[str, Any]:
    """The child's DescribeExecution as the .sync Task returns it."""
    out: dict[str, Any] = {
        "ExecutionArn": record.arn,
        "Input": loads(record.input) if parsed else record.input,
        "InputDetails": {"Included": True},
        "Name": record.name,
        "StartDate": millis(record.start_date),
        "StateMachineArn": record.state_machine_arn,
        "Status": record.status,
        "StopDate": millis(record.stop_date),
    }
    if record.output is not None:
        out["Output"] = loads(record.output) if parsed else record.output
        out["OutputDetails"] = {"Included": True}
    if record.error is not None:
        out["Error"] = record.error
    if record.cause is not None:
        out["Cause"] = record.cause
    return out


class NestedExecutions:
    def __init__(self, engine: Engine, callbacks: CallbackTasks) -> None:
        self.engine = engine
        self.callbacks = callbacks
        self._running: set[asyncio.Task[None]] = set()

    def dispatch(self, arn: str, command: InvokeTask) -> None:
        mode = parse_resource(command.resource).resource
        if mode == f"{START}.waitForTaskToken":
            self.callbacks.wait_for_answer(arn, command)
        task = asyncio.get_running_loop().create_task(self._run(arn, command, mode))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, arn: str, command: InvokeTask, mode: str) -> None:
        outcome = await self._start(arn, command)
        if isinstance(outcome, TaskFailed) or mode == f"{START}.waitForTaskToken":
            if isinstance(outcome, TaskFailed):
                self.engine._task_done(arn, outcome)
            return
        started = start_response(outcome)
        if mode == START:
            self.engine._task_done(arn, TaskSucceeded(command.token, started))
            return
        ref = parse_resource(command.resource)
        details = {"output": dumps(started), "outputDetails": {"truncated": False},
                   "resource": ref.resource, "resourceType": ref.resource_type}  # fmt: skip
        self.engine.post_note(arn, Note(command.token, "TaskSubmitted", details))
        final = await self.engine.wait(outcome.arn)
        assert final is not None
        self.engine._task_done(arn, _sync_result(command.token, final, mode.endswith(":2")))

    async def _start(self, arn: str, command: InvokeTask) -> ExecutionRecord | TaskFailed:
        from sagaway.engine.engine import ExecutionAlreadyExists, StateMachineDoesNotExist

        params = command.payload if isinstance(command.payload, dict) else {}
        target = str(params.get("StateMachineArn", ""))
        name = params.get("Name") or str(
            uuid.uuid5(uuid.NAMESPACE_URL, idempotency_key(arn, command.token))
        )
        given = params.get("Input")
        text = "{}" if given is None else given if isinstance(given, str) else dumps(given)
        try:
            return await self.engine.start_execution(target, str(name), text)
        except StateMachineDoesNotExist:
            message = f"State Machine Does Not Exist: '{target}'"
            cause = _sdk_cause(message, "StateMachineDoesNotExist")
            return TaskFailed(
                command.token, "StepFunctions.StateMachineDoesNotExistException", cause
            )
        except ExecutionAlreadyExists as exc:
            message = f"Execution Already Exists: '{exc}'"
            cause = _sdk_cause(message, "ExecutionAlreadyExists")
            return TaskFailed(command.token, "StepFunctions.ExecutionAlreadyExistsException", cause)

    def close(self) -> None:
        for task in self._running:
            task.cancel()


def _sync_result(token: str, final: ExecutionRecord, parsed: bool) -> Event:
    output = describe_output(final, parsed=parsed)
    if final.status == "SUCCEEDED":
        return TaskSucceeded(token, output)
    return TaskFailed(token, "States.TaskFailed", dumps(output))
