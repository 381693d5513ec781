"""Options shared by the commands that run executions: AWS's service quotas (docs/limits.md).
``0`` lifts a quota; the defaults are AWS's values."""

from __future__ import annotations

from typing import Annotated

import typer

from sagaway.interpreter.limits import Limits

HistoryEvents = Annotated[
    int, typer.Option(help="Events in an execution's history (AWS: 25000; 0: no limit)", min=0)
]
PayloadBytes = Annotated[
    int,
    typer.Option(help="Bytes of a state's input or output (AWS: 262144; 0: no limit)", min=0),
]
ExpressSeconds = Annotated[
    float,
    typer.Option(help="Seconds an EXPRESS execution may run (AWS: 300; 0: no limit)", min=0),
]
Tags = Annotated[
    int, typer.Option(help="Tags per state machine or activity (AWS: 50; 0: no limit)", min=0)
]
# Not a quota, but declared here for the same reason: serve and worker take it alike.
HttpAllowHosts = Annotated[
    list[str] | None,
    typer.Option(
        help="A host http:invoke Tasks may call although it resolves to a loopback, "
        "private or link-local address (repeatable; default: public addresses only)"
    ),
]

DEFAULT_HISTORY_EVENTS = 25_000
DEFAULT_PAYLOAD_BYTES = 262_144
DEFAULT_EXPRESS_SECONDS = 300.0
DEFAULT_TAGS = 50


def quotas(history_events: int, payload_bytes: int, express_seconds: float, tags: int) -> Limits:
    """The engine's limits from the options (0 -> no limit)."""
    return Limits(
        payload_bytes=payload_bytes or None,
        history_events=history_events or None,
        express_seconds=express_seconds or None,
        tags_per_resource=tags or None,
    )
