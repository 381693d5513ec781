"""The ``sagaway`` command line: one module per command group, registered here."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import typer

from sagaway.engine import event_loop
from sagaway.engine.gc_tuning import tune_gc

app = typer.Typer(
    name="sagaway",
    help="Sagaway: a durable saga orchestrator that speaks Amazon States Language.",
    no_args_is_help=True,
    add_completion=False,
    # Markdown: docstrings wrap at 100 columns in the source; paragraphs reflow on screen.
    rich_markup_mode="markdown",
)


# The module that declares each command. A command line imports only the module of the
# command it names (``sagaway run`` need not load the benchmarks, the console, the API
# server or boto3: that halves its start-up); ``--help``, no command or an unknown one
# import them all, so that every command is listed.
COMMANDS = {
    "bench": "bench",
    "bench-console": "bench_console",
    "conformance": "conformance",
    "demo": "demo",
    "dlq": "dlq",
    "events": "events",
    "executions": "executions",
    "export": "export",
    "incidents": "incidents",
    "migrate": "migrate",
    "run": "run",
    "serve": "serve",
    "validate": "validate",
    "worker": "worker",
}


def _register(args: Sequence[str] = ()) -> None:
    """Import the command modules (they add their commands to ``app``): the one that
    ``args`` (the command line after the program name) names, else all, in the order of
    ``COMMANDS``. Kept in a function so importing ``sagaway.cli`` stays cheap and free of
    import cycles."""
    named = COMMANDS.get(args[0]) if args else None
    for module in [named] if named else dict.fromkeys(COMMANDS.values()):
        importlib.import_module(f"sagaway.cli.{module}")


def _version(shown: bool) -> None:
    if shown:
        from sagaway import __version__, native

        typer.echo(f"sagaway {__version__}, {native.status().describe()}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_version,
        is_eager=True,
        help="Print the version, and whether the hot modules run compiled (mypyc) or as "
        "Python, then exit.",
    ),
) -> None:
    # A group even when only one command is registered: without a callback Typer would
    # run that one command as the whole program (``sagaway run X`` would read "run" as X).
    pass


def main() -> None:
    """Console-script entry point."""
    tune_gc()
    try:
        event_loop.choice()  # a wrong SAGAWAY_EVENT_LOOP is told before any work starts
    except event_loop.EventLoopChoiceError as exc:
        sys.stderr.write(f"error: {exc}\n")
        raise SystemExit(2) from exc
    _register(sys.argv[1:])
    app()
