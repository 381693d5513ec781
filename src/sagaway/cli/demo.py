"""``sagaway demo``: the order-processing system of the seeds, run end to end (see docs/shop.md)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from sagaway.cli import app


@app.command()
def demo(
    orders: int = typer.Option(2000, "--orders", help="How many orders the flash sale places."),
    workdir: Path = typer.Option(Path("sagaway-demo"), "--workdir", help="Where the databases go."),  # noqa: B008
    seed: int = typer.Option(7, "--seed", help="Seed for carts and injected failures."),
    no_crash: bool = typer.Option(False, "--no-crash", help="Do not kill the engine midway."),
    serve: bool = typer.Option(
        False, "--serve", help="Keep the intake and the Step Functions API running afterwards."
    ),
    port: int = typer.Option(8084, "--port", help="The intake's port on 127.0.0.1."),
    api_port: int = typer.Option(
        8083, "--api-port", help="With --serve: the Step Functions API's port on 127.0.0.1."
    ),
    no_redrive: bool = typer.Option(
        False, "--no-redrive", help="Skip the operator's redrive of parked orders."
    ),
    db: str | None = typer.Option(
        None,
        "--db",
        help="Run the sale as a cluster on this PostgreSQL database "
        "(postgresql://user@host/db): every database a shopdemo* schema of it (dropped and "
        "made anew), --workers engine processes, --intakes intake processes.",
    ),
    workers: int = typer.Option(
        1, "--workers", min=1, help="With --db: engine worker processes (one is SIGKILLed)."
    ),
    intakes: int = typer.Option(
        1,
        "--intakes",
        min=1,
        help="With --db: intake processes, on --port, --port+1, …; the "
        "load generator spreads the orders over them.",
    ),
    db_restart_command: str | None = typer.Option(
        None,
        "--db-restart-command",
        help="With --db: a command that restarts PostgreSQL, run "
        "once half the orders are final, e.g. 'pg_ctlcluster 15 main restart -m fast'; "
        "the last 5% of the orders are sent while it is down (503s, retried with the same "
        "Idempotency-Key). Without it the database restart is skipped, and the demo says so.",
    ),
) -> None:
    """Run a flash sale on the shop with failures and an engine crash; audit the invariants."""
    # The shop is an application on top of sagaway: imported only when the demo runs.
    from rich.console import Console

    from shop.demo import DemoOptions, WorkdirRefused, prepare_workdir, run_demo

    try:
        prepare_workdir(workdir)
    except WorkdirRefused as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if db is None and (workers != 1 or intakes != 1 or db_restart_command):
        typer.echo("error: --workers, --intakes and --db-restart-command need --db", err=True)
        raise typer.Exit(2)
    if db is not None and (serve or not db.startswith(("postgresql://", "postgres://"))):
        typer.echo("error: --db takes a postgresql:// URL, and not with --serve", err=True)
        raise typer.Exit(2)
    options = DemoOptions(
        orders, workdir, seed, not no_crash, serve, port, redrive=not no_redrive,
        api_port=api_port, db=db, workers=workers, intakes=intakes,
        db_restart_command=db_restart_command,
    )  # fmt: skip
    code = asyncio.run(run_demo(options, Console()))
    raise typer.Exit(code)
