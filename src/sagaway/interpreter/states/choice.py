"""Choice: picks the Next state from the first matching rule, else Default."""

from __future__ import annotations

from typing import Any

from sagaway.asl.model import ChoiceRule, State
from sagaway.expressions.errors import QueryEvaluationError, StatesError
from sagaway.expressions.exprs import evaluate
from sagaway.expressions.jsonpath import PathNotFound, compile_path
from sagaway.expressions.scope import Scope
from sagaway.interpreter.comparisons import COMPARATORS, TYPE_TESTS
from sagaway.interpreter.dataflow import evaluate_assign, select_path, states_var
from sagaway.interpreter.execution import Frame
from sagaway.interpreter.failures import Failure
from sagaway.interpreter.lifecycle import exit_state, fail_state
from sagaway.interpreter.run import Run

NO_CHOICE_MATCHED = "States.NoChoiceMatched"


def enter(run: Run, frame: Frame, state: State) -> None:
    value = (
        frame.input if state.is_jsonata else select_path(run, frame, state.input_path, frame.input)
    )
    scope = run.scope(frame, value)
    states = states_var(run, frame, input=frame.input)
    for rule in state.spec.choices:
        if _holds(rule, scope, states):
            _leave(run, frame, state, rule, rule.next, value)
            return
    if state.spec.default is None:
        cause = (
            f"An error occurred while executing the state '{state.name}' "
            f"(entered at the event id #{frame.entered_id}). No Matches!"
        )
        fail_state(run, frame, state, Failure(NO_CHOICE_MATCHED, cause))
        return
    _leave(run, frame, state, None, state.spec.default, value)


def _leave(
    run: Run, frame: Frame, state: State, rule: ChoiceRule | None, target: str | None, value: Any
) -> None:
    assign = rule.assign if rule is not None and rule.assign is not None else state.assign
    assigned = evaluate_assign(run, frame, assign, value, input=frame.input)
    if state.is_jsonata:
        output_expr = rule.output if rule is not None and rule.output is not None else state.output
        if output_expr is None:
            output = frame.input
        else:
            states = states_var(run, frame, input=frame.input)
            output = evaluate(output_expr, run.scope(frame, frame.input), "Output", states)
    else:
        output = select_path(run, frame, state.output_path, value)
    exit_state(run, frame, state, output, assigned, target, False)


def _holds(rule: ChoiceRule, scope: Scope, states: dict[str, Any]) -> bool:
    if rule.condition is not None:
        result = evaluate(rule.condition, scope, "Condition", states)
        if not isinstance(result, bool):
            raise QueryEvaluationError(
                f"The JSONata expression '{_inner(rule.condition.raw)}' specified for the "
                f"field 'Condition' returned an unexpected result type. Expected 'boolean', "
                f"but was '{_type_name(result)}' for value: {_dump(result)}"
            )
        return result
    if rule.and_ is not None:
        return all(_holds(r, scope, states) for r in rule.and_)
    if rule.or_ is not None:
        return any(_holds(r, scope, states) for r in rule.or_)
    if rule.not_ is not None:
        return not _holds(rule.not_, scope, states)
    return _compare(rule, scope)


def _compare(rule: ChoiceRule, scope: Scope) -> bool:
    operator = rule.operator or ""
    assert rule.variable is not None
    try:
        value = compile_path(rule.variable).get(scope)
    except PathNotFound as missing:
        if operator == "IsPresent":
            return rule.operand is False
        raise StatesError(
            "States.Runtime",
            f"Invalid path '{rule.variable}': The choice state's condition path references "
            f"an invalid value.",
        ) from missing
    if operator == "IsPresent":
        return rule.operand is True
    if operator in TYPE_TESTS:
        return TYPE_TESTS[operator](value) is rule.operand
    operand = rule.operand
    if operator.endswith("Path"):
        operator = operator[: -len("Path")]
        operand = compile_path(rule.operand).get(scope)
    return COMPARATORS[operator](value, operand)


def _inner(raw: Any) -> str:
    text = str(raw).strip()
    return text[2:-2].strip() if text.startswith("{%") else text


def _type_name(value: Any) -> str:
    from sagaway.expressions.jsonata_eval import UNDEFINED
    from sagaway.expressions.jsonata_results import json_type

    return "undefined" if value is UNDEFINED else json_type(value)


def _dump(value: Any) -> str:
    from sagaway.expressions.jsontext import dumps

    return dumps(value)
