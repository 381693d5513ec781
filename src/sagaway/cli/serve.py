"""``sagaway serve``: the Step Functions API (AWS JSON 1.0) on uvicorn, backed by the
durable engine, so boto3 and the AWS CLI work with ``--endpoint-url``."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from sagaway.api import create_app
from sagaway.cli import app
from sagaway.observability.setup import (
    TracingConfigError,
    business_keys_from_env,
    process_tracer_provider,
)
from sagaway.resources.lambda_functions import FunctionRegistry
from sagaway.resources.loader import FunctionsLoadError, load_functions


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
            help="SQLite URL of the event bus database (putEvents' outbox and archive); "
            "default: beside the journal (x.db -> x-events.db), or ./sagaway-events.db "
            "for PostgreSQL"
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="PostgreSQL: cluster member identity (default host-pid)")
    ] = None,
    lease_seconds: Annotated[
        float,
        typer.Option(help="PostgreSQL: how long a dead member's executions wait for others"),
    ] = 5.0,
) -> None:
    """Serve the Step Functions API at / and Prometheus metrics at /metrics.

    With --db postgresql://… the server is a cluster member, like `sagaway worker`: it runs
    the executions it starts, takes over those of members whose lease expired, hands its own
    to the others when stopped (SIGTERM), and shares state machines, versions, aliases,
    activities and tags with every server and worker on that database (docs/scaling.md).
    """
    try:
        process_tracer_provider()  # refuse bad OTEL_* settings before serving anything
        business_keys_from_env()
    except TracingConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    registry = FunctionRegistry()
    if functions:
        try:
            load_functions(functions, registry)
        except FunctionsLoadError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
    application = create_app(
        db, registry, poll_timeout=poll_timeout, owner=name, lease_seconds=lease_seconds,
        bus_url=bus,
    )  # fmt: skip
    uvicorn.run(application, host=host, port=port, log_level="warning")
