"""Rule targets: start a state machine execution, call Python, or POST to a webhook."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from sagaway.engine.engine import ExecutionAlreadyExists
from sagaway.expressions.jsonpath import compile_path
from sagaway.observability.context import current_traceparent

if TYPE_CHECKING:
    from sagaway.engine.engine import Engine


class Target(Protocol):
    name: str

    async def deliver(self, event: dict[str, Any]) -> None: ...


class CallableTarget:
    """Calls ``fn(event)``; a coroutine function is awaited, a plain one runs in a thread."""

    def __init__(self, name: str, fn: Callable[[dict[str, Any]], Any]) -> None:
        self.name = name
        self.fn = fn

    async def deliver(self, event: dict[str, Any]) -> None:
        if inspect.iscoroutinefunction(self.fn):
            await self.fn(event)
        else:
            await asyncio.to_thread(self.fn, event)


class StartExecutionTarget:
    """Starts an execution named by ``name_path`` with ``input_path`` of the event as input.

    Execution names are unique per state machine, so a redelivered event starts nothing new:
    the same name and input while running answers with the running execution, and a name
    already used by an ended execution is the duplicate it is (ExecutionAlreadyExists)."""

    def __init__(
        self,
        name: str,
        engine: Engine,
        state_machine_arn: str,
        *,
        name_path: str = "$.id",
        input_path: str = "$.detail",
    ) -> None:
        self.name = name
        self.engine = engine
        self.state_machine_arn = state_machine_arn
        self.name_path = name_path
        self.input_path = input_path

    async def deliver(self, event: dict[str, Any]) -> None:
        execution_name = str(compile_path(self.name_path).get_value(event))
        document = compile_path(self.input_path).get_value(event)
        # Delivered before: the execution exists, nothing more to do.
        with contextlib.suppress(ExecutionAlreadyExists):
            await self.engine.start_execution(
                self.state_machine_arn, execution_name, json.dumps(document),
                trace_parent=current_traceparent(),
            )  # fmt: skip


class WebhookTarget:
    """POSTs the event as JSON; a non-2xx answer or a timeout is a failed delivery."""

    def __init__(self, name: str, url: str, *, timeout: float = 5.0) -> None:
        self.name = name
        self.url = url
        self.timeout = timeout

    async def deliver(self, event: dict[str, Any]) -> None:
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            response = await client.post(self.url, json=event)
            response.raise_for_status()
