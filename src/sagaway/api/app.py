"""The Step Functions API as an ASGI app: AWS JSON 1.0 at ``/``.

A request names its action in ``X-Amz-Target: AWSStepFunctions.<Action>`` and carries its
parameters as a JSON object. The engine runs on the server's own event loop (started and
stopped by the app's lifespan), so handlers call it directly. Every failure is answered in
AWS's error shape; nothing a client sends stops the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from functools import partial
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from sagaway.api import (
    executions,
    health,
    history,
    machines,
    map_runs,
    tags,
    tasks,
    test_state,
    versions,
)
from sagaway.api.credentials import ApiSecurity
from sagaway.api.errors import ApiError
from sagaway.api.guard import LoopbackHostCheck, authorize
from sagaway.api.service import Api, activity_exists
from sagaway.api.validation import check, operation
from sagaway.console import (
    Console,
    ConsoleExtension,
    ConsoleSettings,
    create_console,
    exposure_problem,
    is_loopback,
)
from sagaway.engine.cluster import member_identity
from sagaway.engine.engine import Engine
from sagaway.engine.http_destinations import HttpDestinations
from sagaway.engine.integrations import ResourceRouter
from sagaway.expressions.jsontext import check_depth
from sagaway.interpreter.limits import Limits
from sagaway.messaging.bus import EventBus
from sagaway.messaging.put_events import ServerBus, bus_url_beside
from sagaway.observability.context import traceparent_to_xray
from sagaway.observability.setup import engine_observer
from sagaway.resources.lambda_functions import FunctionRegistry
from sagaway.store.open import open_journal
from sagaway.store.ports import StoreError
from sagaway.store.postgres_catalog import open_catalog

log = logging.getLogger("sagaway.api")

TARGET_PREFIX = "AWSStepFunctions."
CONTENT_TYPE = "application/x-amz-json-1.0"
# The largest request AWS takes: a 1 MiB definition plus room for the rest of the fields.
MAX_BODY = 2 * 1024 * 1024
# The deepest request of the Step Functions model nests 5 levels (UpdateStateMachine's logging
# destinations). Deeper bodies can only carry members nobody reads, yet whatever is kept of
# them must fit the journal's encoder: refuse them as malformed.
MAX_BODY_DEPTH = 32
# Calls that wait for something: a client that goes away cancels the wait (an EXPRESS
# execution started by StartSyncExecution runs on to its end or its time limit).
LONG_POLLS = frozenset({"GetActivityTask", "StartSyncExecution"})
UNAVAILABLE = "The service is temporarily unavailable (its database cannot be used); retry"
TRACED = frozenset({"StartExecution", "StartSyncExecution"})

Handler = Callable[[Api, dict[str, Any]], Awaitable[dict[str, Any]]]
HANDLERS: dict[str, Handler] = {
    **machines.ACTIONS,
    **versions.ACTIONS,
    **executions.ACTIONS,
    **history.ACTIONS,
    **tasks.ACTIONS,
    **tags.ACTIONS,
    **test_state.ACTIONS,
    **map_runs.ACTIONS,
}


def _json(body: dict[str, Any], status: int = 200) -> Response:
    headers = {"x-amzn-RequestId": str(uuid.uuid4())}
    return Response(orjson.dumps(body), status, headers=headers, media_type=CONTENT_TYPE)


async def _body(request: Request) -> bytes:
    size = int(request.headers.get("content-length") or 0)
    if size > MAX_BODY:
        raise ApiError("RequestEntityTooLargeException", "Request entity too large", 413)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise ApiError("RequestEntityTooLargeException", "Request entity too large", 413)
    return body


def _params(body: bytes) -> dict[str, Any]:
    try:
        params = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError as exc:
        raise ApiError("SerializationException", f"Malformed JSON body: {exc}") from exc
    if not isinstance(params, dict):
        raise ApiError("SerializationException", "The request body must be a JSON object")
    # Counting brackets is cheap and bounds the depth; only bodies with many pay for a check.
    if body.count(b"[") + body.count(b"{") > MAX_BODY_DEPTH:
        try:
            check_depth(params, MAX_BODY_DEPTH)
        except ValueError as exc:
            raise ApiError("SerializationException", f"Malformed JSON body: {exc}") from exc
    return params


async def dispatch(request: Request) -> Response:
    api: Api = request.app.state.api
    action = request.headers.get("x-amz-target", "").removeprefix(TARGET_PREFIX)
    try:
        body = await _body(request)
        authorize(request.app.state.security, request, body, action)
        handler, op = HANDLERS.get(action), operation(action)
        if handler is None or op is None:
            raise ApiError("UnknownOperationException", f"Unknown operation: '{action}'")
        params = _params(body)
        check(op, params)
        if action in TRACED:
            _trace_header(request, params)
        if action in LONG_POLLS:
            return await _long_poll(request, handler(api, params))
        return _json(await handler(api, params))
    except ApiError as error:
        return _json(error.body(), error.status)
    except ClientDisconnect:
        return Response(status_code=499)
    except (StoreError, sqlite3.OperationalError) as exc:
        # The database is away or full: a server-side condition the client should retry
        # (botocore retries 503s), not a bug; /readyz says the same meanwhile.
        log.warning("%s: database unavailable: %s", action, exc)
        return _json({"__type": "ServiceUnavailable", "message": UNAVAILABLE}, 503)
    except Exception:  # a bug must not take the server down: report it as AWS would
        log.exception("%s failed", action)
        return _json({"__type": "InternalFailure", "message": "Internal failure"}, 500)


def _trace_header(request: Request, params: dict[str, Any]) -> None:
    # AWS: the X-Amzn-Trace-Id header wins over the body's traceHeader; a W3C traceparent
    # header (what OpenTelemetry clients send) wins over both.
    header = request.headers.get("x-amzn-trace-id")
    w3c = traceparent_to_xray(request.headers.get("traceparent", ""))
    if w3c or header:
        params["traceHeader"] = w3c or header


async def _long_poll(request: Request, work: Awaitable[dict[str, Any]]) -> Response:
    """Run ``work`` until it answers or the client goes away (then it is cancelled, and
    whatever it was about to hand out stays for the next poller)."""
    answer = asyncio.ensure_future(work)
    gone = asyncio.ensure_future(_disconnected(request))
    await asyncio.wait({answer, gone}, return_when=asyncio.FIRST_COMPLETED)
    gone.cancel()
    if not answer.done():
        answer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await answer
        return Response(status_code=499)
    return _json(answer.result())


async def _disconnected(request: Request) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


async def placeholder(request: Request) -> Response:
    return PlainTextResponse("Not implemented yet in this Sagaway server.", 404)


async def metrics_text(request: Request) -> Response:
    registry: CollectorRegistry | None = request.app.state.metrics
    if registry is None:
        return await placeholder(request)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def create_app(
    db_url: str = "sqlite:///sagaway.db",
    registry: FunctionRegistry | None = None,
    *,
    poll_timeout: float = 60.0,
    owner: str | None = None,
    lease_seconds: float = 5.0,
    bus_url: str | None = None,
    bus: EventBus | None = None,
    limits: Limits | None = None,
    security: ApiSecurity | None = None,
    http_allow: Sequence[str] = (),
    console: ConsoleSettings | None = None,
    host: str = "127.0.0.1",
) -> Starlette:
    """The API app on the journal at ``db_url``; Lambda handlers from ``registry``.

    On PostgreSQL the server is a cluster member under the identity ``owner`` (default
    host-pid-random): it runs the executions it starts, takes over those of members whose
    lease expired, and shares state machines and the catalog with every member. putEvents
    publishes on ``bus`` (default: a bus of its own) through the outbox in the SQLite
    database ``bus_url`` (default: beside the journal, see ``bus_url_beside``); the bus is
    ``app.state.bus`` for adding rules. ``limits``: the quotas enforced (default AWS's).
    ``security`` says which requests are let in (default: unsigned requests, from loopback
    Host names only). ``http_allow`` names the hosts http:invoke Tasks may reach although
    they resolve to private addresses. The operator console is mounted at ``/console`` with
    ``console`` settings; ``host`` is the address served on, which decides whether the
    one-time local sign-in is offered (loopback only; elsewhere an issuer is needed, else
    ValueError says why)."""
    identity = owner or member_identity()
    metrics = CollectorRegistry()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        journal = open_journal(db_url, owner=identity, lease_seconds=lease_seconds)
        catalog = open_catalog(db_url)
        server_bus = ServerBus(bus_url or bus_url_beside(db_url), bus, journal)
        router = ResourceRouter(bus=server_bus, http=HttpDestinations.allowing(http_allow),
                                activity_exists=partial(activity_exists, catalog))  # fmt: skip
        engine = Engine(journal, registry, limits=limits, router=router,
                        observer=engine_observer(metrics))  # fmt: skip
        integrations = engine.integrations
        await engine.start()
        server_bus.start()
        app.state.api = Api(engine, catalog, integrations, poll_timeout)
        app.state.bus = server_bus.bus
        try:
            yield
        finally:
            await engine.close()
            await server_bus.stop()
            catalog.close()
            journal.close()

    application = _starlette(security or ApiSecurity(), lifespan)
    application.router.routes.extend(_routes(_console(application, console, host)))
    application.state.metrics = metrics
    return application


def _console(
    application: Starlette,
    settings: ConsoleSettings | None,
    host: str,
    extension: ConsoleExtension | None = None,
) -> Starlette:
    """The console sub-app over the API service ``application`` holds once started."""
    settings = settings or ConsoleSettings()
    problem = exposure_problem(host, settings)
    if problem is not None:
        raise ValueError(problem)

    def service() -> Api:
        api: Api = application.state.api
        return api

    local = settings.issuer is None and is_loopback(host)  # the embedded default only
    return create_console(service, settings, local_sign_in=local, extension=extension)


def attach_app(
    engine: Engine,
    catalog_url: str,
    *,
    poll_timeout: float = 60.0,
    security: ApiSecurity | None = None,
    console: ConsoleSettings | None = None,
    host: str = "127.0.0.1",
    extension: ConsoleExtension | None = None,
) -> Starlette:
    """The API over an engine its embedder runs (the shop's engine process, for one), with
    the integrations the engine was built with. The embedder starts and closes the engine;
    the app's lifespan only closes what it opened (the catalog at ``catalog_url``)."""
    integrations = engine.integrations
    catalog = open_catalog(catalog_url)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            catalog.close()

    application = _starlette(security or ApiSecurity(), lifespan)
    application.router.routes.extend(_routes(_console(application, console, host, extension)))
    application.state.metrics = None  # the embedder serves its own metrics
    application.state.api = Api(engine, catalog, integrations, poll_timeout)
    return application


def _starlette(security: ApiSecurity, lifespan: Any) -> Starlette:
    middleware = [Middleware(LoopbackHostCheck)] if security.loopback_hosts else []
    application = Starlette(lifespan=lifespan, middleware=middleware)
    application.state.security = security
    return application


def _routes(console: Starlette) -> list[BaseRoute]:
    return [
        Route("/", dispatch, methods=["POST"]),
        Route("/console", lambda request: RedirectResponse("/console/", 307)),
        Mount("/console", console, name="console"),
        *health.ROUTES,
        Route("/metrics", metrics_text),
    ]


def console_of(application: Starlette) -> Console:
    """The console mounted in an app made here (its sign-in link, its sessions)."""
    for route in application.routes:
        if isinstance(route, Mount) and route.name == "console":
            found: Console = route.app.state.console  # type: ignore[attr-defined]
            return found
    raise LookupError("no console in this app")
