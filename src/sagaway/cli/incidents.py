"""``sagaway incidents``: the incidents the shop's alert hook opened and resolved."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from sagaway.cli import app
from sagaway.cli.shop_db import SHOP_DB_HELP, SHOP_SCHEMA_HELP, fail, has_table, shop_on_postgres


@app.command()
def incidents(
    workdir: Annotated[
        Path, typer.Option(help="The shop's working directory (its incidents.db).")
    ] = Path("sagaway-demo"),
    open_only: Annotated[bool, typer.Option("--open", help="Only incidents still open.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of lines.")] = False,
    shop_db: Annotated[str | None, typer.Option("--shop-db", help=SHOP_DB_HELP)] = None,
    shop_schema: Annotated[str | None, typer.Option("--shop-schema", help=SHOP_SCHEMA_HELP)] = None,
) -> None:
    """One line per incident opened by an alert (Alertmanager's webhook to the shop): id,
    status, alert, labels, opened and resolved times (docs/observability.md). A shop on
    PostgreSQL: --shop-db URL [--shop-schema BASE] instead of --workdir."""
    from shop.incidents import Incident, Incidents  # an application on top of sagaway

    found: list[Incident] = []
    if shop_db is not None:
        url = _incidents_on_postgres(shop_db, shop_schema)
        found = Incidents(url).list(open_only=open_only) if url else []
    else:
        if shop_schema is not None:
            raise fail("--shop-schema goes with --shop-db")
        path = workdir / "incidents.db"
        if not path.exists():
            raise fail(f"no incidents database at {path}")
        found = Incidents(f"sqlite:///{path}").list(open_only=open_only)
    if as_json:
        typer.echo(json.dumps([incident.to_json() for incident in found], indent=2))
        return
    for incident in found:
        labels = ",".join(f"{k}={v}" for k, v in sorted(incident.labels.items())
                          if k != "alertname")  # fmt: skip
        status = "OPEN" if incident.resolved is None else "RESOLVED"
        typer.echo(f"{incident.id}\t{status}\t{incident.alertname}\t{labels}\t"
                   f"{_when(incident.opened)}\t{_when(incident.resolved)}")  # fmt: skip
    typer.echo(f"{len(found)} incident(s)")


def _incidents_on_postgres(shop_db: str, shop_schema: str | None) -> str | None:
    """The shop's incidents URL; None when no alert ever reached it (no table yet: opening
    the store would create one in a command that only reads)."""
    from shop.sql import search_path

    url = shop_on_postgres(shop_db, shop_schema).url("incidents")
    return url if has_table(url, str(search_path(url)), "incidents") else None


def _when(moment: float | None) -> str:
    if moment is None:
        return "-"
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
