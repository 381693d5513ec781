"""TestState's ``inspectionData`` (DEBUG and TRACE): the value after each data-flow step.

The steps are recomputed here with the interpreter's own data-flow functions, on the
execution as it was when the tested state was entered, so they see the same variables and
context object the run saw. Which steps AWS reports depends on the state type and query
language (as its recorded answers show): JSONata states report their input, Arguments and
result; JSONPath states report each path step that applies to their type. A step that
fails to evaluate ends the list there, as the run itself failed at that step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sagaway.api.test_state_machine import TestedState
from sagaway.api.test_state_run import Outcome
from sagaway.asl.model import Machine, MapSpec, State
from sagaway.asl.parser import parse_definition
from sagaway.expressions.errors import StatesError
from sagaway.expressions.exprs import evaluate
from sagaway.expressions.jsonpath import PathNotFound, compile_path, set_result_path
from sagaway.expressions.jsontext import dumps
from sagaway.expressions.scope import Scope
from sagaway.interpreter.dataflow import effective_input, select_path
from sagaway.interpreter.execution import Frame
from sagaway.interpreter.map_config import integer_setting, tolerance
from sagaway.interpreter.run import Run

ABSENT = object()
# JSONPath states whose input goes through InputPath only (no Parameters, no result).
_PASSTHROUGH = frozenset({"Succeed", "Choice", "Fail", "Wait"})


def inspection_data(
    machine: Machine,
    tested: TestedState,
    value: Any,
    outcome: Outcome,
    result: Any,
    variables: Mapping[str, Any],
) -> dict[str, Any]:
    """The inspectionData member for ``outcome``; ``result`` is the state's raw result
    (the mock's or the Task's answer; ``ABSENT`` when it has none)."""
    assert outcome.entered is not None
    run = Run(machine, outcome.entered.clone(), 0.0)
    frame = run.state.root
    frame.state, frame.input = tested.name, value
    state = run.current(frame)
    data: dict[str, Any] = {"input": dumps(value)}
    try:
        if state.is_jsonata:
            _jsonata_steps(run, frame, state, tested, result, data)
        else:
            _jsonpath_steps(run, frame, state, tested, result, data)
    except StatesError:
        pass  # the run failed at this step too: report the steps before it
    except _ItemsRefused:
        return data  # AWS reports nothing past the input of a Map with no items
    if variables:
        data["variables"] = dumps(dict(variables))
    if outcome.error_details:
        data["errorDetails"] = outcome.error_details
    data.update(_map_settings(run, frame, tested))
    return data


class _ItemsRefused(Exception):
    """A Map's ItemsPath selected no array (see ``items_refusal``)."""


def items_refusal(body: Mapping[str, Any], scope: Scope) -> str | None:
    """Why a JSONPath Map cannot iterate: its ItemsPath, read on the Map's input after
    InputPath, selects no array. AWS's cause shows a context path with one ``$``."""
    path = body.get("ItemsPath", "$")
    if not isinstance(path, str):
        return None
    try:
        items = compile_path(path).get(scope)
    except (PathNotFound, StatesError):
        return None  # the run reports a path that does not resolve itself
    if isinstance(items, list):
        return None
    shown = path[1:] if path.startswith("$$") else path
    return f'Reference path "{shown}" must point to array.'


def _jsonata_steps(
    run: Run, frame: Frame, state: State, tested: TestedState, result: Any, out: dict[str, Any]
) -> None:
    if tested.body.get("Type") == "Task":
        if "Arguments" in tested.body:
            out["afterArguments"] = dumps(effective_input(run, frame, state))
        if result is not ABSENT:
            out["result"] = dumps(result)


def _jsonpath_steps(
    run: Run, frame: Frame, state: State, tested: TestedState, result: Any, out: dict[str, Any]
) -> None:
    kind = tested.body.get("Type")
    if kind == "Pass" and "Result" in tested.body:
        _result_steps(run, frame, state, tested.body["Result"], out, with_result=True)
        return
    if kind == "Parallel":
        if result is not ABSENT:
            _result_steps(run, frame, state, result, out, with_result=False)
        return
    after_input = select_path(run, frame, state.input_path, frame.input)
    out["afterInputPath"] = dumps(after_input)
    if kind in _PASSTHROUGH:
        return
    if kind == "Map":
        _map_steps(run, frame, state, tested, after_input, result, out)
        return
    after_parameters = effective_input(run, frame, state)
    out["afterParameters"] = dumps(after_parameters)
    if kind == "Pass":
        _result_steps(run, frame, state, after_parameters, out, with_result=False)
    elif result is not ABSENT:
        _result_steps(run, frame, state, result, out, with_result=True)


def _map_steps(
    run: Run,
    frame: Frame,
    state: State,
    tested: TestedState,
    after_input: Any,
    result: Any,
    out: dict[str, Any],
) -> None:
    items_path = tested.body.get("ItemsPath", "$")
    items = select_path(run, frame, items_path, after_input)
    if not isinstance(items, list):
        raise _ItemsRefused
    out["afterItemsPath"] = dumps(items)
    if result is not ABSENT:
        _result_steps(run, frame, state, result, out, with_result=False)


def _result_steps(
    run: Run, frame: Frame, state: State, result: Any, out: dict[str, Any], *, with_result: bool
) -> None:
    if with_result:
        out["result"] = dumps(result)
    selected = result
    if state.result_selector is not None:
        selected = evaluate(state.result_selector, run.scope(frame, result), "ResultSelector")
    out["afterResultSelector"] = dumps(selected)
    out["afterResultPath"] = dumps(set_result_path(frame.input, state.result_path, selected))


def _map_settings(run: Run, frame: Frame, tested: TestedState) -> dict[str, Any]:
    """A Map's concurrency and failure tolerance as it evaluates them (0: no limit). The
    tested machine may hold the Map as a mocked Task, so its own model is parsed here."""
    if tested.body.get("Type") != "Map":
        return {}
    body = {k: v for k, v in tested.body.items() if k != "Next"}
    raw = {"QueryLanguage": tested.query_language, "StartAt": "Map", "States": {}}
    raw["States"] = {"Map": {**body, "End": True}}
    state = parse_definition(raw).state("", "Map")
    spec: MapSpec = state.spec
    settings: dict[str, Any] = {"maxConcurrency": 0}
    try:
        concurrency = integer_setting(
            run, frame, state, spec.max_concurrency, spec.max_concurrency_path, "MaxConcurrency"
        )
        count, percentage = tolerance(run, frame, state)
    except StatesError:
        return settings
    settings["maxConcurrency"] = concurrency or 0
    if count is not None:
        settings["toleratedFailureCount"] = count
    if percentage is not None:
        settings["toleratedFailurePercentage"] = percentage
    return settings
