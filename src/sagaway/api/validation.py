"""Checking a request against the Step Functions service model (botocore's copy of it).

Required members, JSON types, string lengths, number ranges and enums, with the wording of
AWS's own validation layer. Members the model does not know are ignored, as AWS ignores
them (Sagaway's documented extensions ride on that)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape

from sagaway.api.errors import ApiError, validation

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "boolean": (bool,),
    "structure": (dict,),
    "map": (dict,),
    "list": (list,),
    "timestamp": (int, float, str),
    "double": (int, float),
    "float": (int, float),
    "blob": (str,),
}


# The model's own words for members whose length is counted in bytes.
_UTF8_LENGTH = "expressed as bytes in UTF-8 encoding"


@lru_cache(maxsize=1)
def service_model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("stepfunctions")


def operation(action: str) -> OperationModel | None:
    model = service_model()
    return model.operation_model(action) if action in model.operation_names else None


def check(op: OperationModel, params: dict[str, Any]) -> None:
    shape = op.input_shape
    if shape is None:
        return
    problems: list[str] = []
    _structure(shape, params, "", problems)
    if problems:
        count = len(problems)
        noun = "error" if count == 1 else "errors"
        raise validation(f"{count} validation {noun} detected: " + "; ".join(problems))


def _structure(shape: Any, value: dict[str, Any], prefix: str, problems: list[str]) -> None:
    for name in shape.required_members:
        if value.get(name) is None:
            problems.append(
                f"Value null at '{prefix}{name}' failed to satisfy constraint: "
                "Member must not be null"
            )
    for name, member in shape.members.items():
        if value.get(name) is not None:
            _value(member, value[name], f"{prefix}{name}", problems)


def _value(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    kinds = _JSON_TYPES.get(shape.type_name, (object,))
    wrong_bool = isinstance(value, bool) and shape.type_name != "boolean"
    if wrong_bool or not _is(value, kinds):
        raise ApiError(
            "SerializationException",
            f"Unexpected value type for '{path}': expected {shape.type_name}",
        )
    if shape.type_name == "structure":
        _structure(shape, value, f"{path}.", problems)
    elif shape.type_name == "list":
        _length(shape, len(value), path, problems, "length")
        for i, item in enumerate(value):
            _value(shape.member, item, f"{path}.{i + 1}.member", problems)
    elif shape.type_name == "string":
        _string(shape, value, path, problems)
    elif shape.type_name in ("integer", "long"):
        _range(shape, value, path, problems)


def _string(shape: Shape, value: str, path: str, problems: list[str]) -> None:
    enum = shape.metadata.get("enum")
    if enum and value not in enum:
        problems.append(
            f"Value '{value}' at '{path}' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(enum)}]"
        )
    _length(shape, _size(shape, value), path, problems, "length")


def _size(shape: Shape, value: str) -> int:
    """A string's length as its constraint counts it: in UTF-8 bytes where the model says
    so (an execution's input, a task's output), else in characters."""
    high = shape.metadata.get("max")
    if high is None or len(value) > high or 4 * len(value) <= high:
        return len(value)  # the bytes cannot change the verdict
    if _UTF8_LENGTH not in (shape.documentation or ""):
        return len(value)
    return len(value.encode("utf-8", "surrogatepass"))


def _length(shape: Shape, size: int, path: str, problems: list[str], what: str) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if high is not None and size > high:
        problems.append(
            f"Value at '{path}' failed to satisfy constraint: "
            f"Member must have {what} less than or equal to {high}"
        )
    if low is not None and size < low:
        problems.append(
            f"Value at '{path}' failed to satisfy constraint: "
            f"Member must have {what} greater than or equal to {low}"
        )


def _range(shape: Shape, value: int, path: str, problems: list[str]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if high is not None and value > high:
        problems.append(
            f"Value '{value}' at '{path}' failed to satisfy constraint: "
            f"Member must have value less than or equal to {high}"
        )
    if low is not None and value < low:
        problems.append(
            f"Value '{value}' at '{path}' failed to satisfy constraint: "
            f"Member must have value greater than or equal to {low}"
        )


def _is(value: Any, kinds: tuple[type, ...]) -> bool:
    return isinstance(value, kinds)
