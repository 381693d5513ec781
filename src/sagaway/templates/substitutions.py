"""``${Placeholder}`` substitution in a definition's text, as CloudFormation applies a state
machine's ``DefinitionSubstitutions`` on deploy.

https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-stepfunctions-statemachine.html
(DefinitionSubstitutions: "A map (string to string) that specifies the mappings for
placeholder variables in the state machine definition ... Substitutions must follow the
syntax: ``${key_name}`` or ``${variable_1,variable_2,...}``"). Pseudo parameters
(``${AWS::Region}``...) get the values of a local deployment unless the map names them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

# The values a stack deployed locally would see; the region and account are Sagaway's.
PSEUDO_PARAMETERS: Mapping[str, str] = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "sagaway",
    "AWS::StackId": (
        "arn:aws:cloudformation:us-east-1:123456789012:stack/sagaway/"
        "00000000-0000-0000-0000-000000000000"
    ),
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::NoValue": "",
}

_PLACEHOLDER = re.compile(r"\$\{([^{}]+)\}")


class SubstitutionsError(ValueError):
    """The substitutions file is not a map of placeholder names to scalar values."""


def load_substitutions(path: Path) -> dict[str, str]:
    """The map in ``path`` (JSON or YAML): placeholder name -> value."""
    text = path.read_text(encoding="utf-8")
    try:
        data: Any = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise SubstitutionsError(f"{path}: not JSON or YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SubstitutionsError(f"{path}: expected a map of placeholder names to values")
    return {str(key): scalar_text(value, f"{path}: {key}") for key, value in data.items()}


def scalar_text(value: object, where: str) -> str:
    """A substitution value as CloudFormation writes it into the text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise SubstitutionsError(f"{where}: a substitution must be a string or number")


def substitute(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each ``${name}`` that ``values`` (or a pseudo parameter) names replaced;
    other placeholders stay as written, as CloudFormation leaves them."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return values[name]
        return PSEUDO_PARAMETERS.get(name, match.group(0))

    return _PLACEHOLDER.sub(replace, text)
