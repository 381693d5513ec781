"""A handler's return value is encoded once: the same encoding gives the Task's value, its
size for the payload limit (exact in UTF-8 bytes) and, when it can, the proof that the value
is JSON as AWS accepts it; what it cannot prove is walked as before."""

from __future__ import annotations

import hashlib
import math
import uuid
from typing import Any

import pytest

from sagaway.expressions.jsontext import MAX_DEPTH
from sagaway.interpreter import InvokeTask, TaskFailed, TaskSucceeded
from sagaway.resources.lambda_functions import FunctionRegistry, invoke, request_id_for
from tests.interpreter.kit import LAMBDA_ARN


def _answer(value: Any, limit: int | None = 256 * 1024) -> TaskSucceeded | TaskFailed:
    registry = FunctionRegistry()
    registry.register("charge", lambda event, context: value)
    return invoke(registry, InvokeTask("root@1#0", "Charge", LAMBDA_ARN, {}), limit)


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "value",
    [math.nan, {"a": [1, math.inf]}, {"n": -math.inf}, 2**64, _nested(MAX_DEPTH + 1)],
)
def test_what_aws_refuses_is_still_a_marshal_error(value: Any) -> None:
    result = _answer(value)
    assert isinstance(result, TaskFailed)
    assert result.error == "Runtime.MarshalError"


@pytest.mark.parametrize(
    "value",
    [None, {"s": "null", "n": None}, _nested(MAX_DEPTH), 2**64 - 1, -(2**63), [True, 1.5]],
)
def test_json_values_pass_whatever_their_text_looks_like(value: Any) -> None:
    assert _answer(value) == TaskSucceeded("root@1#0", value)


@pytest.mark.parametrize("extra", [0, 1])
def test_the_result_limit_counts_utf8_bytes(extra: int) -> None:
    value = {"s": "€" * 100}  # 3 bytes each in UTF-8
    size = len(b'{"s":""}') + 300
    result = _answer(value, limit=size - extra)
    assert isinstance(result, TaskFailed if extra else TaskSucceeded)


def test_the_request_id_is_the_uuid_of_the_key_digest() -> None:
    for key in ("root@1#0", "arn:aws:states:us-east-1:1:execution:m:é#root@2#1"):
        digest = hashlib.blake2b(key.encode(), digest_size=16).digest()
        assert request_id_for(key) == str(uuid.UUID(bytes=digest))
