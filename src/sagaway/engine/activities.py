"""Activities: Tasks whose Resource is an activity ARN, done by workers that poll for them.

A scheduled activity task waits in its activity's queue until a worker's GetActivityTask
takes it (ActivityStarted is journaled then, with the worker's name); the worker answers
with SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat and the task token. Queues live
in memory: after a restart the engine re-dispatches every awaited activity task, which
puts it back in its queue.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from sagaway.engine.callbacks import CallbackTasks
from sagaway.engine.notes import Note
from sagaway.expressions.jsontext import dumps
from sagaway.interpreter.execution import task_token
from sagaway.interpreter.lifecycle import RUNTIME
from sagaway.interpreter.messages import InvokeTask, TaskFailed

if TYPE_CHECKING:
    from sagaway.engine.engine import Engine

_Item = tuple[str, InvokeTask]  # (execution arn, command)


class ActivityQueues:
    def __init__(
        self,
        engine: Engine,
        callbacks: CallbackTasks,
        exists: Callable[[str], bool] | None = None,
    ) -> None:
        self.engine = engine
        self.callbacks = callbacks
        self._queues: dict[str, deque[_Item]] = {}
        self._pollers: dict[str, deque[asyncio.Future[_Item]]] = {}
        # Whether an activity ARN exists; the API's catalog knows (None: not checked).
        self.exists = exists

    def dispatch(self, arn: str, command: InvokeTask) -> None:
        if self.exists is not None and not self.exists(command.resource):
            self._missing(arn, command)
            return
        # The heartbeat clock starts when a worker takes the task, not while it is queued.
        self.callbacks.wait_for_answer(arn, command, heartbeat=False)
        self._offer(command.resource, (arn, command))

    def _missing(self, arn: str, command: InvokeTask) -> None:
        """AWS fails the execution with States.Runtime when the activity does not exist."""
        actor = self.engine.actors.get(arn)
        fid = actor.state.tokens.get(command.token) if actor else None
        if actor is None or fid is None:
            return
        entered = actor.state.frames[fid].entered_id
        cause = (
            f"An error occurred while executing the state '{command.state_name}' (entered at "
            f"the event id #{entered}). The activity {command.resource} does not exist."
        )
        failure = TaskFailed(command.token, RUNTIME, cause)
        asyncio.get_running_loop().call_soon(self.engine._task_done, arn, failure)

    def _offer(self, activity_arn: str, item: _Item, *, front: bool = False) -> None:
        pollers = self._pollers.get(activity_arn)
        while pollers:
            poller = pollers.popleft()
            if not poller.done():
                poller.set_result(item)
                return
        queue = self._queues.setdefault(activity_arn, deque())
        if front:
            queue.appendleft(item)
        else:
            queue.append(item)

    async def poll(
        self, activity_arn: str, worker_name: str | None, timeout: float
    ) -> tuple[str, str] | None:
        """(task token, input) of the next task, or None after ``timeout`` seconds.

        Cancel-safe: a task handed to a poller that is cancelled at that moment (the
        client went away) goes back to the front of the queue."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            item = self._take(activity_arn)
            if item is None:
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    return None
                item = await self._wait(activity_arn, remaining)
                if item is None:
                    return None
            handed = self._hand_out(item, worker_name)
            if handed is not None:
                return handed

    def _take(self, activity_arn: str) -> _Item | None:
        queue = self._queues.get(activity_arn)
        return queue.popleft() if queue else None

    async def _wait(self, activity_arn: str, timeout: float) -> _Item | None:
        future: asyncio.Future[_Item] = asyncio.get_running_loop().create_future()
        self._pollers.setdefault(activity_arn, deque()).append(future)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            return self._reclaim(activity_arn, future, requeue=False)
        except asyncio.CancelledError:
            self._reclaim(activity_arn, future, requeue=True)
            raise

    def _reclaim(
        self, activity_arn: str, future: asyncio.Future[_Item], *, requeue: bool
    ) -> _Item | None:
        if not future.done():
            future.cancel()
            with contextlib.suppress(ValueError):
                self._pollers.get(activity_arn, deque()).remove(future)
            return None
        if requeue:  # handed over in the same instant the poller went away: keep it
            self._offer(activity_arn, future.result(), front=True)
            return None
        return future.result()

    def _hand_out(self, item: _Item, worker_name: str | None) -> tuple[str, str] | None:
        arn, command = item
        actor = self.engine.actors.get(arn)
        if actor is None or command.token not in actor.state.tokens:
            return None  # the attempt ended (timed out, execution stopped) while queued
        details = {"workerName": worker_name} if worker_name else {}
        self.engine.post_note(arn, Note(command.token, "ActivityStarted", details))
        self.callbacks.beat(arn, command.token)
        return task_token(actor.state, command.token), dumps(command.payload)

    def forget(self, activity_arn: str) -> None:
        """DeleteActivity: queued tasks stay awaited (AWS lets them time out)."""
        for poller in self._pollers.pop(activity_arn, deque()):
            poller.cancel()
