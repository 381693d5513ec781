"""The state machines of a SAM or CloudFormation template, with their definitions as they
will read once deployed.

A template names its machines as ``AWS::Serverless::StateMachine`` (``DefinitionUri`` or
``Definition``) or ``AWS::StepFunctions::StateMachine`` (``DefinitionString`` or
``Definition``), each with ``DefinitionSubstitutions``. CloudFormation resolves the intrinsic
functions in those values (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``, ``Fn::Join``...) when it
deploys; here they resolve to the names and ARNs a local deployment would give the
template's own resources, so a definition validates as it will once deployed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sagaway.templates.arns import attribute, name_property, reference
from sagaway.templates.substitutions import PSEUDO_PARAMETERS, scalar_text, substitute

_MACHINE_TYPES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")
_UNRESOLVED = "sagaway-unresolved"


class TemplateError(ValueError):
    """The template cannot be read, or a machine's definition cannot be found."""


@dataclass(frozen=True, slots=True)
class TemplateMachine:
    """One state machine of a template: its logical id, type and deployed definition text."""

    logical_id: str
    machine_type: str
    definition: str
    source: str  # the file the definition came from (a DefinitionUri, or the template)


def read_template(path: Path, template: dict[str, Any] | None = None) -> list[TemplateMachine]:
    """The state machines ``path`` declares, definitions substituted as on deploy
    (``template``: its content, already loaded and perhaps given parameter values)."""
    template = load_template(path) if template is None else template
    resources = template.get("Resources")
    if not isinstance(resources, dict):
        raise TemplateError(f"{path}: no Resources section")
    return [
        _machine(path, template, logical_id, resource)
        for logical_id, resource in resources.items()
        if isinstance(resource, dict) and resource.get("Type") in _MACHINE_TYPES
    ]


def read_definition(path: Path, values: Mapping[str, str] | None = None) -> str:
    """A definition file's JSON text, its ``${placeholders}`` replaced by ``values``.

    SAM also takes definitions written in YAML (``*.asl.yaml``): placeholders are replaced in
    the YAML text first (so ``Seconds: ${Wait}`` becomes a number), then the YAML is read
    with YAML 1.2's booleans (``Yes`` and ``No`` stay state names)."""
    text = substitute(path.read_text(encoding="utf-8"), values or {})
    if path.suffix.lower() not in (".yaml", ".yml"):
        return text
    return json.dumps(yaml.load(text, Loader=_DefinitionLoader), indent=2)


