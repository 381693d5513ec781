"""Tasks that wait for an answer from outside: ``.waitForTaskToken`` and activities.

The execution hands a task token out (in the Task's parameters, or to an activity worker)
and waits until SendTaskSuccess / SendTaskFailure names it. The token is sealed with the
execution's secret (``interpreter.execution.task_token``), which lives in the journaled
state: an answer is checked against the state, so tokens stay valid across restarts and
cannot be forged. TimeoutSeconds and HeartbeatSeconds are enforced here with loop timers;
after a restart the re-dispatched Task arms them again.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sagaway.engine.deliveries import HEARTBEAT, answer_event
from sagaway.engine.journal_steps import read_state
from sagaway.engine.tasks import HEARTBEAT_TIMEOUT
from sagaway.interpreter.execution import RUNNING, ExecutionState, seal_token
from sagaway.interpreter.messages import Event, InvokeTask, TaskTimedOut

if TYPE_CHECKING:
    from sagaway.engine.engine import Engine


# What AWS answers for a task that was answered already, timed out, or whose execution ended.
ANSWERED = "Task Timed Out: 'Provided task does not exist anymore'"


class TaskTokenError(Exception):
    """An answer that names no awaited task; ``code`` is the Step Functions error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(slots=True)
class _Waiting:
    command: InvokeTask
    timeout: asyncio.TimerHandle | None = None
    heartbeat: asyncio.TimerHandle | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def cancel(self) -> None:
        for handle in (self.timeout, self.heartbeat):
            if handle is not None:
                handle.cancel()


def unseal(task_token: str) -> tuple[str, str]:
    """(execution ARN, attempt token) named by ``task_token``; InvalidToken if malformed."""
    try:
        raw = base64.urlsafe_b64decode(task_token + "=" * (-len(task_token) % 4)).decode()
        arn, token, _mac = raw.split("\x1f")
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise TaskTokenError("InvalidToken", "Invalid Token: 'Invalid token'") from exc
    return arn, token


class CallbackTasks:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._waiting: dict[tuple[str, str], _Waiting] = {}

    # -- the execution side ----------------------------------------------------------------
    def wait_for_answer(self, arn: str, command: InvokeTask, *, heartbeat: bool = True) -> None:
        """Await an answer for ``command``; arm its timeout (and its heartbeat unless the
        clock starts later, as for an activity not yet handed to a worker)."""
        old = self._waiting.pop((arn, command.token), None)
        if old is not None:
            old.cancel()
        waiting = _Waiting(command)
        loop = asyncio.get_running_loop()
        if command.timeout_seconds is not None:
            waiting.timeout = loop.call_later(
                command.timeout_seconds, self._expire, arn, command.token, "States.Timeout"
            )
        self._waiting[(arn, command.token)] = waiting
        if heartbeat:
            self.beat(arn, command.token)

    def beat(self, arn: str, token: str) -> None:
        waiting = self._waiting.get((arn, token))
        if waiting is None or waiting.command.heartbeat_seconds is None:
            return
        if waiting.heartbeat is not None:
            waiting.heartbeat.cancel()
        waiting.heartbeat = asyncio.get_running_loop().call_later(
            waiting.command.heartbeat_seconds, self._expire, arn, token, HEARTBEAT_TIMEOUT
        )

    def awaited(self, arn: str, token: str) -> bool:
        actor = self.engine.actors.get(arn)
        return actor is not None and token in actor.state.tokens

    def _expire(self, arn: str, token: str, error: str) -> None:
        waiting = self._waiting.pop((arn, token), None)
        if waiting is not None:
            waiting.cancel()
            self.engine._task_done(arn, TaskTimedOut(token, error))

    # -- the API side ----------------------------------------------------------------------
    def deliver(self, arn: str, token: str, event: Event) -> None:
        """Hand a checked answer to the execution here, disarming the task's timers."""
        waiting = self._waiting.pop((arn, token), None)
        if waiting is not None:
            waiting.cancel()
        self.engine._task_done(arn, event)

    async def respond(self, task_token: str, kind: str, fields: dict[str, Any]) -> None:
        """Answer here if this process runs the execution, else record the call (``kind``:
        SendTaskSuccess, SendTaskFailure or SendTaskHeartbeat, with its ``fields``) for the
        cluster member that does: it returns once the call is durable, as AWS answers once
        it has accepted it."""
        arn, token = self.check(task_token)
        await self.engine.recovery.resume_first(arn)
        cluster = self.engine.cluster
        if arn not in self.engine.actors and cluster is not None:
            if not await cluster.deliveries.send(arn, kind, token, fields):
                raise TaskTokenError("TaskTimedOut", ANSWERED)  # answered, not yet applied
        else:
            self.apply(arn, kind, token, fields)

    def apply(self, arn: str, kind: str, token: str, fields: dict[str, Any]) -> None:
        """Carry out a checked answer to an execution this process runs, made here or
        delivered from another cluster member."""
        if kind == HEARTBEAT:
            self.beat(arn, token)
        else:
            self.deliver(arn, token, answer_event(kind, token, fields))

    def check(self, task_token: str) -> tuple[str, str]:
        """The awaited (execution, attempt) the token names, or the error AWS answers."""
        arn, token = unseal(task_token)
        state = self._state(arn)
        if state is None or seal_token(arn, token, state.token_key) != task_token:
            raise TaskTokenError("InvalidToken", "Invalid Token: 'Invalid token'")
        if state.status != RUNNING or token not in state.tokens:
            raise TaskTokenError("TaskTimedOut", ANSWERED)
        return arn, token

    def _state(self, arn: str) -> ExecutionState | None:
        actor = self.engine.actors.get(arn)
        if actor is not None:
            return actor.state
        record = self.engine.journal.get_execution(arn)
        if record is None or record.state is None:
            return None
        return read_state(self.engine.journal, record)

    def close(self) -> None:
        for waiting in self._waiting.values():
            waiting.cancel()
        self._waiting.clear()
