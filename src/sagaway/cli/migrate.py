"""``sagaway migrate``: bring a database's schema up to date (both dialects)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from sagaway.cli import app
from sagaway.store.migrations import latest, migrations
from sagaway.store.open import DEFAULT_URL
from sagaway.store.ports import StoreError
from sagaway.store.sqlite import path_from_url

console = Console(stderr=True)


@app.command()
def migrate(
    db: Annotated[str, typer.Option("--db", help="sqlite:///path.db or postgresql://…")] = (
        DEFAULT_URL
    ),
    status: Annotated[bool, typer.Option("--status", help="Only show what is applied.")] = False,
) -> None:
    """Apply the schema migrations a database has not had yet, in order.

    Servers and workers migrate on start too; run this to upgrade ahead of a deploy, or with
    --status to see where a database stands.
    """
    dialect = "postgresql" if db.startswith(("postgresql://", "postgres://")) else "sqlite"
    if status and dialect == "sqlite" and not Path(path_from_url(db)).is_file():
        # --status only reads: it must not leave a new, empty database behind.
        typer.echo(f"error: no database at {path_from_url(db)}", err=True)
        raise typer.Exit(2)
    try:
        applied, done = _apply(db, dialect, dry=status)
    except StoreError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    names = {m.version: m.name for m in migrations(dialect)}
    for version in sorted(done):
        mark = "applied now" if version in applied else "applied"
        typer.echo(f"{version:04d} {names.get(version, '?')}: {mark}")
    for version in range(max(done, default=0) + 1, latest(dialect) + 1):
        typer.echo(f"{version:04d} {names[version]}: pending")
    typer.echo(f"{dialect} schema at version {max(done, default=0)} of {latest(dialect)}")


def _apply(db: str, dialect: str, dry: bool) -> tuple[list[int], set[int]]:
    from sagaway.store.migrate_runner import applied_versions, upgrade

    applied = [] if dry else upgrade(db)
    return applied, applied_versions(db)
