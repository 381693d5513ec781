"""Static checks of the expressions a definition carries: paths, intrinsics, JSONata.

Each check compiles the expression with the same compilers the interpreter uses, so a
definition that validates is one whose expressions the engine can run. The messages are AWS's:
a ``.$`` field is reported at the payload template that holds it (AWS points at
``/States/S/Parameters``, not at the key inside it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sagaway.asl.diagnostics import (
    INVALID_JSONATA_EXPRESSION,
    SCHEMA_VALIDATION_FAILED,
    Diagnostic,
    child,
    item,
)
from sagaway.expressions.intrinsics import InvalidIntrinsic, compile_intrinsic, is_intrinsic
from sagaway.expressions.jsonata_eval import (
    InvalidJsonata,
    compile_jsonata,
    is_jsonata_template,
    template_expression,
)
from sagaway.expressions.jsonpath import InvalidPath, compile_path, compile_reference_path

# Fields whose value is a path, in JSONPath states (null allowed where the spec allows it).
PATH_FIELDS = (
    "InputPath",
    "OutputPath",
    "ResultPath",
    "ItemsPath",
    "SecondsPath",
    "TimestampPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "MaxConcurrencyPath",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentagePath",
    "MaxItemsPerBatchPath",
    "MaxInputBytesPerBatchPath",
)
NULLABLE_PATHS = frozenset({"InputPath", "OutputPath", "ResultPath"})
# The Fail state's paths may also be intrinsic functions (AWS docs, Fail state).
PATH_OR_INTRINSIC_FIELDS = ("ErrorPath", "CausePath")


def is_valid_path(text: str, *, reference: bool = False) -> bool:
    try:
        (compile_reference_path if reference else compile_path)(text)
    except InvalidPath:
        return False
    return True


def is_valid_path_or_intrinsic(text: str) -> bool:
    if text.lstrip(" ").startswith("$"):  # paths may have blanks around them (Jayway trims)
        return is_valid_path(text)
    if not is_intrinsic(text):
        return False
    try:
        compile_intrinsic(text)
    except InvalidIntrinsic:
        return False
    return True


def _path_error(name: str, location: str, intrinsic: bool) -> Diagnostic:
    what = (
        "a valid JSONPath or a valid intrinsic function call" if intrinsic else "a valid JSONPath"
    )
    message = f"The value for the field '{name}' must be {what}"
    return Diagnostic(SCHEMA_VALIDATION_FAILED, message, location)


def check_path_fields(obj: dict[str, Any], location: str) -> list[Diagnostic]:
    """The path-valued fields of a JSONPath state (or ItemBatcher) must compile."""
    found: list[Diagnostic] = []
    for name in PATH_FIELDS:
        if name not in obj:
            continue
        value = obj[name]
        if value is None and name in NULLABLE_PATHS:
            continue
        reference = name == "ResultPath"
        if not isinstance(value, str) or not is_valid_path(value, reference=reference):
            found.append(_path_error(name, child(location, name), intrinsic=False))
    for name in PATH_OR_INTRINSIC_FIELDS:
        value = obj.get(name)
        if name in obj and (not isinstance(value, str) or not is_valid_path_or_intrinsic(value)):
            found.append(_path_error(name, child(location, name), intrinsic=True))
    return found


def check_payload(template: Any, location: str) -> list[Diagnostic]:
    """Every ``.$`` key of a payload template needs a path or intrinsic function value."""
    found: list[Diagnostic] = []
    for key, value in _dollar_fields(template):
        if not isinstance(value, str) or not is_valid_path_or_intrinsic(value):
            found.append(_path_error(key, location, intrinsic=True))
    return found


def _dollar_fields(template: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(template, dict):
        for key, value in template.items():
            if key.endswith(".$"):
                yield key, value
            else:
                yield from _dollar_fields(value)
    elif isinstance(template, list):
        for element in template:
            yield from _dollar_fields(element)


def check_jsonata(value: Any, location: str) -> list[Diagnostic]:
    """Every ``{% ... %}`` string inside ``value`` must be a JSONata expression that parses."""
    found: list[Diagnostic] = []
    for where, text in _templates(value, location):
        try:
            compile_jsonata(template_expression(text))
        except InvalidJsonata as exc:
            found.append(Diagnostic(INVALID_JSONATA_EXPRESSION, str(exc), where))
    return found


def _templates(value: Any, location: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        if is_jsonata_template(value):
            yield location, value
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield from _templates(inner, child(location, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _templates(inner, item(location, index))
