"""Steps that keep no history (EXPRESS, ``Limits(history=False)``) build no event and render
no input or output as JSON text, yet do exactly what the same steps with history do: the
same event ids (causes quote them), commands, outputs and payload-limit failures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sagaway.asl.parser import parse_definition
from sagaway.expressions.jsontext import MAX_DEPTH, dumps, loads_document
from sagaway.interpreter import InvokeTask, Start, Step, TaskFailed, TaskSucceeded, advance
from sagaway.interpreter import new_execution as _new
from sagaway.interpreter.limits import (
    LARGE_STRING,
    Limits,
    json_size,
    object_size,
    over_limit,
    value_over_limit,
)
from sagaway.interpreter.messages import Event

LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:work"
QUEUE = "arn:aws:states:::sqs:sendMessage"
MACHINE = parse_definition(json.dumps({"StartAt": "Call", "States": {
    "Call": {"Type": "Task", "Resource": LAMBDA, "ResultPath": "$.call", "Next": "Send",
             "Catch": [{"ErrorEquals": ["Boom"], "ResultPath": "$.error", "Next": "Send"}]},
    "Send": {"Type": "Task", "Resource": QUEUE, "Parameters": {"m.$": "$.blob"},
             "ResultPath": "$.sent", "Next": "Pick"},
    "Pick": {"Type": "Pass", "OutputPath": "$.missing", "End": True}}}))  # fmt: skip


def _run(limits: Limits, answers: list[Any], value: Any) -> tuple[list[Step], list[Any]]:
    """Drive the machine, answering each Task with the next of ``answers``."""
    state = _new(execution_arn="arn:e", name="e", state_machine_arn="arn:m",
                 state_machine_name="m", express=True)  # fmt: skip
    steps = [advance(MACHINE, state, Start(value), 1.0, limits)]
    calls: list[Any] = []
    for answer in answers:
        (command,) = [c for c in steps[-1].commands if isinstance(c, InvokeTask)]
        calls.append((command.token, command.payload, command.state_name))
        event: Event = (
            TaskFailed(command.token, "Boom", "bad")
            if answer == "fail"
            else TaskSucceeded(command.token, answer)
        )
        steps.append(advance(MACHINE, steps[-1].state, event, 2.0, limits))
    return steps, calls


@pytest.mark.parametrize("first", ["fail", {"ok": 1}])
def test_the_same_steps_with_and_without_history(first: Any) -> None:
    value = {"blob": "é" * 100}
    kept, kept_calls = _run(Limits(), [first, {"id": 7}], value)
    bare, bare_calls = _run(Limits(history=False), [first, {"id": 7}], value)
    assert all(step.history == [] for step in bare)
    assert kept_calls == bare_calls
    for with_history, without in zip(kept, bare, strict=True):
        assert without.state.next_id == with_history.state.next_id
        frames = [(f.entered_id, f.last_id, f.phase) for f in with_history.state.frames.values()]
        assert [(f.entered_id, f.last_id, f.phase) for f in without.state.frames.values()] == (
            frames
        )
    end_kept, end_bare = kept[-1].state, bare[-1].state
    # OutputPath selects nothing: the cause quotes the id of the event that entered Pick.
    assert end_bare.status == end_kept.status == "FAILED"
    assert (end_bare.error, end_bare.cause) == (end_kept.error, end_kept.cause)
    assert "entered at the event id #" in (end_bare.cause or "")


def _pass_machine(size_limit: int) -> tuple[Any, Limits]:
    machine = parse_definition(json.dumps({"StartAt": "P", "States": {
        "P": {"Type": "Pass", "End": True}}}))  # fmt: skip
    return machine, Limits(history=False, payload_bytes=size_limit)


@pytest.mark.parametrize("extra", [0, 1])
def test_the_output_limit_is_exact_in_utf8_bytes_without_history(extra: int) -> None:
    # "é" is 2 bytes in UTF-8 but 1 character: a count in characters would let it through.
    value = {"s": "é" * 1000}
    limit = len(dumps(value).encode("utf-8")) - extra
    machine, limits = _pass_machine(limit)
    state = _new(execution_arn="arn:e", name="e", state_machine_arn="arn:m",
                 state_machine_name="m", express=True)  # fmt: skip
    end = advance(machine, state, Start(value), 1.0, limits).state
    if extra:
        assert (end.status, end.error) == ("FAILED", "States.DataLimitExceeded")
    else:
        assert (end.status, end.output) == ("SUCCEEDED", value)


@pytest.mark.parametrize(
    "value",
    [
        {"a": [1, 2.5, None, True, "x"]},
        "é€😀",
        "\ud800 lone surrogate",
        {"big": 2**70},  # beyond orjson's 64 bits: measured on the standard library's text
        {"k": '\u2028\n"\\'},
        [],
    ],
)
def test_json_size_is_the_utf8_size_of_the_text(value: Any) -> None:
    text = dumps(value)
    assert json_size(value) == len(text.encode("utf-8", "surrogatepass"))
    for limit in (None, json_size(value) - 1, json_size(value)):
        assert value_over_limit(value, limit) == over_limit(text, limit)


def _nested(levels: int) -> Any:
    value: Any = {"a": 1}
    for _ in range(levels - 1):
        value = [value]
    return value


LONG = "x" * LARGE_STRING


@pytest.mark.parametrize(
    "value",
    [
        {},
        {"blob": LONG, "n": 1, "list": [LONG, {"k": "é" * LARGE_STRING}]},
        {"é€": "\u2028" * LARGE_STRING, "q": '"\\\n' * LARGE_STRING},
        {"blob": LONG, "big": 2**70},  # a member orjson refuses: the whole is measured
        {"blob": "\ud800" + LONG},  # a lone surrogate in a remembered-size string
        {1: LONG},  # a key orjson refuses
        {"f": 1e16, "nan": float("nan"), "blob": LONG},
        {"deep": _nested(253), "blob": LONG},  # encodes alone; the whole is one deeper
        {"deep": _nested(254), "blob": LONG},  # too deep for orjson inside the object
    ],
)
def test_object_size_is_json_size_member_by_member(value: Any) -> None:
    # Twice: the second time the large strings' sizes are remembered ones.
    assert object_size(value) == json_size(value)
    assert object_size(value) == json_size(value)


def test_a_remembered_size_belongs_to_one_string_object() -> None:
    first = {"blob": "a" * LARGE_STRING}
    assert object_size(first) == json_size(first)
    # An equal-length string with other characters, and the same text as another object.
    for other in ('"' * LARGE_STRING, "a" * LARGE_STRING):
        assert object_size({"blob": other}) == json_size({"blob": other})


@pytest.mark.parametrize("depth", [MAX_DEPTH, MAX_DEPTH + 1])
def test_a_long_document_is_held_to_the_depth_limit(depth: int) -> None:
    # Long texts skip the bracket count and are measured at once: same answers.
    text = "[" * depth + json.dumps("x" * 10_000) + "]" * depth
    if depth > MAX_DEPTH:
        with pytest.raises(ValueError, match="nesting depth"):
            loads_document(text)
    else:
        assert loads_document(text) is not None
