"""``sagaway serve``: the Step Functions API (AWS JSON 1.0) on uvicorn, backed by the
durable engine, so boto3 and the AWS CLI work with ``--endpoint-url``."""

from __future__ import annotations

import logging
import os
import socket
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import uvicorn

from sagaway.api import create_app
from sagaway.api.app import console_of
from sagaway.cli import app
from sagaway.cli import expression_options as options
from sagaway.cli import quota_options as quota
from sagaway.cli.serve_setup import bind, fail, security_for, startup_line
from sagaway.cli.template_options import (
    ParameterOverrides,
    TemplateFile,
    install_machines,
    load_project,
    parse_overrides,
)
from sagaway.console import ConsoleSettings, exposure_problem
from sagaway.engine import event_loop
from sagaway.observability.setup import (
    TracingConfigError,
    business_keys_from_env,
    process_tracer_provider,
)
from sagaway.resources.lambda_functions import FunctionRegistry
from sagaway.resources.loader import (
    ISOLATION_HELP,
    FunctionsLoadError,
    Isolation,
    load_functions,
)

# Seconds SIGTERM gives open requests (StartSyncExecution, activity long polls) to finish.
SHUTDOWN_GRACE = 2


@app.command()
def serve(
    db: Annotated[
        str, typer.Option(help="Journal URL: sqlite:///path.db, or postgresql://… to share")
    ] = "sqlite:///sagaway.db",
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8083,
    functions: Annotated[
        str | None, typer.Option(help="Python file or module with Lambda-style handlers")
    ] = None,
    poll_timeout: Annotated[
        float, typer.Option(help="Seconds GetActivityTask waits for a task (AWS: 60)")
    ] = 60.0,
    bus: Annotated[
        str | None,
        typer.Option(
            help="URL of the event bus database (archive, inbox, dead-letter queues): "
            "sqlite:///… or postgresql://…; default: beside the journal "
            "(x.db -> x-events.db), or the journal's own PostgreSQL database"
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="PostgreSQL: cluster member identity (default host-pid)")
    ] = None,
    lease_seconds: Annotated[
        float,
        typer.Option(help="PostgreSQL: how long a dead member's executions wait for others"),
    ] = 5.0,
    max_history_events: quota.HistoryEvents = quota.DEFAULT_HISTORY_EVENTS,
    max_payload_bytes: quota.PayloadBytes = quota.DEFAULT_PAYLOAD_BYTES,
    express_max_seconds: quota.ExpressSeconds = quota.DEFAULT_EXPRESS_SECONDS,
    max_tags: quota.Tags = quota.DEFAULT_TAGS,
    credentials: Annotated[
        Path | None,
        typer.Option(
            help="File of 'ACCESS_KEY_ID SECRET [full|read-only]' lines: every request must "
            "then carry a valid AWS Signature Version 4 (also from $SAGAWAY_CREDENTIALS); "
            "required to listen off loopback"
        ),
    ] = None,
    anonymous_reads: Annotated[
        bool, typer.Option(help="With credentials: let unsigned Describe/List/Get requests in")
    ] = False,
    http_allow_host: quota.HttpAllowHosts = None,
    access_log: Annotated[bool, typer.Option(help="Print one line per request to stderr")] = False,
    isolation: Annotated[Isolation, typer.Option(help=ISOLATION_HELP)] = Isolation.THREAD,
    expression_cpu_seconds: options.CpuSeconds = options.DEFAULT_CPU_SECONDS,
    expression_max_depth: options.MaxDepth = options.DEFAULT_MAX_DEPTH,
    expression_max_bytes: options.MaxBytes = options.DEFAULT_MAX_BYTES,
    console_issuer: Annotated[
        str | None,
        typer.Option(help="Console sign-in: OpenID Connect issuer URL (required off loopback)"),
    ] = None,
    console_client_id: Annotated[
        str | None, typer.Option(help="Console sign-in: client id (default sagaway-console)")
    ] = None,
    console_roles_claim: Annotated[
        str | None,
        typer.Option(help="Console sign-in: ID token claim with the roles viewer/operator"),
    ] = None,
    template: TemplateFile = None,
    parameter_overrides: ParameterOverrides = None,
) -> None:
    """Serve the Step Functions API at /, the operator console at /console and Prometheus
    metrics at /metrics.

    The console signs people in with OpenID Connect (--console-issuer; the client secret
    is read from SAGAWAY_CONSOLE_CLIENT_SECRET). On loopback without an issuer it prints a
    one-time sign-in link instead; on any other address it needs an issuer (docs/console.md).

    With --db postgresql://… the server is a cluster member, like `sagaway worker`: it runs
    the executions it starts, takes over those of members whose lease expired, hands its own
    to the others when stopped (SIGTERM), and shares state machines, versions, aliases,
    activities and tags with every server and worker on that database (docs/scaling.md).
    """
    try:
        process_tracer_provider()  # refuse bad OTEL_* settings before serving anything
        business_keys_from_env()
    except TracingConfigError as exc:
        raise fail(str(exc)) from exc
    security = security_for(host, credentials, anonymous_reads)
    options.apply_limits(expression_cpu_seconds, expression_max_depth, expression_max_bytes)
    registry = FunctionRegistry(isolation=isolation.value)
    if functions:
        try:
            load_functions(functions, registry)
        except FunctionsLoadError as exc:
            raise fail(str(exc)) from exc
    settings = ConsoleSettings.from_environment(
        issuer=console_issuer, client_id=console_client_id, roles_claim=console_roles_claim
    )
    problem = exposure_problem(host, settings)
    if problem is not None:
        raise fail(problem)
    if template is not None:
        overrides = parse_overrides(parameter_overrides)
        install_machines(db, load_project(template, registry, overrides))
    limits = quota.quotas(max_history_events, max_payload_bytes, express_max_seconds, max_tags)
    application = create_app(
        db, registry, poll_timeout=poll_timeout, owner=name, lease_seconds=lease_seconds,
        bus_url=bus, limits=limits, security=security, http_allow=http_allow_host or (),
        console=settings, host=host,
    )  # fmt: skip
    sock = bind(host, port)
    typer.echo(startup_line(host, port, db, len(registry.handlers), security), err=True)
    local = console_of(application).local
    if local is not None:
        typer.echo(f"console: sign in at http://{host}:{port}{local.path()}", err=True)
    _run(application, sock, access_log)


def _run(application: Any, sock: socket.socket, access_log: bool) -> NoReturn:
    if access_log:  # uvicorn's access lines are INFO records: let those through alone
        logging.basicConfig(level=logging.WARNING, format="%(message)s")
        logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    config = uvicorn.Config(
        application, access_log=access_log,
        log_level=None if access_log else "warning",
        log_config=None if access_log else uvicorn.config.LOGGING_CONFIG,
        timeout_graceful_shutdown=SHUTDOWN_GRACE,
        loop=event_loop.choice(),  # uvicorn's "auto" would ignore SAGAWAY_EVENT_LOOP
    )  # fmt: skip
    uvicorn.Server(config).run(sockets=[sock])
    # The journal and the bus are closed (the app's shutdown ran). Handler threads that are
    # still blocked must not hold the process: the interpreter would join them at exit.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
