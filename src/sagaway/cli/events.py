"""``sagaway events accounting``: what the event bus did with every event it received.

Reads the bus's ledger (``sagaway.messaging.ledger``): per bus, the events published
(received by the bus), how many some rule target received (matched) and how many none did
(unmatched); per rule target, the events routed to it, delivered, dead-lettered and still
pending. The bus accounts for every event when published = matched + unmatched and each
target's matched = delivered + dead-lettered (nothing pending once the system is quiet).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Annotated

import psycopg
import typer

from sagaway.cli import app
from sagaway.messaging.ledger import BusAccounting
from sagaway.messaging.put_events import bus_url_beside
from sagaway.messaging.sqlite import path_from_url
from sagaway.messaging.stores import is_postgres, open_ledger
from sagaway.store.ports import StoreError

events_app = typer.Typer(help="The event bus: account for the events it received.")
app.add_typer(events_app, name="events")


@events_app.command()
def accounting(
    db: Annotated[
        str,
        typer.Option(
            "--db",
            help="The journal's URL: the bus database is the one `serve` "
            "uses beside it (PostgreSQL: the same database).",
        ),
    ] = "sqlite:///./sagaway.db",
    bus_db: Annotated[
        str | None,
        typer.Option(
            "--bus-db",
            help="The bus database itself (e.g. the shop's "
            "sqlite:///WORKDIR/bus.db), instead of the one beside --db.",
        ),
    ] = None,
    bus: Annotated[
        list[str] | None, typer.Option("--bus", help="Only this bus (repeatable); default all.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per bus.")] = False,
) -> None:
    """Per bus: published = matched + unmatched, and per rule target matched = delivered +
    dead-lettered + pending. Exits 1 when some event is not accounted for (pending)."""
    url = bus_db or bus_url_beside(db)
    if not is_postgres(url) and not Path(path_from_url(url)).is_file():
        typer.echo(f"error: no bus database at {path_from_url(url)}", err=True)
        raise typer.Exit(2)
    try:
        accounts = _accounts(url, bus)
    except (StoreError, sqlite3.Error, psycopg.Error, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        typer.echo(f"error: cannot read the bus at {url}: {reason}", err=True)
        raise typer.Exit(2) from exc
    for account in accounts:
        typer.echo(json.dumps(account.to_json()) if as_json else _text(account))
    if not all(account.balanced for account in accounts):
        raise typer.Exit(1)


def _accounts(url: str, buses: list[str] | None) -> list[BusAccounting]:
    ledger = open_ledger(url)
    try:
        return [ledger.accounting(name) for name in (buses or ledger.buses())]
    finally:
        ledger.close()


def _text(account: BusAccounting) -> str:
    state = "balanced" if account.balanced else "NOT balanced"
    lines = [f"bus {account.bus}: published {account.published} = matched {account.matched}"
             f" + unmatched {account.unmatched} ({state})"]  # fmt: skip
    for t in account.targets:
        lines.append(f"  {t.rule}/{t.target}: matched {t.matched} = delivered {t.delivered}"
                     f" + dead-lettered {t.dead_lettered} + pending {t.pending}")  # fmt: skip
    return "\n".join(lines)
