"""``sagaway worker``: one of several processes running executions from a shared database."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import typer
from prometheus_client import CollectorRegistry, start_http_server
from rich.console import Console

from sagaway.cli import app
from sagaway.engine.cluster import member_identity
from sagaway.engine.engine import Engine
from sagaway.engine.integrations import install
from sagaway.observability.setup import (
    TracingConfigError,
    business_keys_from_env,
    engine_observer,
    process_tracer_provider,
)
from sagaway.resources.lambda_functions import FunctionRegistry
from sagaway.resources.loader import FunctionsLoadError, load_functions
from sagaway.store.open import open_journal
from sagaway.store.ports import Journal, StoreError

console = Console(stderr=True)


@app.command()
def worker(
    db: Annotated[str, typer.Option("--db", help="postgresql://… shared by every worker.")],
    functions: Annotated[
        str | None,
        typer.Option("--functions", "-f", help="Python file or module with the handlers."),
    ] = None,
    lease_seconds: Annotated[
        float,
        typer.Option(help="How long a dead worker's executions wait before others take them."),
    ] = 5.0,
    name: Annotated[str | None, typer.Option(help="Worker identity (default host-pid).")] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve Prometheus metrics at http://HOST:PORT/metrics (default: off)"),
    ] = None,
    metrics_host: Annotated[
        str, typer.Option(help="Address the metrics endpoint listens on")
    ] = "127.0.0.1",
) -> None:
    """Run executions from a PostgreSQL database shared with other workers.

    Each worker claims RUNNING executions nobody owns (new ones, or those of a worker whose
    lease expired) with FOR UPDATE SKIP LOCKED, is woken by LISTEN/NOTIFY, and keeps what
    it claimed until it stops. SIGTERM/SIGINT stop it gracefully: its executions are
    released at once for the others. Start executions with `sagaway serve` or the API.
    """
    if not db.startswith(("postgresql://", "postgres://")):
        console.print("[red]sagaway worker needs postgresql:// (SQLite is single-process)[/red]")
        raise typer.Exit(2)
    owner = name or member_identity()
    try:
        process_tracer_provider()  # refuse bad OTEL_* settings before starting
        business_keys_from_env()
        registry = load_functions(functions) if functions else FunctionRegistry()
        journal = open_journal(db, owner=owner, lease_seconds=lease_seconds)
    except (FunctionsLoadError, StoreError, TracingConfigError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"worker {owner} on {db.split('@')[-1]} (lease {lease_seconds:g} s)")
    metrics = CollectorRegistry()
    if metrics_port is not None:
        try:
            start_http_server(metrics_port, addr=metrics_host, registry=metrics)
        except OSError as exc:
            console.print(f"[red]metrics port {metrics_port}: {exc.strerror}[/red]")
            raise typer.Exit(2) from exc
    asyncio.run(_serve(journal, registry, metrics))


async def _serve(journal: Journal, registry: FunctionRegistry, metrics: CollectorRegistry) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    engine = Engine(journal, registry, observer=engine_observer(metrics))
    # Before start: claimed executions re-dispatch their Tasks through the integrations.
    # Callbacks, nested executions and http:invoke run here; activities are handed out by
    # the servers' GetActivityTask, so an activity Task claimed here fails with a cause
    # saying so, and putEvents needs a server's bus.
    integrations = install(engine, activities=False)
    async with engine:
        try:
            await stop.wait()
        finally:
            integrations.close()
