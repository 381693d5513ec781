"""Static validation of an ASL definition, as CreateStateMachine and
ValidateStateMachineDefinition do it.

:func:`validate_definition` returns AWS's diagnostics (empty when the definition is valid);
:func:`format_invalid_definition` turns them into CreateStateMachine's ``InvalidDefinition``
message. The rules live in ``validate_*`` modules, one concern each; this module walks the
definition: the top level, each scope's states, each state's fields and expressions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sagaway.asl.diagnostics import (
    DUPLICATE_STATE_NAME,
    INVALID_STATE_NAME,
    ROOT,
    Diagnostic,
    child,
    format_invalid_definition,
)
from sagaway.asl.validate_choice import check_choice
from sagaway.asl.validate_context import Context, is_int, must_be
from sagaway.asl.validate_errors import check_catch, check_retry
from sagaway.asl.validate_exprs import check_jsonata, check_path_fields, check_payload
from sagaway.asl.validate_fields import (
    JSONATA,
    JSONPATH,
    STATE_FIELDS,
    check_allowed,
    check_state_fields,
    required,
)
from sagaway.asl.validate_graph import check_graph
from sagaway.asl.validate_json import parse_definition
from sagaway.asl.validate_map import check_map, check_parallel
from sagaway.asl.validate_states import (
    TRANSITIONING,
    check_fail,
    check_task,
    check_transition,
    check_wait,
)

__all__ = ["Diagnostic", "format_invalid_definition", "validate_definition"]

_TOP_FIELDS = frozenset(
    {"Comment", "StartAt", "States", "TimeoutSeconds", "Version", "QueryLanguage"}
)
_LANGUAGES = (JSONPATH, JSONATA)
_STATE_NAME_LIMIT = 80
# Payload templates of a JSONPath state: their ``.$`` keys hold paths or intrinsic functions.
_TEMPLATES = ("Parameters", "ResultSelector", "ItemSelector", "Assign")
# Fields a JSONata-expression check must not descend into: nested machines are checked as
# scopes of their own, and a Comment is free text.
_NOT_EXPRESSIONS = frozenset({"Comment", "ItemProcessor", "Iterator", "Branches"})

_Rule = Callable[[Context, dict[str, Any], str, str], None]
_TYPE_RULES: dict[str, _Rule] = {
    "Task": check_task,
    "Wait": check_wait,
    "Fail": check_fail,
    "Choice": check_choice,
    "Parallel": check_parallel,
    "Map": check_map,
}


def validate_definition(text: str, *, machine_type: str = "STANDARD") -> list[Diagnostic]:
    """AWS's diagnostics for the definition ``text`` of a ``machine_type`` state machine."""
    definition, problem = parse_definition(text)
    if problem is not None or definition is None:
        return [problem] if problem is not None else []
    language = definition.get("QueryLanguage")
    ctx = Context(
        machine_type=machine_type,
        language=JSONATA if language == JSONATA else JSONPATH,
        check_scope=_check_scope,
    )
    ctx.extend(check_allowed(definition, _TOP_FIELDS, ROOT))
    ctx.extend(required(definition, ("States", "StartAt"), ROOT))
    if "QueryLanguage" in definition and language not in _LANGUAGES:
        ctx.report(
            must_be("QueryLanguage", "one of [JSONPath, JSONata]"), child(ROOT, "QueryLanguage")
        )
    timeout = definition.get("TimeoutSeconds")
    if "TimeoutSeconds" in definition and not (is_int(timeout) and timeout >= 1):
        ctx.report(must_be("TimeoutSeconds", "a positive integer"), child(ROOT, "TimeoutSeconds"))
    _check_scope(ctx, definition, ROOT)
    return ctx.diagnostics


def _check_scope(ctx: Context, scope: dict[str, Any], location: str) -> None:
    """The states of one scope, then its transition graph."""
    states = scope.get("States")
    if "States" not in scope:
        return
    states_location = child(location, "States")
    if not isinstance(states, dict):
        ctx.report(must_be("States", "an object"), states_location)
        return
    if "StartAt" in scope and not isinstance(scope["StartAt"], str):
        ctx.report(must_be("StartAt", "a string"), child(location, "StartAt"))
    for name in getattr(states, "duplicates", ()):
        ctx.report(
            f"Duplicate State name: {name}", child(states_location, name), DUPLICATE_STATE_NAME
        )
    for name, state in states.items():
        where = child(states_location, name)
        if len(name) > _STATE_NAME_LIMIT:
            ctx.report(
                f"State name '{name}' exceeds the maximum length of {_STATE_NAME_LIMIT} characters",
                where,
                INVALID_STATE_NAME,
            )
        if not isinstance(state, dict):
            ctx.report("Value must be a valid JSON object", where)
            continue
        _check_state(ctx, state, where)
    ctx.extend(check_graph(scope, location))


# AWS's wording (its recorded answer to a state of an unknown type), in its order.
_UNKNOWN_TYPE = (
    "The field 'Type' should have one of these values: "
    "[Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map]"
)


def _check_state(ctx: Context, state: dict[str, Any], location: str) -> None:
    state_type = state.get("Type")
    if "Type" not in state:
        ctx.extend(required(state, ("Type",), location))
        return
    if state_type not in STATE_FIELDS:
        ctx.report(_UNKNOWN_TYPE, child(location, "Type"))
        return
    language = _state_language(ctx, state, location)
    ctx.extend(check_state_fields(state, state_type, language, location))
    if state_type in TRANSITIONING:
        check_transition(ctx, state, location)
    rule = _TYPE_RULES.get(state_type)
    if rule is not None:
        rule(ctx, state, location, language)
    if "Retry" in state:
        check_retry(ctx, state["Retry"], child(location, "Retry"))
    if "Catch" in state:
        check_catch(ctx, state["Catch"], child(location, "Catch"), language)
    _check_expressions(ctx, state, location, language)


def _state_language(ctx: Context, state: dict[str, Any], location: str) -> str:
    """The state's effective QueryLanguage, reporting a value AWS refuses."""
    if "QueryLanguage" not in state:
        return ctx.language
    declared = state["QueryLanguage"]
    if declared not in _LANGUAGES:
        ctx.report(
            must_be("QueryLanguage", "one of [JSONPath, JSONata]"), child(location, "QueryLanguage")
        )
        return ctx.language
    if declared == JSONPATH and ctx.language == JSONATA:
        ctx.report(
            "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
            location,
        )
    return str(declared)


def _check_expressions(ctx: Context, state: dict[str, Any], location: str, language: str) -> None:
    if language == JSONATA:
        for name, value in state.items():
            if name not in _NOT_EXPRESSIONS:
                ctx.extend(check_jsonata(value, child(location, name)))
        return
    ctx.extend(check_path_fields(state, location))
    for name in _TEMPLATES:
        if name in state:
            ctx.extend(check_payload(state[name], child(location, name)))
    credentials = state.get("Credentials")
    if isinstance(credentials, dict):
        ctx.extend(check_payload(credentials, child(location, "Credentials")))
