"""Answers the Tasks of a saga test: from a mock when the state has one, else by calling the
registered Lambda-style handler, and records every call for the test to inspect."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, TypeVar

from sagaway.interpreter.messages import (
    Event,
    InvokeTask,
    TaskFailed,
    TaskSucceeded,
    TaskTimedOut,
)
from sagaway.interpreter.resources import LAMBDA, parse_resource
from sagaway.resources.lambda_functions import FunctionRegistry, Invocation, prepare
from sagaway.testing.clock import VirtualClock
from sagaway.testing.errors import SagaTestError
from sagaway.testing.mocks import MockedResponses, pick

HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class TaskCall:
    """One call of a Task state, as the test saw it."""

    state_name: str
    payload: Any  # the Task's effective Parameters (what TaskScheduled records)
    attempt: int  # $$.State.RetryCount: 0 for the first try, 1 for the first retry, ...
    time: float  # virtual epoch seconds when the call started
    mocked: bool


class TaskInvoker:
    """The ``invoker`` a saga test hands to ``run_virtual``."""

    def __init__(
        self,
        registry: FunctionRegistry,
        mocks: Mapping[str, MockedResponses],
        clock: VirtualClock,
    ) -> None:
        self.registry = registry
        self.mocks = mocks
        self.clock = clock
        self.calls: list[TaskCall] = []
        self._step_time = clock.now()
        self._mock_calls: dict[str, int] = {}
        self._runner: asyncio.Runner | None = None

    def on_time(self, moment: float) -> None:
        """``run_virtual`` moved to ``moment``: the clock follows."""
        self._step_time = moment
        self.clock._move_to(moment)

    def __call__(self, command: InvokeTask) -> tuple[Event, float]:
        # Every call of a step starts at the step's time, whatever an earlier handler of the
        # same step (a sibling Parallel branch) did with the clock.
        self.clock._move_to(self._step_time)
        responses = self.mocks.get(command.state_name)
        attempt = int(command.token.rsplit("#", 1)[-1])
        self.calls.append(
            TaskCall(
                command.state_name,
                command.payload,
                attempt,
                self._step_time,
                responses is not None,
            )
        )
        if responses is not None:
            event, duration, beats = self._mocked(command, responses)
        else:
            event, duration, beats = self._call_handler(command)
        return apply_heartbeat(command, event, beats, duration)

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
            self._runner = None

    def _mocked(
        self, command: InvokeTask, responses: MockedResponses
    ) -> tuple[Event, float, list[float]]:
        index = self._mock_calls.get(command.state_name, 0)
        self._mock_calls[command.state_name] = index + 1
        response = pick(responses, index)
        event: Event
        if response.error is not None:
            event = TaskFailed(command.token, response.error, response.cause)
        else:
            event = TaskSucceeded(command.token, response.fresh_result())
        return event, response.delay, []

    def _call_handler(self, command: InvokeTask) -> tuple[Event, float, list[float]]:
        invocation = self._prepare(command)
        started = self._step_time
        beats: list[float] = []
        invocation.context.heartbeat = lambda: beats.append(self.clock.now() - started)
        event: Event
        try:
            value = invocation.handler(invocation.event, invocation.context)
            if inspect.isawaitable(value):
                event = self._run_async(_settle(invocation, value))
            else:
                event = invocation.succeeded(value)
        except Exception as exc:
            event = invocation.failed(exc)
        return event, self.clock.now() - started, beats

    def _prepare(self, command: InvokeTask) -> Invocation:
        name = command.state_name
        ref = parse_resource(command.resource)
        invoke_api = ref.resource_type == "lambda" and ref.resource == "invoke"
        if ref.family != LAMBDA and not invoke_api:
            raise SagaTestError(
                f"Task state {name!r} calls {command.resource}; the test kit can only call "
                "Lambda-style handlers, so mock this state: "
                f"mocks={{{name!r}: {{'Return': ...}}}}"
            )
        target = ref.arn if ref.family == LAMBDA else _function_name(command.payload)
        function, handler = self.registry.resolve(target)
        invocation = prepare(self.registry, command)
        if handler is None or isinstance(invocation, TaskFailed):
            known = ", ".join(sorted(self.registry.handlers)) or "(none)"
            raise SagaTestError(
                f"Task state {name!r} calls Lambda function {function!r}, which is neither "
                f"registered (functions=...) nor mocked (mocks=...); registered: {known}"
            )
        return invocation

    def _run_async(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            if self._runner is None:
                self._runner = asyncio.Runner()
            return self._runner.run(coroutine)
        # Inside a running loop (an async test) this thread cannot run another one: give the
        # coroutine a loop of its own in a worker thread and wait for it.
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, coroutine).result()


async def _settle(invocation: Invocation, awaitable: Awaitable[Any]) -> TaskSucceeded | TaskFailed:
    # Awaiting here keeps this frame first in the traceback, the frame Lambda's error
    # document leaves out, so the stack trace starts in the handler.
    try:
        return invocation.succeeded(await awaitable)
    except Exception as exc:
        return invocation.failed(exc)


def apply_heartbeat(
    command: InvokeTask, event: Event, beats: list[float], duration: float
) -> tuple[Event, float]:
    """A call silent for longer than HeartbeatSeconds ends in a missed heartbeat (reported
    as States.Timeout, which Retry and Catch can name States.HeartbeatTimeout).

    ``beats`` are the offsets (seconds into the call) of the handler's heartbeats. The
    TimeoutSeconds check is ``run_virtual``'s: it sees the duration returned here.
    """
    limit = command.heartbeat_seconds
    if limit is None:
        return event, duration
    marks = [0.0, *beats, duration]
    for previous, following in pairwise(marks):
        if following - previous > limit:
            return TaskTimedOut(command.token, HEARTBEAT_TIMEOUT), previous + limit
    return event, duration


def _function_name(payload: Any) -> str:
    if isinstance(payload, Mapping):
        return str(payload.get("FunctionName", ""))
    return ""
