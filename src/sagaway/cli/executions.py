"""``sagaway executions list|show|history``: read executions back from the journal.

Also the pieces ``sagaway run`` shares with these commands: opening a ``--db`` URL with a
one-line error instead of a traceback, resolving an execution by ARN or name, and printing
records and histories (Rich tables on stderr for people, JSON on stdout for programs).
"""

from __future__ import annotations

import json
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Column, Table

from sagaway.cli import app
from sagaway.engine import arns
from sagaway.expressions.jsontext import dumps, loads
from sagaway.store.open import DEFAULT_URL
from sagaway.store.open import open_journal as open_url
from sagaway.store.ports import ExecutionRecord, Journal, StoreError
from sagaway.store.sqlite import path_from_url

DEFAULT_DB = DEFAULT_URL
EXIT_USAGE = 2
STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")

# Off a terminal, text is never wrapped: an ARN stays on one line for grep and cut.
console = Console(stderr=True, soft_wrap=not sys.stderr.isatty())
# Tables off a terminal (a pipe, a file, CI logs) are never wrapped: a line per row, every
# identifier whole, so grep and cut work. On a terminal, long cells fold, never cut.
tables = Console(stderr=True, width=None if sys.stderr.isatty() else 100_000)
# How far past --limit `executions list` looks to say how many more there are.
COUNT_AHEAD = 10_000
executions_app = typer.Typer(
    help="Inspect executions kept in the journal (ListExecutions, DescribeExecution, "
    "GetExecutionHistory).",
    no_args_is_help=True,
)
app.add_typer(executions_app, name="executions")

DbOption = Annotated[
    str, typer.Option("--db", help="Journal URL: sqlite:///path.db or a file path.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
RefArgument = Annotated[str, typer.Argument(metavar="ARN_OR_NAME", help="Execution ARN or name.")]


def fail(reason: str) -> NoReturn:
    """End the command with a one-line reason (exit 2): bad input, not a crash."""
    typer.echo(f"error: {reason}", err=True)
    raise typer.Exit(EXIT_USAGE)


def open_journal(url: str, *, create: bool) -> Journal:
    """The journal at ``url``; ``create=False`` refuses to make a new, empty SQLite file."""
    is_sqlite = url.startswith("sqlite:") or "://" not in url
    path = path_from_url(url)
    if is_sqlite and not create and path != ":memory:" and not Path(path).is_file():
        fail(f"no Sagaway database at {path}")
    try:
        return open_url(url)
    except (StoreError, sqlite3.Error, OSError) as exc:
        fail(_one_line(exc))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def resolve_execution(journal: Journal, ref: str) -> ExecutionRecord:
    """An execution by ARN, or by name when exactly one state machine has one of that name
    (an EXPRESS name started several times: its newest execution)."""
    try:
        if ref.startswith("arn:"):
            found = journal.get_execution(ref)
            if found is None:
                fail(f"execution {ref} does not exist")
            return found
        matches = [
            record
            for machine in journal.list_state_machines()
            if (record := journal.find_execution(machine.arn, ref)) is not None
        ]
    except (StoreError, sqlite3.Error) as exc:
        fail(_one_line(exc))
    if not matches:
        fail(f"no execution named {ref!r}")
    if len(matches) > 1:
        listed = ", ".join(m.arn for m in matches)
        fail(f"{ref!r} is ambiguous ({len(matches)} executions: {listed}); give the ARN")
    return matches[0]


def iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat()


def _json_value(text: str | None) -> Any:
    # Input and output are JSON text in the journal; programs want the value itself.
    return None if text is None else loads(text)


def describe(record: ExecutionRecord) -> dict[str, Any]:
    """DescribeExecution's fields (dates as ISO 8601 UTC, input/output as JSON values)."""
    body: dict[str, Any] = {
        "executionArn": record.arn,
        "stateMachineArn": record.state_machine_arn,
        "name": record.name,
        "status": record.status,
        "startDate": iso(record.start_date),
        "stopDate": iso(record.stop_date),
        "input": _json_value(record.input),
        "output": _json_value(record.output),
        "error": record.error,
        "cause": record.cause,
        "redriveCount": record.redrive_count,
    }
    return {key: value for key, value in body.items() if value is not None or key == "output"}


def summary(record: ExecutionRecord) -> dict[str, Any]:
    """One ListExecutions item."""
    body = {
        "executionArn": record.arn,
        "stateMachineArn": record.state_machine_arn,
        "name": record.name,
        "status": record.status,
        "startDate": iso(record.start_date),
        "stopDate": iso(record.stop_date),
    }
    return {key: value for key, value in body.items() if value is not None}


def json_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**event, "timestamp": iso(event.get("timestamp"))} for event in events]


