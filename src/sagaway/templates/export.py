"""A Sagaway state machine and its Python handlers written out as a SAM project, ready for
``sam build && sam deploy`` (nothing is deployed from here).

The project: ``template.yaml``, the definition in ``statemachine/<name>.asl.json`` with a
``${<Logical>Arn}`` placeholder for every Lambda function it calls (filled by
``DefinitionSubstitutions``), and ``functions/`` holding the handlers' code (their module,
or the whole top-level package it belongs to, so its imports still resolve). Each function
and the state machine get an IAM role of their own with only what they need: a function
may write its own logs; the state machine may invoke its own functions (and send to its
own queues). A saga built with the saga builder also gets, per dead-letter state, an SQS
queue the parked step's message is sent to, and an EventBridge rule that starts it.
"""

from __future__ import annotations

import inspect
import json
import re
import shutil
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sagaway.resources.lambda_functions import Handler
from sagaway.templates import export_iam as iam

_FUNCTION_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:[^:]*:[^:]*:function:([^:]+)")
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
SQS_SEND = "arn:aws:states:::sqs:sendMessage"
RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"


class ExportError(ValueError):
    """The state machine calls a function the handlers module lacks, or a handler cannot
    be deployed as it is (not a top-level function of a module file)."""


@dataclass(frozen=True, slots=True)
class SagaTrigger:
    """The EventBridge rule that starts a saga: events of this ``detail-type``."""

    detail_type: str
    source: str | None = None


@dataclass(frozen=True, slots=True)
class _Code:
    root: Path  # copied to functions/
    handler: str  # module.path.attribute, as Lambda's Handler


def export_sam(
    name: str,
    definition: dict[str, Any],
    handlers: Mapping[str, Handler],
    out: Path,
    trigger: SagaTrigger | None = None,
) -> Path:
    """Write the project to ``out``; the path of its template."""
    functions = sorted(set(_function_names(definition)))
    missing = [f for f in functions if f not in handlers]
    if missing:
        raise ExportError(f"the state machine calls {', '.join(missing)}, which the "
                          "functions module does not define")  # fmt: skip
    codes = {f: _code_of(f, handlers[f]) for f in functions}
    queues = _dead_letter_queues(definition) if trigger is not None else {}
    rewritten = _with_placeholders(definition, queues)
    resources: dict[str, Any] = {}
    for function in functions:
        resources.update(_function(function, codes[function]))
    resources.update(iam.queues(queues.values()))
    resources.update(_machine(name, functions, list(queues.values()), trigger is not None))
    if trigger is not None:
        machine_id = logical_id(name, "StateMachine")
        resources.update(iam.start_rule(machine_id, trigger.detail_type, trigger.source))
    _write(out, name, rewritten, codes, resources)
    return out / "template.yaml"


def _function_names(node: Any) -> Iterator[str]:
    """The Lambda functions the definition's Tasks call, in Parallel branches and Maps too."""
    if isinstance(node, list):
        for item in node:
            yield from _function_names(item)
    elif isinstance(node, dict):
        if node.get("Type") == "Task":
            name = _called(node)
            if name is not None:
                yield name
        for value in node.values():
            yield from _function_names(value)


def _called(task: dict[str, Any]) -> str | None:
    resource = str(task.get("Resource", ""))
    if resource.startswith(LAMBDA_INVOKE):
        target = (task.get("Parameters") or task.get("Arguments") or {}).get("FunctionName")
        if not isinstance(target, str):
            return None
        match = _FUNCTION_ARN.match(target)
        return match.group(1) if match else target.split(":")[0]
    match = _FUNCTION_ARN.match(resource)
    return match.group(1) if match else None


def logical_id(name: str, kind: str) -> str:
    """A CloudFormation logical id (alphanumeric) for resource ``name`` of ``kind``."""
    parts = re.split(r"[^A-Za-z0-9]+", name)
    return "".join(p[:1].upper() + p[1:] for p in parts if p) + kind


def _code_of(name: str, handler: Handler) -> _Code:
    # A module loaded from a file is not in sys.modules: its function's globals are it.
    attribute = getattr(handler, "__name__", "")
    scope = getattr(handler, "__globals__", {})
    source = inspect.getsourcefile(handler) if scope.get(attribute) is handler else None
    if source is None:
        raise ExportError(
            f"function {name}: its handler is not a top-level function of a module file, "
            "so Lambda could not name it as module.function"
        )
    dotted = str(scope.get("__name__", Path(source).stem))
    depth = dotted.count(".")
    root = Path(source).parents[depth - 1] if depth else Path(source)
    return _Code(root, f"{dotted}.{attribute}")


