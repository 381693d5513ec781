"""Task integrations beyond Lambda, plugged into the TaskRunner's ``integrations`` hook.

The runner looks an integration up by the resource's type; the table answers every type
with one router, because the suffix decides as much as the service: any
``.waitForTaskToken`` resource waits for a callback, whatever service it names (Sagaway
does not send the SQS message or SNS notification: whoever holds the token answers). The
exception is EventBridge: Sagaway has a bus, so ``events:putEvents`` (with or without the
suffix) publishes on it first (``events_task``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sagaway.engine.activities import ActivityQueues
from sagaway.engine.callbacks import CallbackTasks
from sagaway.engine.events_task import PUT_EVENTS, PutEventsTask
from sagaway.engine.http_destinations import HttpDestinations
from sagaway.engine.http_task import HttpInvoke
from sagaway.engine.nested import NestedExecutions
from sagaway.engine.notes import Note
from sagaway.engine.sdk_sfn import SERVICE as SDK_SFN
from sagaway.engine.sdk_sfn import SdkStepFunctions
from sagaway.interpreter.messages import InvokeTask, TaskFailed
from sagaway.interpreter.resources import ACTIVITY, WAIT_FOR_TASK_TOKEN, parse_resource

if TYPE_CHECKING:
    from sagaway.engine.engine import Engine
    from sagaway.messaging.put_events import ServerBus

Integration = Callable[[str, InvokeTask], Any]

ACTIVITIES_ELSEWHERE = (
    "Activity {resource} is handed to workers by `sagaway serve` (GetActivityTask); this "
    "process does not serve activities"
)
EVENT_BUS_MISSING = (
    "arn:aws:states:::events:putEvents needs Sagaway's event bus, which this process does "
    "not have (sagaway serve has one)"
)


class Integrations:
    """The integrations of one engine; :func:`install` wires them in."""

    def __init__(
        self,
        engine: Engine,
        bus: ServerBus | None = None,
        *,
        activities: bool = True,
        http: HttpDestinations | None = None,
    ) -> None:
        self.engine = engine
        # False in `sagaway worker`: nothing would ever poll its in-memory activity queues.
        self.serves_activities = activities
        self.callbacks = CallbackTasks(engine)
        self.activities = ActivityQueues(engine, self.callbacks)
        self.nested = NestedExecutions(engine, self.callbacks)
        self.http = HttpInvoke(engine, http or HttpDestinations())
        self.sdk_sfn = SdkStepFunctions(engine, self.callbacks)
        self.events = None if bus is None else PutEventsTask(engine, self.callbacks, bus)

    def route(self, arn: str, command: InvokeTask) -> None:
        ref = parse_resource(command.resource)
        if ref.family == ACTIVITY and not self.serves_activities:
            # Fail it clearly rather than leave it queued where no poller can take it.
            self._fail(arn, command, ACTIVITIES_ELSEWHERE.format(resource=command.resource))
        elif ref.family == ACTIVITY:
            self.activities.dispatch(arn, command)
        elif ref.resource_type == "states":
            self.nested.dispatch(arn, command)
        elif ref.resource_type == "events":
            self._events(arn, command, ref.resource)
        elif ref.resource_type == SDK_SFN and not ref.waits_for_token:
            self.sdk_sfn.dispatch(arn, command)
        elif ref.waits_for_token:
            self.callbacks.wait_for_answer(arn, command)
            details = {"output": "{}", "outputDetails": {"truncated": False},
                       "resource": ref.resource, "resourceType": ref.resource_type}  # fmt: skip
            self.engine.post_note(arn, Note(command.token, "TaskSubmitted", details))
        elif ref.resource_type == "http" and ref.resource == "invoke":
            self.http.dispatch(arn, command)
        else:
            cause = f"The resource '{command.resource}' is not supported by this Sagaway server"
            self._fail(arn, command, cause)

    def _events(self, arn: str, command: InvokeTask, resource: str) -> None:
        waits = resource.endswith(WAIT_FOR_TASK_TOKEN)
        if self.events is None:
            self._fail(arn, command, EVENT_BUS_MISSING)
        elif resource.removesuffix(WAIT_FOR_TASK_TOKEN) != PUT_EVENTS:
            self._fail(arn, command, f"The resource '{command.resource}' is not supported")
        else:
            self.events.dispatch(arn, command, resource, waits)

    def _fail(self, arn: str, command: InvokeTask, cause: str) -> None:
        failure = TaskFailed(command.token, "States.TaskFailed", cause)
        asyncio.get_running_loop().call_soon(self.engine._task_done, arn, failure)

    def close(self) -> None:
        self.callbacks.close()
        self.nested.close()
        self.http.close()
        self.sdk_sfn.close()
        if self.events is not None:
            self.events.close()


class _Table(dict[str, Integration]):
    """Answers ``get`` for every resource type with the router (see the module doc)."""

    def __init__(self, router: Integration) -> None:
        super().__init__()
        self._router = router

    def get(self, key: str, default: Any = None) -> Integration:
        return super().get(key, self._router)


def install(
    engine: Engine,
    bus: ServerBus | None = None,
    *,
    activities: bool = True,
    http: HttpDestinations | None = None,
) -> Integrations:
    """Wire the integrations into ``engine``; ``bus`` is where putEvents publishes;
    ``activities`` False fails activity Tasks (a process no GetActivityTask reaches);
    ``http`` says where http:invoke may connect (default: public addresses only)."""
    integrations = Integrations(engine, bus, activities=activities, http=http)
    engine.tasks.integrations = _Table(integrations.route)
    # Answers delivered from other cluster members go through the same callbacks.
    engine.callbacks = integrations.callbacks
    return integrations