def load_template(path: Path) -> dict[str, Any]:
    """The template as data; short-form tags (``!Ref``, ``!GetAtt``...) become their
    long forms (``{"Ref": ...}``, ``{"Fn::GetAtt": [...]}``)."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_TemplateLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TemplateError(f"{path}: cannot read the template: {exc}") from None
    if not isinstance(data, dict):
        raise TemplateError(f"{path}: a template is a map")
    return data


def _machine(
    path: Path, template: dict[str, Any], logical_id: str, resource: dict[str, Any]
) -> TemplateMachine:
    props = resource.get("Properties") or {}
    values = {
        str(name): _resolve(value, template)
        for name, value in (props.get("DefinitionSubstitutions") or {}).items()
    }
    source = str(path)
    kind = str(props.get("Type") or props.get("StateMachineType") or "STANDARD").upper()
    if isinstance(props.get("DefinitionUri"), str):
        definition_path = path.parent / props["DefinitionUri"]
        source = str(definition_path)
        try:
            return TemplateMachine(
                logical_id, kind, read_definition(definition_path, values), source
            )
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise TemplateError(f"{path}: {logical_id}: DefinitionUri: {exc}") from None
    elif "Definition" in props:
        text = json.dumps(_resolve_tree(props["Definition"], template), indent=2)
    elif "DefinitionString" in props:
        text = _resolve(props["DefinitionString"], template)
    else:
        raise TemplateError(f"{path}: {logical_id}: no definition in the template")
    return TemplateMachine(logical_id, kind, substitute(text, values), source)


def _resolve_tree(node: Any, template: dict[str, Any]) -> Any:
    """An inline definition with its intrinsic functions resolved."""
    if isinstance(node, dict):
        if _is_intrinsic(node):
            return _resolve(node, template)
        return {key: _resolve_tree(value, template) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve_tree(item, template) for item in node]
    return node


def _is_intrinsic(node: dict[str, Any]) -> bool:
    return (len(node) == 1 and next(iter(node)) in ("Ref", "Condition")) or any(
        key.startswith("Fn::") for key in node
    )


def _resolve(value: Any, template: dict[str, Any]) -> str:
    """A property value as the text CloudFormation would write in its place."""
    if isinstance(value, str | int | float | bool):
        return scalar_text(value, "value")
    if not isinstance(value, dict) or len(value) != 1:
        return _UNRESOLVED
    ((function, argument),) = value.items()
    if function == "Ref":
        return _ref(str(argument), template)
    if function == "Fn::GetAtt":
        parts = argument.split(".", 1) if isinstance(argument, str) else list(argument)
        if len(parts) == 2:
            return _get_att(str(parts[0]), str(parts[1]), template)
        return _UNRESOLVED
    if function == "Fn::Sub":
        return _sub(argument, template)
    if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
        return str(argument[0]).join(_resolve(part, template) for part in argument[1])
    if function == "Fn::Select" and isinstance(argument, list) and len(argument) == 2:
        items = argument[1]
        if isinstance(items, list) and str(argument[0]).isdigit():
            return _resolve(items[int(argument[0])], template)
    return _UNRESOLVED


def _ref(name: str, template: dict[str, Any]) -> str:
    if name in PSEUDO_PARAMETERS:
        return PSEUDO_PARAMETERS[name]
    parameter = (template.get("Parameters") or {}).get(name)
    if isinstance(parameter, dict):
        return scalar_text(parameter.get("Default", name), name)
    resource = (template.get("Resources") or {}).get(name)
    if isinstance(resource, dict):
        return reference(_resource_name(name, resource, template), resource)
    return name


def _get_att(name: str, attr: str, template: dict[str, Any]) -> str:
    resource = (template.get("Resources") or {}).get(name)
    if not isinstance(resource, dict):
        return attribute(name, attr, {})
    return attribute(_resource_name(name, resource, template), attr, resource)


def _resource_name(logical_id: str, resource: dict[str, Any], template: dict[str, Any]) -> str:
    given = (resource.get("Properties") or {}).get(name_property(resource))
    return logical_id if given is None else _resolve(given, template)


def _sub(argument: Any, template: dict[str, Any]) -> str:
    text, variables = (argument, {}) if isinstance(argument, str) else ([*argument, {}])[:2]
    values = {str(k): _resolve(v, template) for k, v in (variables or {}).items()}
    for name in _names(str(text)):
        if name in values or name.startswith("!"):
            continue
        if "." in name:
            logical, _, attr = name.partition(".")
            values[name] = _get_att(logical, attr, template)
        else:
            values[name] = _ref(name, template)
    # ``${!Literal}`` writes ``${Literal}`` (Fn::Sub's escape).
    return substitute(str(text), values).replace("${!", "${")


def _names(text: str) -> list[str]:
    names: list[str] = []
    start = text.find("${")
    while start >= 0:
        end = text.find("}", start)
        if end < 0:
            break
        names.append(text[start + 2 : end])
        start = text.find("${", end)
    return names


class _DefinitionLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2's booleans: only true and false."""


_DefinitionLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_DefinitionLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class _TemplateLoader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """SafeLoader (libyaml's when present: templates run to thousands of lines) that reads
    CloudFormation's short-form function tags."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise yaml.constructor.ConstructorError(
            None, None, f"unexpected !{suffix}", node.start_mark
        )
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_TemplateLoader.add_multi_constructor("!", _tag)
