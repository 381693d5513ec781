"""A deployable project read as Sagaway runs it: its state machines (name and deployed
definition) and its Lambda functions (code directory, handler, environment, timeout).

Two kinds of project: a SAM / CloudFormation template (``AWS::Serverless::StateMachine``,
``AWS::StepFunctions::StateMachine``, ``AWS::Serverless::Function``, ``AWS::Lambda::Function``)
and a Serverless Framework ``serverless.yml`` with the step-functions plugin's
``stepFunctions.stateMachines`` (see :mod:`sagaway.templates.serverless`). Whatever else the
project declares (tables, queues, roles...) is not run here: each such resource gets one
line in :attr:`Project.notes`, so a person sees what the local run leaves out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagaway.templates.cloudformation import (
    TemplateError,
    _resolve,
    _resource_name,
    load_template,
    read_template,
)

FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
MACHINE_TYPES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")
# Lambda's default function timeout (seconds) when neither the function nor Globals say.
DEFAULT_TIMEOUT = 3


@dataclass(frozen=True, slots=True)
class ProjectFunction:
    """One Lambda function: ``handler`` is Lambda's ``module.attribute`` (the module a path
    under ``code_dir`` written with dots or slashes)."""

    name: str
    code_dir: Path
    handler: str
    runtime: str
    environment: dict[str, str] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT
    aliases: tuple[str, ...] = ()  # other names the definitions call it by


@dataclass(frozen=True, slots=True)
class ProjectMachine:
    name: str
    type: str  # STANDARD or EXPRESS
    definition: str


@dataclass(slots=True)
class Project:
    machines: list[ProjectMachine] = field(default_factory=list)
    functions: list[ProjectFunction] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_project(path: Path, parameters: Mapping[str, str] | None = None) -> Project:
    """The project in ``path``: a serverless.yml (it has a ``service`` and no
    ``Resources`` of its own at the top), else a SAM / CloudFormation template, whose
    ``Parameters`` take the values in ``parameters`` (as ``sam --parameter-overrides``)."""
    data = load_template(path)
    declared = data.get("Parameters")
    for name, value in (parameters or {}).items():
        if not isinstance(declared, dict) or name not in declared:
            raise TemplateError(f"{path}: no parameter {name} to override")
        declared[name] = {**(declared[name] or {}), "Default": value}
    if "service" in data and "Resources" not in data:
        from sagaway.templates.serverless import read_serverless

        return read_serverless(path, data)
    return _read_sam(path, data)


def _read_sam(path: Path, template: dict[str, Any]) -> Project:
    resources = template.get("Resources")
    if not isinstance(resources, dict):
        raise TemplateError(f"{path}: no Resources section")
    project = Project()
    by_logical = {m.logical_id: m for m in read_template(path, template)}
    globals_ = (template.get("Globals") or {}).get("Function") or {}
    ignored: dict[str, list[str]] = {}
    for logical_id, resource in resources.items():
        kind = str(resource.get("Type", "")) if isinstance(resource, dict) else ""
        name = _resource_name(logical_id, resource, template) if kind else logical_id
        if kind in MACHINE_TYPES:
            machine = by_logical[logical_id]
            project.machines.append(ProjectMachine(name, machine.machine_type, machine.definition))
        elif kind in FUNCTION_TYPES:
            _sam_function(path, template, logical_id, name, resource, globals_, project)
        else:
            ignored.setdefault(kind or "no Type", []).append(logical_id)
    # One line per resource type: an exported stack has a role per function.
    for kind, ids in ignored.items():
        project.notes.append(f"{path.name}: {kind} {', '.join(ids)}: not run locally, ignored")
    return project


def _sam_function(
    path: Path,
    template: dict[str, Any],
    logical_id: str,
    name: str,
    resource: dict[str, Any],
    globals_: dict[str, Any],
    project: Project,
) -> None:
    props = {**globals_, **(resource.get("Properties") or {})}
    runtime = str(props.get("Runtime", ""))
    code = props.get("CodeUri", (props.get("Code") or {}) if "Code" in props else None)
    if not runtime.startswith("python"):
        project.notes.append(f"{path.name}: function {logical_id} has runtime "
                             f"{runtime or 'none'}: only Python functions run here; "
                             "its Tasks fail with Lambda.ResourceNotFoundException")  # fmt: skip
        return
    if not isinstance(code, str):
        project.notes.append(f"{path.name}: function {logical_id}: CodeUri must be a local "
                             "directory to run here (inline or S3 code is not loaded)")  # fmt: skip
        return
    variables = ((props.get("Environment") or {}).get("Variables")) or {}
    environment = {str(k): _resolve(v, template) for k, v in variables.items()}
    project.functions.append(ProjectFunction(
        name, (path.parent / code).resolve(), str(props.get("Handler", "")), runtime,
        environment, float(props.get("Timeout", DEFAULT_TIMEOUT)),
        (logical_id,) if logical_id != name else (),
    ))  # fmt: skip
