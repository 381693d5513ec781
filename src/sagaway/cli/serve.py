"""``sagaway serve``: the Step Functions API (AWS JSON 1.0) on uvicorn, backed by the
durable engine, so boto3 and the AWS CLI work with ``--endpoint-url``."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from sagaway.api import create_app
from sagaway.cli import app
from sagaway.resources.lambda_functions import FunctionRegistry
from sagaway.resources.loader import FunctionsLoadError, load_functions


@app.command()
def serve(
    db: Annotated[str, typer.Option(help="Journal URL (sqlite:///path.db)")] = (
        "sqlite:///sagaway.db"
    ),
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8083,
    functions: Annotated[
        str | None, typer.Option(help="Python file or module with Lambda-style handlers")
    ] = None,
    poll_timeout: Annotated[
        float, typer.Option(help="Seconds GetActivityTask waits for a task (AWS: 60)")
    ] = 60.0,
) -> None:
    """Serve the Step Functions API at / (the console and metrics come later)."""
    if db.startswith(("postgresql://", "postgres://")):
        typer.echo("error: the API server runs on SQLite for now", err=True)
        raise typer.Exit(2)
    registry = FunctionRegistry()
    if functions:
        try:
            load_functions(functions, registry)
        except FunctionsLoadError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
    application = create_app(db, registry, poll_timeout=poll_timeout)
    uvicorn.run(application, host=host, port=port, log_level="warning")
