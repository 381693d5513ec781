"""``sagaway bench-console``: the console's page timings on a journal of N executions."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sagaway.bench import pg
from sagaway.bench.console_pages import pages, populate, run_loop, serving, time_page
from sagaway.cli import app
from sagaway.cli.executions import console, echo_json


@app.command("bench-console")
def bench_console(
    executions: Annotated[
        int, typer.Option("--executions", "-n", min=1, help="Executions in the journal.")
    ] = 100_000,
    turns: Annotated[
        int,
        typer.Option("--turns", min=1, help="Loop turns of the long execution (4 events each)."),
    ] = 124,
    samples: Annotated[int, typer.Option("--samples", min=5, help="Requests per page.")] = 100,
    db: Annotated[
        str | None,
        typer.Option(
            help="postgresql://… (a throwaway schema, dropped after); default: a "
            "temporary SQLite file"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the timings as JSON.")] = False,
) -> None:
    """Fill a journal with N finished executions and one of about 500 history events, serve
    the console on loopback, and time its pages: p50 and p95 of the console's own time per
    request (Server-Timing) and p95 of the client's round trip, in milliseconds.
    """
    if pg.is_postgres(db):
        assert db is not None
        with pg.throwaway_schema(db) as (_, url):
            _measure(url, executions, turns, samples, as_json)
        return
    with tempfile.TemporaryDirectory(prefix="sagaway-console-bench-") as tmp:
        _measure(f"sqlite:///{Path(tmp) / 'console.db'}", executions, turns, samples, as_json)


def _measure(url: str, executions: int, turns: int, samples: int, as_json: bool) -> None:
    with console.status(f"writing {executions:,} executions", spinner="dots"):
        machine = populate(url, executions)
    with serving(url) as (base, http):
        loop = run_loop(base, turns)
        timings = [time_page(http, page, samples) for page in pages(machine, loop)]
    if as_json:
        echo_json({"executions": executions, "database": url.split(":")[0],
                   "pages": [t.__dict__ | {} for t in timings]})  # fmt: skip
        return
    table = Table(title=f"console pages, {executions:,} executions ({url.split(':')[0]})")
    for column in ("page", "server p50 ms", "server p95 ms", "client p95 ms"):
        table.add_column(column)
    for t in timings:
        table.add_row(
            t.page[:70], f"{t.server_p50:.1f}", f"{t.server_p95:.1f}", f"{t.client_p95:.1f}"
        )
    console.print(table)
