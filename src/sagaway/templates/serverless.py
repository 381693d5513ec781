"""A Serverless Framework ``serverless.yml`` with the step-functions plugin, read as a
:class:`~sagaway.templates.project.Project`.

What is read: ``service``, ``provider`` (``runtime``, ``stage``, ``environment``,
``timeout``), ``functions`` (``handler`` as ``path/module.function``, ``name``,
``runtime``, ``environment``, ``timeout``) and ``stepFunctions.stateMachines`` (``name``,
``type``, ``definition``). The framework deploys a function as ``<service>-<stage>-<key>``
and the plugin lets a definition name it by ``Fn::GetAtt: [key, Arn]``, by the logical id
the framework gives it (``<Key>LambdaFunction``) or by ``Ref``; all of these resolve to the
local function. ``${self:...}``, ``${opt:stage, 'dev'}``, ``${sls:stage}``, ``${aws:region}``
and the plugin's ``#{AWS::Region}`` pseudo parameters are replaced; other variable sources
(``${ssm:...}``, ``${env:...}``...) are left as written.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sagaway.templates.cloudformation import TemplateError
from sagaway.templates.project import DEFAULT_TIMEOUT, Project, ProjectFunction, ProjectMachine
from sagaway.templates.substitutions import PSEUDO_PARAMETERS

_VARIABLE = re.compile(r"\$\{([^{}]+)\}")
_PSEUDO = re.compile(r"#\{(AWS::[A-Za-z]+)\}")
_LAMBDA_ARN = "arn:aws:lambda:{r}:{a}:function:{name}"


def read_serverless(path: Path, data: dict[str, Any]) -> Project:
    provider = data.get("provider") or {}
    stage = str(provider.get("stage", "dev"))
    config = _Variables(data, stage)
    service = config.text(str(data.get("service", "service")))
    project = Project()
    names: dict[str, str] = {}
    for key, spec in (data.get("functions") or {}).items():
        name = config.text(str((spec or {}).get("name") or f"{service}-{stage}-{key}"))
        names[str(key)] = name
        names[_logical_id(str(key))] = name
        _function(path, config, provider, str(key), name, spec or {}, project)
    machines = ((data.get("stepFunctions") or {}).get("stateMachines")) or {}
    if not machines:
        raise TemplateError(f"{path}: no stepFunctions.stateMachines (the step-functions plugin)")
    for key, spec in machines.items():
        if not isinstance(spec, dict) or "definition" not in spec:
            raise TemplateError(f"{path}: stepFunctions.stateMachines.{key}: no definition")
        definition = _Definitions(config, names).resolve(spec["definition"])
        project.machines.append(ProjectMachine(
            config.text(str(spec.get("name") or key)), str(spec.get("type", "STANDARD")).upper(),
            json.dumps(definition, indent=2),
        ))  # fmt: skip
    for logical_id in (data.get("resources") or {}).get("Resources") or {}:
        project.notes.append(f"{path.name}: resources.{logical_id} is not run locally: ignored")
    return project


def _function(
    path: Path,
    config: _Variables,
    provider: dict[str, Any],
    key: str,
    name: str,
    spec: dict[str, Any],
    project: Project,
) -> None:
    runtime = str(spec.get("runtime") or provider.get("runtime") or "")
    if not runtime.startswith("python"):
        project.notes.append(f"{path.name}: function {key} has runtime {runtime or 'none'}: "
                             "only Python functions run here; its Tasks fail with "
                             "Lambda.ResourceNotFoundException")  # fmt: skip
        return
    environment = {
        str(k): config.text(str(v))
        for k, v in {
            **(provider.get("environment") or {}),
            **(spec.get("environment") or {}),
        }.items()
    }
    timeout = float(spec.get("timeout") or provider.get("timeout") or DEFAULT_TIMEOUT)
    project.functions.append(ProjectFunction(
        name, path.parent.resolve(), str(spec.get("handler", "")), runtime, environment,
        timeout, (key,) if key != name else (),
    ))  # fmt: skip


def _logical_id(key: str) -> str:
    """The logical id the framework gives function ``key`` in its CloudFormation stack."""
    normal = key[:1].upper() + key[1:]
    return normal.replace("-", "Dash").replace("_", "Underscore") + "LambdaFunction"


class _Variables:
    """``${...}`` variables of serverless.yml, as far as a local run can know them."""

    def __init__(self, data: dict[str, Any], stage: str) -> None:
        self.data = data
        self.stage = stage

    def text(self, value: str) -> str:
        value = _PSEUDO.sub(lambda m: PSEUDO_PARAMETERS.get(m.group(1), m.group(0)), value)
        return _VARIABLE.sub(lambda m: self._variable(m.group(1), m.group(0)), value)

    def _variable(self, expression: str, written: str) -> str:
        source, _, fallback = expression.partition(",")
        source = source.strip()
        if source in ("opt:stage", "sls:stage", "self:provider.stage"):
            return self.stage
        if source in ("aws:region", "opt:region", "self:provider.region"):
            return str((self.data.get("provider") or {}).get("region")
                       or PSEUDO_PARAMETERS["AWS::Region"])  # fmt: skip
        if source == "aws:accountId":
            return PSEUDO_PARAMETERS["AWS::AccountId"]
        if source.startswith("self:"):
            node: Any = self.data
            for part in source[5:].split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if isinstance(node, str | int | float):
                return self.text(str(node))
        if fallback.strip():
            return fallback.strip().strip("'\"")
        return written


class _Definitions:
    """A plugin definition with its intrinsic functions and variables resolved."""

    def __init__(self, config: _Variables, names: dict[str, str]) -> None:
        self.config = config
        self.names = names

    def resolve(self, node: Any) -> Any:
        if isinstance(node, str):
            return self.config.text(node)
        if isinstance(node, list):
            return [self.resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1 and ("Ref" in node or "Fn::GetAtt" in node):
            return self._intrinsic(node)
        return {key: self.resolve(value) for key, value in node.items()}

    def _intrinsic(self, node: dict[str, Any]) -> str:
        if "Ref" in node:
            target = str(node["Ref"])
            if target in PSEUDO_PARAMETERS:
                return PSEUDO_PARAMETERS[target]
            return self.names.get(target, target)
        argument = node["Fn::GetAtt"]
        parts = argument.split(".", 1) if isinstance(argument, str) else list(argument)
        if str(parts[0]) not in self.names:
            # Not a function (a table, a queue...): nothing local answers to it.
            return f"arn:aws:unknown:::{parts[0]}"
        name = self.names[str(parts[0])]
        return _LAMBDA_ARN.format(
            r=PSEUDO_PARAMETERS["AWS::Region"], a=PSEUDO_PARAMETERS["AWS::AccountId"], name=name
        )
