"""``arn:aws:states:::http:invoke``: a real HTTP call from a Task.

Parameters as AWS defines them (ApiEndpoint, Method, Headers, QueryParameters, RequestBody,
Transform.RequestBodyEncoding); the endpoint must pass ``HttpDestinations``. The result is
``{StatusCode, StatusText, Headers, ResponseBody}``; a status outside 2xx fails the Task
with ``States.Http.StatusCode.<code>``, an unreachable or refused endpoint with
``States.Http.Socket``, as AWS names them. AWS requires an
EventBridge connection for credentials; Sagaway calls the endpoint directly.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx

from sagaway.engine.http_destinations import DestinationRefused, HttpDestinations
from sagaway.expressions.jsontext import dumps, loads
from sagaway.interpreter.messages import Event, InvokeTask, TaskFailed, TaskSucceeded

if TYPE_CHECKING:
    from sagaway.engine.engine import Engine

DEFAULT_TIMEOUT = 60.0


class HttpInvoke:
    def __init__(self, engine: Engine, destinations: HttpDestinations) -> None:
        self.engine = engine
        self.destinations = destinations
        self._running: set[asyncio.Task[None]] = set()

    def dispatch(self, arn: str, command: InvokeTask) -> None:
        task = asyncio.get_running_loop().create_task(self._run(arn, command))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, arn: str, command: InvokeTask) -> None:
        self.engine._task_done(arn, await call(command, self.destinations))

    def close(self) -> None:
        for task in self._running:
            task.cancel()


async def call(command: InvokeTask, destinations: HttpDestinations) -> Event:
    params = command.payload if isinstance(command.payload, dict) else {}
    endpoint = params.get("ApiEndpoint")
    method = str(params.get("Method", "")).upper()
    if not isinstance(endpoint, str) or not method:
        cause = "The ApiEndpoint and Method parameters are required"
        return TaskFailed(command.token, "States.Runtime", cause)
    headers = {str(k): str(v) for k, v in (params.get("Headers") or {}).items()}
    content = _body(params, headers)
    timeout = command.timeout_seconds or DEFAULT_TIMEOUT
    try:
        target = await destinations.check(endpoint)
    except DestinationRefused as exc:
        return TaskFailed(command.token, "States.Http.Socket", str(exc))
    if target.host_header is not None:
        headers["Host"] = target.host_header
    extensions = {} if target.sni_hostname is None else {"sni_hostname": target.sni_hostname}
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.request(
                method, target.url, params=params.get("QueryParameters"),
                headers=headers, content=content, extensions=extensions,
            )  # fmt: skip
    except httpx.HTTPError as exc:
        return TaskFailed(command.token, "States.Http.Socket", f"{type(exc).__name__}: {exc}")
    result = _result(response)
    if 200 <= response.status_code < 300:
        return TaskSucceeded(command.token, result)
    return TaskFailed(
        command.token, f"States.Http.StatusCode.{response.status_code}", dumps(result)
    )


def _body(params: dict[str, Any], headers: dict[str, str]) -> bytes | None:
    body = params.get("RequestBody")
    if body is None:
        return None
    encoding = (params.get("Transform") or {}).get("RequestBodyEncoding", "NONE")
    if encoding == "URL_ENCODED" and isinstance(body, dict):
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return urlencode(body).encode()
    if isinstance(body, str):
        return body.encode()
    headers.setdefault("Content-Type", "application/json")
    return dumps(body).encode()


def _result(response: httpx.Response) -> dict[str, Any]:
    text = response.text
    body: Any = text
    if "json" in response.headers.get("content-type", ""):
        try:
            body = loads(text)
        except ValueError:
            body = text
    return {
        "Headers": {key: response.headers.get_list(key) for key in response.headers},
        "ResponseBody": body,
        "StatusCode": response.status_code,
        "StatusText": response.reason_phrase,
    }