def history_table(events: list[dict[str, Any]]) -> Table:
    table = Table("id", "prev", "type", identifier("state"), "time (UTC)", "details",
                  title="Execution history")  # fmt: skip
    for event, state in zip(events, state_names(events), strict=True):
        details: Any = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
        stamp = iso(event.get("timestamp"))
        table.add_row(
            str(event["id"]),
            str(event.get("previousEventId", "")),
            event["type"],
            state,
            "" if stamp is None else stamp[11:23],
            _short(dumps(details)),
        )
    return table


def identifier(header: str) -> Column:
    """A column of names or ARNs: folded on a narrow terminal, never cut with an ellipsis."""
    return Column(header, overflow="fold")


def state_names(events: list[dict[str, Any]]) -> list[str]:
    """The state each event belongs to: the one entered last (AWS's console shows the same),
    walking back out of a state on its exit. Events of Map/Parallel branches interleave, so
    this is the latest state entered, which is what a reader of the table follows."""
    names, current = [], ""
    for event in events:
        entered = event.get("stateEnteredEventDetails")
        exited = event.get("stateExitedEventDetails")
        if entered:
            current = str(entered.get("name", ""))
        names.append(str(exited.get("name", "")) if exited else current)
    return names


def _short(text: str, width: int = 90) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, default=str))


@executions_app.command("list")
def list_command(
    db: DbOption = DEFAULT_DB,
    state_machine: Annotated[
        str | None,
        typer.Option("--state-machine", help="Only this state machine (name or ARN)."),
    ] = None,
    status: Annotated[
        str | None, typer.Option("--status", help=f"Only this status: {', '.join(STATUSES)}.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most N executions.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """List executions, newest first (ListExecutions)."""
    if status is not None and status.upper() not in STATUSES:
        fail(f"--status must be one of {', '.join(STATUSES)}, not {status!r}")
    journal = open_journal(db, create=False)
    try:
        machine_arn = _machine_arn(journal, state_machine)
        found = journal.list_executions(machine_arn, status and status.upper(), limit + COUNT_AHEAD)
        records, more = found[:limit], len(found) - limit
    except (StoreError, sqlite3.Error) as exc:
        fail(_one_line(exc))
    finally:
        journal.close()
    if as_json:
        echo_json({"executions": [summary(r) for r in records]})
        return
    table = Table(identifier("name"), identifier("state machine"), "status", "start (UTC)",
                  "stop (UTC)")  # fmt: skip
    for r in records:
        table.add_row(
            r.name, r.state_machine_arn.rsplit(":", 1)[-1], _styled(r.status),
            _when(r.start_date), _when(r.stop_date),
        )  # fmt: skip
    tables.print(table)
    tables.print(f"{len(records)} execution(s)" + _more(more, limit))


def _more(more: int, limit: int) -> str:
    if more <= 0:
        return ""
    if more >= COUNT_AHEAD:
        return f", more than {COUNT_AHEAD:,} more (raise --limit to see them)"
    return f", {more:,} more (--limit {limit + more} shows them all)"


def _when(epoch: float | None) -> str:
    stamp = iso(epoch)
    return "" if stamp is None else stamp[:19].replace("T", " ")


def _machine_arn(journal: Journal, ref: str | None) -> str | None:
    if ref is None:
        return None
    arn = ref if ref.startswith("arn:") else arns.state_machine(ref)
    if journal.get_state_machine(arn) is None:
        fail(f"state machine {ref} does not exist in this database")
    return arn


def _styled(status: str) -> str:
    colour = {"SUCCEEDED": "green", "RUNNING": "cyan"}.get(status, "red")
    return f"[{colour}]{status}[/{colour}]"


@executions_app.command("show")
def show_command(ref: RefArgument, db: DbOption = DEFAULT_DB, as_json: JsonOption = False) -> None:
    """Describe one execution (DescribeExecution)."""
    journal = open_journal(db, create=False)
    try:
        record = resolve_execution(journal, ref)
    finally:
        journal.close()
    body = describe(record)
    if as_json:
        echo_json(body)
        return
    table = Table("field", identifier("value"), show_header=False, title=record.name)
    for key, value in body.items():
        shown = _styled(value) if key == "status" else value
        text = shown if isinstance(shown, str) else json.dumps(shown, ensure_ascii=False)
        table.add_row(key, text)
    tables.print(table)


@executions_app.command("history")
def history_command(
    ref: RefArgument,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
    reverse: Annotated[bool, typer.Option("--reverse", help="Newest event first.")] = False,
) -> None:
    """Print an execution's events (GetExecutionHistory)."""
    journal = open_journal(db, create=False)
    try:
        record = resolve_execution(journal, ref)
        events = journal.history(record.arn)
    except (StoreError, sqlite3.Error) as exc:
        fail(_one_line(exc))
    finally:
        journal.close()
    if reverse:
        events.reverse()
    if as_json:
        echo_json({"events": json_events(events)})
        return
    if record.machine_type == "EXPRESS":
        console.print("EXPRESS executions keep no history; only their outcome is journaled.")
    tables.print(history_table(events))
