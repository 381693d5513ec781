"""Request bodies for every action of the Step Functions model: one plausible, valid-looking
body per action, and variants with one member replaced by a hostile value of its type."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from botocore.model import OperationModel, Shape

from sagaway.api.validation import service_model

DEFINITION = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
DEEP = "[" * 10_000 + "]" * 10_000
HOSTILE_TEXT = [
    DEEP,
    "[" * 230 + "]" * 230,  # under orjson's limits, over the journal's
    '{"a": NaN}',
    '{"a": 1e400}',
    '{"a": ' + "9" * 400 + "}",
    "\u0000\ud7ff" * 3,
    "x" * 300_000,
]
HOSTILE_NUMBERS = [2**64, -(2**63) - 1, 10**30, -1, 1.5]
# Raw text spliced in place of a number: what a JSON encoder would never write.
HOSTILE_LITERALS = ["1e400", "9" * 400, "NaN", "-Infinity"]


def _string(name: str, shape: Shape, arn: str) -> str:
    if shape.enum:
        return str(shape.enum[0])
    lowered = name.lower()
    if lowered == "definition":
        return DEFINITION
    if lowered in ("input", "output", "variables", "context", "result"):
        return "{}"
    if lowered.endswith("arn") or lowered == "resourcearn":
        return arn
    return "fuzz"


def valid(shape: Shape, arn: str, name: str = "") -> Any:
    """A body (or member) of ``shape`` with its required members; every ARN is ``arn``."""
    kind = shape.type_name
    if kind == "structure":
        return {m: valid(shape.members[m], arn, m) for m in shape.required_members}
    if kind == "list":
        return [valid(shape.member, arn, name)]
    if kind == "map":
        return {}
    if kind == "string":
        return _string(name, shape, arn)
    if kind in ("integer", "long"):
        return 1
    if kind == "boolean":
        return True
    return 0


def _hostile(shape: Shape) -> list[Any]:
    kind = shape.type_name
    if kind == "string":
        return HOSTILE_TEXT
    if kind in ("integer", "long", "double", "float", "timestamp"):
        return HOSTILE_NUMBERS
    deep: Any = []
    for _ in range(1000):
        deep = [deep]
    return [deep, {"a": deep}, "x"]


def operations() -> list[OperationModel]:
    model = service_model()
    return [model.operation_model(name) for name in sorted(model.operation_names)]


def bodies(op: OperationModel, arn: str) -> Iterator[tuple[str, bytes]]:
    """(what, body) pairs: the plain body, then one hostile member at a time."""
    shape = op.input_shape
    base: dict[str, Any] = valid(shape, arn) if shape is not None else {}
    yield "valid", json.dumps(base).encode()
    members = shape.members.items() if shape is not None else []
    for member, member_shape in members:
        for value in _hostile(member_shape):
            yield f"{member}={str(value)[:20]!r}", json.dumps({**base, member: value}).encode()
        if member_shape.type_name == "structure":
            inner = valid(member_shape, arn)
            for name, shape in member_shape.members.items():
                for value in _hostile(shape):
                    nested = {**base, member: {**inner, name: value}}
                    yield f"{member}.{name}={str(value)[:20]!r}", json.dumps(nested).encode()
        if member_shape.type_name in ("integer", "long"):
            for literal in HOSTILE_LITERALS:
                text = json.dumps({**base, member: 0}).replace(": 0", ": " + literal, 1)
                yield f"{member}={literal[:20]}", text.encode()