def _dead_letter_queues(definition: dict[str, Any]) -> dict[str, str]:
    """Dead-letter state -> its queue's logical id, for the states the saga builder writes
    (a Task whose Parameters name a ``queue``)."""
    found: dict[str, str] = {}
    for state_name, state in (definition.get("States") or {}).items():
        queue = (
            (state.get("Parameters") or {}).get("queue") if state.get("Type") == "Task" else None
        )
        if isinstance(queue, str):
            found[state_name] = logical_id(queue, "Queue")
    return found


def _with_placeholders(definition: dict[str, Any], queues: dict[str, str]) -> dict[str, Any]:
    """The definition as deployed: function ARNs become placeholders; each dead-letter
    state first sends the parked step's message to its queue, then runs as before."""
    text = json.dumps(definition)
    copy: dict[str, Any] = json.loads(text)
    _replace_arns(copy)
    states = copy["States"]
    for state_name, queue in queues.items():
        parked = states[state_name]
        states[f"{state_name}Park"] = parked
        states[state_name] = {
            "Type": "Task",
            "Resource": SQS_SEND,
            "Parameters": {"QueueUrl": f"${{{queue}Url}}", "MessageBody": parked["Parameters"]},
            "ResultPath": None,
            "Retry": parked.get("Retry", []),
            "Next": f"{state_name}Park",
        }
    return copy


def _replace_arns(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _replace_arns(item)
    elif isinstance(node, dict):
        if node.get("Type") == "Task":
            name = _called(node)
            placeholder = f"${{{logical_id(name, 'Function')}Arn}}" if name else None
            if placeholder and str(node.get("Resource", "")).startswith(LAMBDA_INVOKE):
                arguments: dict[str, Any] = node.get("Parameters") or node["Arguments"]
                arguments["FunctionName"] = placeholder
            elif placeholder:
                node["Resource"] = placeholder
        for value in node.values():
            _replace_arns(value)


def _function(name: str, code: _Code) -> dict[str, Any]:
    function_id = logical_id(name, "Function")
    return {
        function_id: {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "FunctionName": {"Fn::Sub": f"${{AWS::StackName}}-{name}"},
                "CodeUri": "functions/",
                "Handler": code.handler,
                "Runtime": RUNTIME,
                "Timeout": 30,
                "Role": {"Fn::GetAtt": [f"{function_id}Role", "Arn"]},
            },
        },
        **iam.function_role(function_id, name),
    }


def _machine(name: str, functions: list[str], queues: list[str], saga: bool) -> dict[str, Any]:
    machine_id = logical_id(name, "StateMachine")
    substitutions: dict[str, Any] = {
        f"{logical_id(f, 'Function')}Arn": {"Fn::GetAtt": [logical_id(f, "Function"), "Arn"]}
        for f in functions
    }
    substitutions.update({f"{q}Url": {"Ref": q} for q in queues})
    return {
        machine_id: {
            "Type": "AWS::Serverless::StateMachine",
            "Properties": {
                "Name": {"Fn::Sub": f"${{AWS::StackName}}-{name}"},
                "Type": "STANDARD",
                "DefinitionUri": f"statemachine/{name}.asl.json",
                "DefinitionSubstitutions": substitutions,
                "Role": {"Fn::GetAtt": [f"{machine_id}Role", "Arn"]},
            },
        },
        **iam.machine_role(machine_id, [logical_id(f, "Function") for f in functions], queues),
    }


def _write(
    out: Path, name: str, definition: dict[str, Any], codes: dict[str, _Code],
    resources: dict[str, Any],
) -> None:  # fmt: skip
    (out / "statemachine").mkdir(parents=True, exist_ok=True)
    (out / "statemachine" / f"{name}.asl.json").write_text(json.dumps(definition, indent=2) + "\n")
    target = out / "functions"
    for root in {code.root for code in codes.values()}:
        if root.is_dir():
            shutil.copytree(root, target / root.name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))  # fmt: skip
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root, target / root.name)
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": f"{name}: exported by sagaway export sam",
        "Resources": resources,
    }
    (out / "template.yaml").write_text(yaml.safe_dump(template, sort_keys=False, width=100))
