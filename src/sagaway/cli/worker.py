"""``sagaway worker``: one of several processes running executions from a shared database."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import typer
from rich.console import Console

from sagaway.cli import app
from sagaway.cli import expression_options as options
from sagaway.engine.cluster import member_identity
from sagaway.engine.engine import Engine
from sagaway.engine.integrations import ResourceRouter
from sagaway.messaging.put_events import ServerBus, bus_url_beside
from sagaway.resources.lambda_functions import FunctionRegistry
from sagaway.resources.loader import (
    ISOLATION_HELP,
    FunctionsLoadError,
    Isolation,
    load_functions,
)
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
    isolation: Annotated[Isolation, typer.Option(help=ISOLATION_HELP)] = Isolation.THREAD,
    expression_cpu_seconds: options.CpuSeconds = options.DEFAULT_CPU_SECONDS,
    expression_max_depth: options.MaxDepth = options.DEFAULT_MAX_DEPTH,
    expression_max_bytes: options.MaxBytes = options.DEFAULT_MAX_BYTES,
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
    options.apply_limits(expression_cpu_seconds, expression_max_depth, expression_max_bytes)
    owner = name or member_identity()
    try:
        registry = FunctionRegistry(isolation=isolation.value)
        if functions:
            load_functions(functions, registry)
        journal = open_journal(db, owner=owner, lease_seconds=lease_seconds)
    except (FunctionsLoadError, StoreError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"worker {owner} on {db.split('@')[-1]} (lease {lease_seconds:g} s)")
    asyncio.run(_serve(journal, registry, db))


async def _serve(journal: Journal, registry: FunctionRegistry, db_url: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # The integrations a server runs, but activities: those are handed out by the servers'
    # GetActivityTask, so an activity Task claimed here fails with a cause saying so.
    bus = ServerBus(bus_url_beside(db_url), journal=journal)
    engine = Engine(journal, registry, router=ResourceRouter(bus=bus, activities=False))
    async with engine:
        bus.start()
        try:
            await stop.wait()
        finally:
            await bus.stop()
