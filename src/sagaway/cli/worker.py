"""``sagaway worker``: one of several processes running executions from a shared database."""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass
from typing import Annotated

import typer
from prometheus_client import CollectorRegistry, start_http_server
from rich.console import Console

from sagaway.api.health import HealthServer
from sagaway.cli import app
from sagaway.cli import expression_options as options
from sagaway.cli import quota_options as quota
from sagaway.engine import event_loop
from sagaway.engine.cluster import member_identity
from sagaway.engine.engine import Engine
from sagaway.engine.http_destinations import HttpDestinations
from sagaway.engine.integrations import ResourceRouter
from sagaway.interpreter.limits import Limits
from sagaway.messaging.put_events import ServerBus, bus_url_beside
from sagaway.observability.setup import (
    TracingConfigError,
    business_keys_from_env,
    engine_observer,
    process_tracer_provider,
)
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
    health_port: Annotated[
        int | None,
        typer.Option(
            help="Serve /healthz (alive) and /readyz (database reachable, claims done; 503 "
            "with the reason otherwise) over HTTP on this port (default: no probes)."
        ),
    ] = None,
    health_host: Annotated[
        str, typer.Option(help="Address the health probes listen on.")
    ] = "127.0.0.1",
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve Prometheus metrics at http://HOST:PORT/metrics (default: off)"),
    ] = None,
    metrics_host: Annotated[
        str, typer.Option(help="Address the metrics endpoint listens on")
    ] = "127.0.0.1",
    max_history_events: quota.HistoryEvents = quota.DEFAULT_HISTORY_EVENTS,
    max_payload_bytes: quota.PayloadBytes = quota.DEFAULT_PAYLOAD_BYTES,
    express_max_seconds: quota.ExpressSeconds = quota.DEFAULT_EXPRESS_SECONDS,
    http_allow_host: quota.HttpAllowHosts = None,
) -> None:
    """Run executions from a PostgreSQL database shared with other workers.

    Each worker claims RUNNING executions nobody owns (new ones, or those of a worker whose
    lease expired) with FOR UPDATE SKIP LOCKED, is woken by LISTEN/NOTIFY, and keeps what
    it claimed until it stops. SIGTERM/SIGINT stop it gracefully: its executions are
    released at once for the others. Start executions with `sagaway serve` or the API.
    When the database restarts, the worker reconnects with backoff and carries on.
    """
    if not db.startswith(("postgresql://", "postgres://")):
        console.print("[red]sagaway worker needs postgresql:// (SQLite is single-process)[/red]")
        raise typer.Exit(2)
    options.apply_limits(expression_cpu_seconds, expression_max_depth, expression_max_bytes)
    owner = name or member_identity()
    try:
        process_tracer_provider()  # refuse bad OTEL_* settings before starting
        business_keys_from_env()
        registry = FunctionRegistry(isolation=isolation.value)
        if functions:
            load_functions(functions, registry)
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
    setup = _Setup(
        db_url=db,
        probes=None if health_port is None else (health_host, health_port),
        metrics=metrics,
        limits=quota.quotas(max_history_events, max_payload_bytes, express_max_seconds, 0),
        http_allow=tuple(http_allow_host or ()),
    )
    event_loop.run(_serve(journal, registry, setup))


@dataclass(frozen=True)
class _Setup:
    db_url: str
    probes: tuple[str, int] | None  # where /healthz and /readyz answer, if anywhere
    metrics: CollectorRegistry
    limits: Limits
    http_allow: tuple[str, ...] = ()  # hosts http:invoke may reach on private addresses


def worker_router(bus: ServerBus, setup: _Setup) -> ResourceRouter:
    """The integrations a server runs, but activities: those are handed out by the servers'
    GetActivityTask, so an activity Task claimed here fails with a cause saying so."""
    http = HttpDestinations.allowing(setup.http_allow)
    return ResourceRouter(bus=bus, activities=False, http=http)


async def _serve(journal: Journal, registry: FunctionRegistry, setup: _Setup) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    bus = ServerBus(bus_url_beside(setup.db_url), journal=journal)
    router = worker_router(bus, setup)
    engine = Engine(journal, registry, router=router, limits=setup.limits,
                    observer=engine_observer(setup.metrics))  # fmt: skip
    health = None if setup.probes is None else HealthServer(engine, *setup.probes)
    async with engine:
        bus.start()
        try:
            if health is not None:
                await health.start()
            await stop.wait()
        finally:
            if health is not None:
                await health.close()
            await bus.stop()
