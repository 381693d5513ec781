"""``sagaway export sam``: a Sagaway state machine (or saga) and its Python handlers as a
SAM project to deploy on AWS (nothing is deployed from here)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from sagaway.asl.validate import validate_definition
from sagaway.cli import app
from sagaway.cli.executions import fail
from sagaway.cli.run import machine_name
from sagaway.resources.loader import FunctionsLoadError, load_functions
from sagaway.saga import Saga
from sagaway.templates.export import ExportError, SagaTrigger, export_sam

export_app = typer.Typer(help="Write a Sagaway state machine out for AWS.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("sam")
def sam(
    state_machine: Annotated[
        str,
        typer.Option(
            "--state-machine",
            help="ASL definition file (JSON), or MODULE:NAME of a saga built with "
            "sagaway.saga.Saga (or of a function returning one): a saga also gets an SQS "
            "dead-letter queue per step and an EventBridge rule that starts it",
        ),
    ],
    functions: Annotated[
        str,
        typer.Option(
            "--functions",
            help="Python file or module with the Lambda-style handlers the state machine "
            "calls; each becomes an AWS::Serverless::Function with this code",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Directory to write the SAM project to")],
    name: Annotated[
        str | None,
        typer.Option(help="State machine name (default: the saga's name, or the file's)"),
    ] = None,
    start_on: Annotated[
        str | None,
        typer.Option(
            help="Saga only: the EventBridge detail-type that starts it "
            "(default: <saga name>Requested)"
        ),
    ] = None,
    start_source: Annotated[
        str | None, typer.Option(help="Saga only: the event source the rule also matches")
    ] = None,
) -> None:
    """Write a SAM project (template.yaml, statemachine/, functions/) to --out.

    The definition's Lambda ARNs become DefinitionSubstitutions; each function and the
    state machine get a least-privilege role of their own. Check it with `cfn-lint`, deploy
    it with `sam build && sam deploy --guided`.
    """
    definition, default_name, saga = _definition(state_machine)
    try:
        handlers = load_functions(functions).handlers
    except FunctionsLoadError as exc:
        fail(" ".join(str(exc).split()))
    chosen = name or default_name
    trigger = None
    if saga:
        trigger = SagaTrigger(start_on or f"{chosen}Requested", start_source)
    elif start_on or start_source:
        fail("--start-on and --start-source apply to a saga (MODULE:NAME), not an ASL file")
    try:
        template = export_sam(chosen, definition, handlers, out, trigger)
    except (ExportError, OSError) as exc:
        fail(" ".join(str(exc).split()))
    typer.echo(f"wrote {template} (state machine {chosen}, {len(handlers)} handler(s) loaded)")


def _definition(source: str) -> tuple[dict[str, Any], str, bool]:
    """The definition, its default name, and whether it came from a saga."""
    path = Path(source)
    if ":" in source and not path.exists():
        saga = _saga(source)
        return saga.to_definition(), saga.name, True
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {source}: {getattr(exc, 'strerror', None) or exc}")
    if any(p.severity == "ERROR" for p in validate_definition(text)):
        fail(f"{source} is not a valid state machine definition (see sagaway validate)")
    return json.loads(text), machine_name(path), False


def _saga(source: str) -> Saga:
    module_name, _, attribute = source.partition(":")
    try:
        value = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        fail(f"cannot load the saga {source}: {exc}")
    if callable(value) and not isinstance(value, Saga):
        value = value()
    if not isinstance(value, Saga):
        fail(f"{source} is a {type(value).__name__}, not a sagaway.saga.Saga")
    return value
