"""The ``sagaway`` command line: one module per command group, registered here."""

from __future__ import annotations

import typer

from sagaway.engine.gc_tuning import tune_gc

app = typer.Typer(
    name="sagaway",
    help="Sagaway: a durable saga orchestrator that speaks Amazon States Language.",
    no_args_is_help=True,
    add_completion=False,
    # Markdown: docstrings wrap at 100 columns in the source; paragraphs reflow on screen.
    rich_markup_mode="markdown",
)


def _register() -> None:
    # Imported for their side effect of adding commands to ``app``; kept in a function so
    # importing ``sagaway.cli`` stays cheap and free of import cycles.
    from sagaway.cli import (  # noqa: F401
        bench,
        bench_console,
        conformance,
        demo,
        dlq,
        events,
        executions,
        export,
        incidents,
        migrate,
        run,
        serve,
        validate,
        worker,
    )


def main() -> None:
    """Console-script entry point."""
    tune_gc()
    _register()
    app()
