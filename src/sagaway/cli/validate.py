"""``sagaway validate``: check definitions the way CreateStateMachine does, without a server."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import yaml

from sagaway.asl.diagnostics import Diagnostic
from sagaway.asl.validate import validate_definition
from sagaway.cli import app
from sagaway.templates import load_substitutions, read_definition, read_template, substitute
from sagaway.templates.cloudformation import TemplateError
from sagaway.templates.substitutions import SubstitutionsError

EXIT_INVALID = 1
EXIT_UNREADABLE = 2


class MachineType(enum.StrEnum):
    STANDARD = "STANDARD"
    EXPRESS = "EXPRESS"


@app.command("validate")
def validate_command(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="FILE", help="ASL definition files to check (JSON, or YAML as SAM takes)."
        ),
    ] = None,
    machine_type: Annotated[
        MachineType,
        typer.Option(
            "--type",
            case_sensitive=False,
            help="Validate as this state machine type: EXPRESS also refuses "
            "activities and '.sync' and '.waitForTaskToken' integrations.",
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
    substitutions: Annotated[
        Path | None,
        typer.Option(
            "--substitutions",
            metavar="FILE",
            help="JSON or YAML map of placeholder -> value: each ${placeholder} in the "
            "definitions is replaced first, as DefinitionSubstitutions are on deploy "
            "(${AWS::Region} and the other pseudo parameters get local values).",
        ),
    ] = None,
    template: Annotated[
        Path | None,
        typer.Option(
            "--template",
            metavar="FILE",
            help="SAM or CloudFormation template: check each state machine it declares, "
            "with its DefinitionSubstitutions applied.",
        ),
    ] = None,
) -> None:
    """Check ASL definitions as AWS Step Functions' CreateStateMachine does.

    Prints `FILE: OK` for a valid definition, else one line per problem:
    `FILE: LOCATION: CODE: MESSAGE`, the location being a JSON Pointer such as
    `/States/Wait/Timestamp` (`-` when AWS gives none). Exit status: 0 when every file is
    valid, 1 when a definition is invalid, 2 when a file cannot be read.

    A definition written for a template (`${Placeholder}` values) validates as deployed
    with --substitutions FILE, or with --template FILE, which reads the template's state
    machines and their DefinitionSubstitutions.
    """
    status = 0
    reports: list[dict[str, Any]] = []
    for path, text, kind in _definitions(files or [], substitutions, template, machine_type):
        if text is None:
            status = EXIT_UNREADABLE
            continue
        diagnostics = validate_definition(text, machine_type=kind)
        if diagnostics and status == 0:
            status = EXIT_INVALID
        if as_json:
            reports.append(_report(path, diagnostics))
        else:
            _print_lines(path, diagnostics)
    if as_json:
        typer.echo(json.dumps(reports, indent=2))
    raise typer.Exit(status)


def _definitions(
    files: list[Path], substitutions: Path | None, template: Path | None, kind: MachineType
) -> list[tuple[Path, str | None, str]]:
    """(where, definition text or None when unreadable, machine type) for each definition."""
    if not files and template is None:
        _usage("give definition FILEs or --template")
    values: dict[str, str] = {}
    try:
        if substitutions is not None:
            values = load_substitutions(substitutions)
        machines = read_template(template) if template is not None else []
    except (OSError, SubstitutionsError, TemplateError) as exc:
        _usage(str(exc))
    if template is not None and not machines:
        _usage(f"{template}: declares no state machine")
    found: list[tuple[Path, str | None, str]] = [
        (Path(f"{template}#{m.logical_id}"), substitute(m.definition, values), m.machine_type)
        for m in machines
    ]
    for path in files:
        try:
            text: str | None = read_definition(path, values)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            typer.echo(f"{path}: cannot read: {exc}", err=True)
            text = None
        found.append((path, text, kind.value))
    return found


def _usage(reason: str) -> NoReturn:
    typer.echo(f"sagaway validate: {reason}", err=True)
    raise typer.Exit(EXIT_UNREADABLE)


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
