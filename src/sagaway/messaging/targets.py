"""Rule targets: start a state machine execution, call Python, or POST to a webhook."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import inspect
import json
import time
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
    """POSTs the event as JSON; a non-2xx answer or a timeout is a failed delivery.

    With a ``signing_secret`` (from a secret store, never from code) each request carries
    ``X-Sagaway-Signature: t=UNIX_TIME,v1=HEX``, the HMAC-SHA256 of ``"{t}.{body}"``, so
    the receiver can tell the sender knew the secret and refuse replays of old requests."""

    def __init__(
        self, name: str, url: str, *, timeout: float = 5.0, signing_secret: str | None = None
    ) -> None:
        self.name = name
        self.url = url
        self.timeout = timeout
        self._secret = signing_secret

    async def deliver(self, event: dict[str, Any]) -> None:
        body = json.dumps(event).encode()
        headers = {"Content-Type": "application/json"}
        if self._secret is not None:
            headers[SIGNATURE_HEADER] = webhook_signature(self._secret, body, int(time.time()))
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            response = await client.post(self.url, content=body, headers=headers)
            response.raise_for_status()


SIGNATURE_HEADER = "X-Sagaway-Signature"


def webhook_signature(secret: str, body: bytes, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + body
    return f"t={timestamp},v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"
