"""``sagaway incidents``: the incidents the shop's alert hook opened and resolved."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from sagaway.cli import app


@app.command()
def incidents(
    workdir: Annotated[
        Path, typer.Option(help="The shop's working directory (its incidents.db).")
    ] = Path("sagaway-demo"),
    open_only: Annotated[bool, typer.Option("--open", help="Only incidents still open.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of lines.")] = False,
) -> None:
    """One line per incident opened by an alert (Alertmanager's webhook to the shop): id,
    status, alert, labels, opened and resolved times (docs/observability.md)."""
    from shop.incidents import Incidents  # the shop is an application on top of sagaway

    path = workdir / "incidents.db"
    if not path.exists():
        typer.echo(f"error: no incidents database at {path}", err=True)
        raise typer.Exit(2)
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


def _when(moment: float | None) -> str:
    if moment is None:
        return "-"
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
