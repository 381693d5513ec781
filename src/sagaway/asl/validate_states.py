"""Rules of the simple state types: transitions, Task, Wait and Fail.

Choice, Map/Parallel and Retry/Catch have modules of their own. Numeric fields of a JSONata
state may hold a ``{% %}`` expression instead of a literal, which only the expression check
looks at.
"""

from __future__ import annotations

from typing import Any

from sagaway.asl.diagnostics import child
from sagaway.asl.validate_context import Context, exclusive, is_int, must_be
from sagaway.asl.validate_fields import JSONATA
from sagaway.asl.validate_resources import check_resource
from sagaway.asl.validate_timestamp import NOT_RFC3339, is_rfc3339
from sagaway.expressions.jsonata_eval import is_jsonata_template

# States that continue somewhere: exactly one of Next and End.
TRANSITIONING = frozenset({"Pass", "Task", "Wait", "Parallel", "Map"})
_WAIT_FIELDS = ("Seconds", "Timestamp", "SecondsPath", "TimestampPath")


def is_expression(value: Any, language: str) -> bool:
    return language == JSONATA and isinstance(value, str) and is_jsonata_template(value)


def check_transition(ctx: Context, state: dict[str, Any], location: str) -> None:
    """Exactly one of Next (a string) and End (true)."""
    both = exclusive(state, ("Next", "End"))
    if both:
        ctx.report(both, location)
    elif "Next" not in state and "End" not in state:
        ctx.report("Exactly one of these fields is required: [Next, End]", location)
    if "Next" in state and not isinstance(state["Next"], str):
        ctx.report(must_be("Next", "a string"), child(location, "Next"))
    if "End" in state and state["End"] is not True:
        ctx.report(must_be("End", "true"), child(location, "End"))


def check_seconds(
    ctx: Context, state: dict[str, Any], name: str, location: str, language: str, minimum: int
) -> None:
    """An integer of at least ``minimum`` (or, in JSONata, an expression)."""
    if name not in state:
        return
    value = state[name]
    if is_expression(value, language):
        return
    if not is_int(value) or value < minimum:
        expectation = "a positive integer" if minimum > 0 else "a non-negative integer"
        ctx.report(must_be(name, expectation), child(location, name))


def check_task(ctx: Context, state: dict[str, Any], location: str, language: str) -> None:
    if "Resource" in state:
        ctx.extend(check_resource(state["Resource"], ctx.machine_type, child(location, "Resource")))
    for pair in (
        ("TimeoutSeconds", "TimeoutSecondsPath"),
        ("HeartbeatSeconds", "HeartbeatSecondsPath"),
    ):
        clash = exclusive(state, pair)
        if clash:
            ctx.report(clash, location)
        check_seconds(ctx, state, pair[0], location, language, minimum=1)
    timeout, heartbeat = state.get("TimeoutSeconds"), state.get("HeartbeatSeconds")
    if is_int(timeout) and is_int(heartbeat) and heartbeat >= timeout:
        ctx.report(
            "The value for the field 'HeartbeatSeconds' must be smaller than 'TimeoutSeconds'",
            child(location, "HeartbeatSeconds"),
        )
    if "Credentials" in state:
        check_credentials(ctx, state["Credentials"], child(location, "Credentials"))


def check_credentials(ctx: Context, credentials: Any, location: str) -> None:
    """A Credentials block names the role to assume, literally or by path."""
    if not isinstance(credentials, dict):
        ctx.report(must_be("Credentials", "an object"), location)
    elif "RoleArn" not in credentials and "RoleArn.$" not in credentials:
        ctx.report("The field 'RoleArn' is required but was missing", location)


def check_wait(ctx: Context, state: dict[str, Any], location: str, language: str) -> None:
    present = [name for name in _WAIT_FIELDS if name in state]
    if len(present) != 1:
        ctx.report(
            "Exactly one of these fields is required: [Seconds, Timestamp, SecondsPath, "
            "TimestampPath]",
            location,
        )
    check_seconds(ctx, state, "Seconds", location, language, minimum=0)
    if "Timestamp" in state:
        value = state["Timestamp"]
        if is_expression(value, language):
            return
        if not isinstance(value, str) or not is_rfc3339(value):
            ctx.report(NOT_RFC3339, child(location, "Timestamp"))


def check_fail(ctx: Context, state: dict[str, Any], location: str, language: str) -> None:
    for pair in (("Error", "ErrorPath"), ("Cause", "CausePath")):
        clash = exclusive(state, pair)
        if clash:
            ctx.report(clash, location)
        value = state.get(pair[0])
        if pair[0] in state and not isinstance(value, str):
            ctx.report(must_be(pair[0], "a string"), child(location, pair[0]))
