"""What operators may do (POST, operator role, CSRF-checked by the guard): stop an
execution, redrive it, answer a task waiting for its token. Each goes through the same
action handler the Step Functions API uses, so the console can do nothing the API would
refuse, and each is written to the audit log with who asked and how it ended."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from sagaway.api import executions, tasks
from sagaway.api.errors import ApiError
from sagaway.api.service import Api
from sagaway.console.app import Console
from sagaway.console.sessions import Session
from sagaway.store.ports import AuditEntry

Handler = Callable[[Api, dict[str, Any]], Awaitable[dict[str, Any]]]


async def perform(
    console: Console,
    session: Session,
    action: str,
    target: str,
    handler: Handler,
    params: dict[str, Any],
) -> str | None:
    """Run ``handler`` and record it; the problem (an AWS error) or None when it worked."""
    api = console.api
    problem = None
    try:
        await handler(api, params)
    except ApiError as error:
        problem = f"{error.code}: {error.message}"
    detail = {k: v for k, v in params.items() if k != "taskToken"}
    entry = AuditEntry(
        api.engine.clock.now(),
        session.user,
        action,
        target,
        orjson.dumps(detail).decode(),
        problem or "ok",
    )
    await console.off_loop(api.engine.journal.record_audit, entry)
    return problem


def _back(arn: str, action: str, problem: str | None) -> Response:
    query = {"arn": arn, "problem" if problem else "done": problem or action}
    return RedirectResponse(f"/console/execution?{urlencode(query)}", 303)


async def _fields(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def stop(console: Console, request: Request, session: Session) -> Response:
    form = await _fields(request)
    arn = form.get("arn", "")
    params = {
        "executionArn": arn,
        "error": "Console.Stopped",
        "cause": form.get("cause") or f"stopped by {session.user} in the console",
    }
    problem = await perform(
        console, session, "StopExecution", arn, executions.stop_execution, params
    )
    return _back(arn, "StopExecution", problem)


async def redrive(console: Console, request: Request, session: Session) -> Response:
    form = await _fields(request)
    arn = form.get("arn", "")
    problem = await perform(
        console,
        session,
        "RedriveExecution",
        arn,
        executions.redrive_execution,
        {"executionArn": arn},
    )
    return _back(arn, "RedriveExecution", problem)


async def answer(console: Console, request: Request, session: Session) -> Response:
    form = await _fields(request)
    arn, token = form.get("arn", ""), form.get("taskToken", "")
    if form.get("outcome") == "success":
        params = {"taskToken": token, "output": form.get("output") or "{}"}
        action, handler = "SendTaskSuccess", tasks.send_task_success
    else:
        params = {
            "taskToken": token,
            "error": form.get("error") or "Console.Failed",
            "cause": form.get("cause") or f"failed by {session.user} in the console",
        }
        action, handler = "SendTaskFailure", tasks.send_task_failure
    params["state"] = form.get("state", "")
    call = {k: v for k, v in params.items() if k != "state"}
    problem = await perform(
        console, session, action, arn, lambda api, _: handler(api, call), params
    )
    return _back(arn, action, problem)


ROUTES = {"/execution/stop": stop, "/execution/redrive": redrive, "/execution/answer": answer}
