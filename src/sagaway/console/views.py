"""The console's pages (GET): executions, one execution, state machines, the audit log."""

from __future__ import annotations

from typing import Any

import orjson
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from sagaway.console import reads
from sagaway.console.app import Console
from sagaway.console.graph import layout
from sagaway.console.path import trace
from sagaway.console.sessions import Session
from sagaway.console.svg import render
from sagaway.expressions.jsontext import loads

REDRIVABLE = ("FAILED", "TIMED_OUT", "ABORTED")


def script_json(value: Any) -> Markup:
    """JSON safe inside a <script> element (no ``</script>`` can close it early)."""
    text = orjson.dumps(value).decode()
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def graph_svg(definition: str, path: Any = None, status: str = "") -> Markup:
    try:
        parsed = loads(definition)
    except ValueError:
        return Markup("<p>The definition is not JSON.</p>")
    return Markup(render(layout(parsed if isinstance(parsed, dict) else {}), path, status))


async def home(console: Console, request: Request, session: Session) -> Response:
    return RedirectResponse("/console/executions", 303)


async def executions(console: Console, request: Request, session: Session) -> Response:
    query = reads.query_from(request.query_params)
    found = await console.off_loop(reads.listing, console.api, query)
    params = request.query_params
    return console.render(
        request,
        "executions.html",
        session,
        listing=found,
        statuses=reads.STATUSES,
        filters={k: params.get(k, "") for k in ("machine", "status", "name", "from", "to")},
        total=sum(min(n, reads.COUNT_CAP) for n in found.counts.values()),
        capped=any(n > reads.COUNT_CAP for n in found.counts.values()),
        cap=reads.COUNT_CAP,
        refresh=found.counts.get("RUNNING", 0) > 0,
    )


async def execution(console: Console, request: Request, session: Session) -> Response:
    arn = request.query_params.get("arn", "")
    view = await console.off_loop(reads.execution_view, console.api, arn)
    if view is None:
        return console.render(request, "error.html", session, 404, message=f"No execution {arn}")
    record = view.record
    path = trace(view.history)
    states = {name: run.details(record.status) for name, run in path.runs.items()}
    return console.render(
        request,
        "execution.html",
        session,
        view=view,
        record=record,
        graph=graph_svg(record.definition, path, record.status),
        states=script_json(states),
        redrivable=record.status in REDRIVABLE,
        refresh=record.status == "RUNNING",
        done=request.query_params.get("done"),
        problem=request.query_params.get("problem"),
    )


async def history_json(console: Console, request: Request, session: Session) -> Response:
    arn = request.query_params.get("arn", "")
    record = await console.off_loop(console.api.engine.journal.get_execution, arn)
    if record is None:
        return console.render(request, "error.html", session, 404, message=f"No execution {arn}")
    events = await console.off_loop(console.api.engine.journal.history, arn)
    body = orjson.dumps({"executionArn": arn, "events": events}, option=orjson.OPT_INDENT_2)
    filename = f"{record.name}-history.json"
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def machines(console: Console, request: Request, session: Session) -> Response:
    found = await console.off_loop(console.api.engine.journal.list_state_machines)
    return console.render(request, "machines.html", session, machines=found)


async def machine(console: Console, request: Request, session: Session) -> Response:
    arn = request.query_params.get("arn", "")
    view = await console.off_loop(reads.machine_view, console.api, arn)
    if view is None:
        return console.render(
            request, "error.html", session, 404, message=f"No state machine {arn}"
        )
    return console.render(
        request, "machine.html", session, **view, graph=graph_svg(view["record"].definition)
    )


async def audit(console: Console, request: Request, session: Session) -> Response:
    before = request.query_params.get("before")
    marker = int(before) if before and before.isdigit() else None
    entries = await console.off_loop(console.api.engine.journal.audit_entries, 100, marker)
    older = entries[-1].id if len(entries) == 100 else None
    return console.render(request, "audit.html", session, entries=entries, older=older)
