"""``sagaway validate``: check definitions the way CreateStateMachine does, without a server."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from sagaway.asl.diagnostics import Diagnostic
from sagaway.asl.validate import validate_definition
from sagaway.cli import app

EXIT_INVALID = 1
EXIT_UNREADABLE = 2


class MachineType(enum.StrEnum):
    STANDARD = "STANDARD"
    EXPRESS = "EXPRESS"


@app.command("validate")
def validate_command(
    files: Annotated[
        list[Path],
        typer.Argument(metavar="FILE", help="ASL definition files (JSON) to check."),
    ],
    machine_type: Annotated[
        MachineType,
        typer.Option(
            "--type",
            case_sensitive=False,
            help="Validate as this state machine type: EXPRESS also refuses "
            "'.sync' and '.waitForTaskToken' integrations.",
        ),
    ] = MachineType.STANDARD,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON document: per file, ValidateStateMachineDefinition's "
            "result and diagnostics.",
        ),
    ] = False,
) -> None:
    """Check ASL definitions as AWS Step Functions' CreateStateMachine does.

    Prints `FILE: OK` for a valid definition, else one line per problem:
    `FILE: LOCATION: CODE: MESSAGE`, the location being a JSON Pointer such as
    `/States/Wait/Timestamp` (`-` when AWS gives none). Exit status: 0 when every file is
    valid, 1 when a definition is invalid, 2 when a file cannot be read.
    """
    status = 0
    reports: list[dict[str, Any]] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            typer.echo(f"{path}: cannot read: {exc}", err=True)
            status = EXIT_UNREADABLE
            continue
        diagnostics = validate_definition(text, machine_type=machine_type.value)
        if diagnostics and status == 0:
            status = EXIT_INVALID
        if as_json:
            reports.append(_report(path, diagnostics))
        else:
            _print_lines(path, diagnostics)
    if as_json:
        typer.echo(json.dumps(reports, indent=2))
    raise typer.Exit(status)


def _print_lines(path: Path, diagnostics: list[Diagnostic]) -> None:
    if not diagnostics:
        typer.echo(f"{path}: OK")
    for found in diagnostics:
        # Jackson's syntax messages span two lines; keep one line per problem.
        message = " ".join(found.message.split("\n"))
        typer.echo(f"{path}: {found.location or '-'}: {found.code}: {message}")


def _report(path: Path, diagnostics: list[Diagnostic]) -> dict[str, Any]:
    return {
        "file": str(path),
        "result": "FAIL" if diagnostics else "OK",
        "diagnostics": [
            {
                key: value
                for key, value in (
                    ("code", d.code),
                    ("message", d.message),
                    ("location", d.location),
                    ("severity", d.severity),
                )
                if value is not None
            }
            for d in diagnostics
        ],
    }
