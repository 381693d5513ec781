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
    options = DemoOptions(
        orders, workdir, seed, not no_crash, serve, port, redrive=not no_redrive, api_port=api_port
    )
    code = asyncio.run(run_demo(options, Console()))
    raise typer.Exit(code)
