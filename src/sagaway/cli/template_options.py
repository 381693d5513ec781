"""``--template``: run a SAM / CloudFormation or Serverless Framework project's state
machines and Python functions (``sagaway run`` and ``sagaway serve``)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Annotated

import typer

from sagaway.asl.validate import validate_definition
from sagaway.cli.executions import fail, open_journal
from sagaway.engine import arns
from sagaway.resources.lambda_functions import FunctionRegistry
from sagaway.store.ports import StateMachineRecord
from sagaway.templates.cloudformation import TemplateError
from sagaway.templates.functions import ProjectFunctionError, load_project_functions
from sagaway.templates.project import ProjectMachine, read_project

TemplateFile = Annotated[
    Path | None,
    typer.Option(
        "--template",
        help="SAM / CloudFormation template or Serverless Framework serverless.yml: create "
        "its state machines under their template names and load its Python functions "
        "(CodeUri, Handler, Environment, Timeout) as Task handlers",
    ),
]

ParameterOverrides = Annotated[
    list[str] | None,
    typer.Option(
        "--parameter-overrides",
        help="With --template: NAME=VALUE for one of its Parameters (repeatable), as "
        "`sam deploy --parameter-overrides` gives it; e.g. a function ARN a nested stack "
        "would pass",
    ),
]


def parse_overrides(values: list[str] | None) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values or []:
        name, sign, given = value.partition("=")
        if not sign or not name:
            fail(f"--parameter-overrides takes NAME=VALUE, not {value!r}")
        pairs[name] = given
    return pairs


def load_project(
    path: Path, registry: FunctionRegistry, parameters: dict[str, str] | None = None
) -> list[ProjectMachine]:
    """The project's state machines, checked, its functions registered in ``registry``;
    what the local run leaves out is told on stderr, one line each."""
    try:
        project = read_project(path, parameters)
        notes = load_project_functions(project.functions, registry)
    except (TemplateError, ProjectFunctionError) as exc:
        fail(" ".join(str(exc).split()))
    for note in [*project.notes, *notes]:
        typer.echo(f"note: {note}", err=True)
    if not project.machines:
        fail(f"{path} declares no state machine")
    for machine in project.machines:
        problems = [p for p in validate_definition(machine.definition) if p.severity == "ERROR"]
        for p in problems:
            typer.echo(f"{path}: {machine.name}: {p.location or '-'}: {p.code}: "
                       f"{' '.join(p.message.split())}", err=True)  # fmt: skip
        if problems:
            fail(f"{path}: state machine {machine.name} is not a valid definition")
    return project.machines


def choose(machines: list[ProjectMachine], name: str | None, path: Path) -> ProjectMachine:
    """The machine ``--state-machine`` names (needed when the project has several)."""
    names = ", ".join(m.name for m in machines)
    if name is None:
        if len(machines) > 1:
            fail(f"{path} declares {len(machines)} state machines ({names}): "
                 "choose one with --state-machine")  # fmt: skip
        return machines[0]
    for machine in machines:
        if machine.name == name:
            return machine
    fail(f"{path} has no state machine {name!r} (it has {names})")


def install_machines(db: str, machines: list[ProjectMachine]) -> None:
    """Create (or update) the machines in the journal before the server starts, so the
    first request already finds them."""
    journal = open_journal(db, create=True)
    try:
        for machine in machines:
            existing = journal.get_state_machine(arns.state_machine(machine.name))
            if existing is not None and existing.definition == machine.definition:
                continue
            journal.put_state_machine(StateMachineRecord(
                arn=arns.state_machine(machine.name), name=machine.name,
                definition=machine.definition, type=machine.type,
                role_arn=arns.DEFAULT_ROLE, created=time.time(), revision_id=uuid.uuid4().hex,
            ))  # fmt: skip
            typer.echo(f"state machine {machine.name} ({machine.type}) from the template", err=True)
    finally:
        journal.close()
