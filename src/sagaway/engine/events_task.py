"""``arn:aws:states:::events:putEvents[.waitForTaskToken]``: publish on the server's bus.

The Task's ``Entries`` go through EventBridge's PutEvents (``messaging.put_events``): the
result is PutEvents' response, ``{"Entries": [{"EventId": …}], "FailedEntryCount": 0}``.
Publishing writes nothing by itself: the events ride on the Task's outcome into the journal's
outbox, committed in the step that records it, and the bus's relay takes them from there.
As in AWS, an entry EventBridge refuses fails the Task with ``EventBridge.FailedEntry`` and
the response as the cause (the other entries are published all the same), and a call it
refuses as a whole with ``EventBridge.ValidationException``.

With ``.waitForTaskToken`` the Task publishes, records TaskSubmitted with the response, and
waits for SendTaskSuccess / SendTaskFailure naming the token its Parameters put in Detail:
a rule's target (a service, a webhook) answers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from sagaway.engine.callbacks import CallbackTasks
from sagaway.engine.notes import Note, Published, PublishedFailure
from sagaway.expressions.jsontext import dumps
from sagaway.interpreter.messages import Event, InvokeTask, TaskFailed
from sagaway.messaging.put_events import PutEventsError, ServerBus, outbox

if TYPE_CHECKING:
    from sagaway.engine.engine import Engine

log = logging.getLogger("sagaway.engine")

PUT_EVENTS = "putEvents"
FAILED_ENTRY = "EventBridge.FailedEntry"
VALIDATION = "ValidationException"


class PutEventsTask:
    def __init__(self, engine: Engine, callbacks: CallbackTasks, bus: ServerBus) -> None:
        self.engine = engine
        self.callbacks = callbacks
        self.bus = bus
        self._running: set[asyncio.Task[None]] = set()

    def dispatch(self, arn: str, command: InvokeTask, resource: str, waits: bool) -> None:
        task = asyncio.get_running_loop().create_task(self._run(arn, command, resource, waits))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, arn: str, command: InvokeTask, resource: str, waits: bool) -> None:
        outcome = await self._publish(arn, command)
        if waits and isinstance(outcome, Published):
            details = {"output": dumps(outcome.output), "outputDetails": {"truncated": False},
                       "resource": resource, "resourceType": "events"}  # fmt: skip
            note = Note(command.token, "TaskSubmitted", details, outcome.outbox)
            self.engine.post_note(arn, note)
            # Armed after publishing: a fast answer (a rule's target may answer before this
            # line) has already ended the attempt, and then there is nothing to wait for.
            if self.callbacks.awaited(arn, command.token):
                self.callbacks.wait_for_answer(arn, command)
            return
        self.engine._task_done(arn, outcome)

    async def _publish(self, arn: str, command: InvokeTask) -> Event:
        params = command.payload if isinstance(command.payload, dict) else {}
        # The idempotency key: a re-invocation after a crash derives the same event ids.
        key = f"{arn}#{command.token}"
        try:
            response, events = self.bus.prepare(params.get("Entries"), key)
        except PutEventsError as exc:
            cause = f"{exc} (Service: EventBridge, Status Code: 400, Error Code: {VALIDATION})"
            return TaskFailed(command.token, f"EventBridge.{VALIDATION}", cause)
        if response["FailedEntryCount"]:
            # As in AWS, the good entries of a call are published although the Task fails.
            failure = dumps(response)
            return PublishedFailure(command.token, FAILED_ENTRY, failure, outbox(events))
        return Published(command.token, response, outbox=outbox(events))

    def close(self) -> None:
        for task in self._running:
            task.cancel()
