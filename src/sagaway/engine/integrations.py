"""Task integrations beyond Lambda: one resource router per engine, built by the engine from
the :class:`ResourceRouter` it is given, so `sagaway run`, `serve` and `worker` route Tasks
the same way (they differ only in what they give it: a bus, whether activities are served).

The router looks at the resource: any ``.waitForTaskToken`` resource waits for a callback,
whatever service it names (Sagaway does not send the SQS message or SNS notification:
whoever holds the token answers). The exception is EventBridge: Sagaway has a bus, so
``events:putEvents`` (with or without the suffix) publishes on it first (``events_task``).
A new integration is one module here plus one branch in :meth:`Integrations.route`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

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

ACTIVITIES_ELSEWHERE = (
    "Activity {resource} is handed to workers by `sagaway serve` (GetActivityTask); this "
    "process does not serve activities"
)
EVENT_BUS_MISSING = (
    "arn:aws:states:::events:putEvents needs Sagaway's event bus, which this process does "
    "not have (sagaway serve has one)"
)


@dataclass(frozen=True, slots=True)
class ResourceRouter:
    """What an engine's Tasks can reach, given to the Engine when it is built.

    ``bus``: where putEvents publishes (without one, putEvents Tasks fail saying so);
    ``activities`` False fails activity Tasks at once (`sagaway worker`: no GetActivityTask
    reaches its queues); ``http``: where http:invoke may connect (default: public addresses
    only); ``activity_exists`` says whether an activity ARN was created (the API's catalog
    knows; None: not checked)."""

    bus: ServerBus | None = None
    activities: bool = True
    http: HttpDestinations | None = None
    activity_exists: Callable[[str], bool] | None = None


class Integrations:
    """The integrations of one engine, created by the engine from its :class:`ResourceRouter`."""

    def __init__(self, engine: Engine, router: ResourceRouter) -> None:
        self.engine = engine
        self.serves_activities = router.activities
        self.callbacks = CallbackTasks(engine)
        self.activities = ActivityQueues(engine, self.callbacks, router.activity_exists)
        self.nested = NestedExecutions(engine, self.callbacks)
        self.http = HttpInvoke(engine, router.http or HttpDestinations())
        self.sdk_sfn = SdkStepFunctions(engine, self.callbacks)
        bus = router.bus
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
