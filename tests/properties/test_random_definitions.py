"""Random valid definitions of pure states on random inputs: never an internal error, and
the same result in memory, through the API over real HTTP and through ``sagaway run``.

Errors a definition can raise on AWS are ``States.*`` errors (the runtime's) or the ones its
Fail states name (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html);
anything else would be an engine fault leaking out.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sagaway.asl.parser import parse_definition
from sagaway.asl.validate import validate_definition
from sagaway.cli.run import run as run_command
from sagaway.engine.virtual import run_virtual
from sagaway.interpreter.messages import Event, InvokeTask
from tests.api.conftest import ROLE, Server, client, registry

FAIL_ERROR = "CustomError"

JSONPATH_STATES: list[dict[str, Any]] = [
    {"Type": "Pass", "Result": {"r": [1, "two"]}, "ResultPath": "$.r"},
    {"Type": "Pass", "Parameters": {"v.$": "$.x", "items.$": "$.items"}},
    {"Type": "Pass", "Parameters": {"s.$": "States.Format('x={}', $.x)", "items.$": "$.items"}},
    {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.x, 1)", "x.$": "$.x"}},
    {"Type": "Pass", "Parameters": {"j.$": "States.JsonToString($)"}, "ResultPath": "$.j"},
    {"Type": "Pass", "InputPath": "$.items", "ResultPath": "$.copy"},
    {"Type": "Pass", "Parameters": {"first.$": "$.items.[0]"}, "ResultPath": "$.f"},
    {"Type": "Wait", "Seconds": 0},
    {"Type": "Parallel", "Branches": [
        {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}},
        {"StartAt": "C", "States": {"C": {"Type": "Pass", "Result": 1, "End": True}}},
    ], "ResultPath": "$.branches"},
    {"Type": "Map", "ItemsPath": "$.items", "ResultPath": "$.mapped", "ItemProcessor": {
        "ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "I",
        "States": {"I": {"Type": "Pass", "Parameters": {"i.$": "$"}, "End": True}},
    }},
    {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1,
     "ItemSelector": {"v.$": "$$.Map.Item.Value", "n.$": "States.MathAdd($$.Map.Item.Index, 1)"},
     "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "I", "States": {
         "I": {"Type": "Pass", "Parameters": {"s.$": "States.Format('{}', $.v)"}, "End": True}}},
     "ResultSelector": {"count.$": "States.ArrayLength($)"}, "ResultPath": "$.counted",
     "Retry": [{"ErrorEquals": ["States.Runtime"], "MaxAttempts": 1}],
     "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.caught"}]},
    {"Type": "Parallel", "Branches": [
        {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Inner", "Cause": "c"}}},
    ], "Retry": [{"ErrorEquals": ["Inner"], "MaxAttempts": 0}],
     "Catch": [{"ErrorEquals": ["Inner"], "ResultPath": "$.err"}], "OutputPath": "$"},
]  # fmt: skip

JSONATA_STATES: list[dict[str, Any]] = [
    {"Type": "Pass", "Output": "{% $merge([$states.input, {'y': $states.input.x + 1}]) %}"},
    {"Type": "Pass",
     "Output": {"x": "{% $states.input.x %}", "items": "{% $states.input.items %}"}},
    {"Type": "Pass", "Assign": {"seen": "{% $states.input.x %}"}},
    {"Type": "Pass",
     "Output": "{% $merge([$states.input, {'len': $count($states.input.items)}]) %}"},
    {"Type": "Wait", "Seconds": "{% 0 %}"},
    {"Type": "Parallel", "Branches": [
        {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}},
    ], "Output": "{% $states.input %}"},
    {"Type": "Map", "Items": "{% $states.input.items %}", "Output": "{% $states.input %}",
     "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "I",
                       "States": {"I": {"Type": "Pass", "End": True}}}},
    {"Type": "Map", "Items": "{% $states.input.items %}",
     "ItemSelector": {"v": "{% $states.context.Map.Item.Value %}"},
     "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "I", "States": {
         "I": {"Type": "Pass", "Output": "{% $string($states.input.v) %}", "End": True}}},
     "Output": "{% $merge([$states.input, {'strings': $states.result}]) %}",
     "Catch": [{"ErrorEquals": ["States.ALL"], "Output": "{% $states.input %}"}]},
    {"Type": "Pass", "Assign": {"n": "{% $count($states.input.items) %}"},
     "Output": "{% $merge([$states.input, {'n': $n}]) %}"},
]  # fmt: skip

ENDINGS: list[dict[str, Any]] = [
    {"Type": "Succeed"},
    {"Type": "Fail", "Error": FAIL_ERROR, "Cause": "asked to fail"},
    {"Type": "Pass"},
]


@st.composite
def definitions(draw: st.DrawFn) -> dict[str, Any]:
    jsonata = draw(st.booleans())
    pool = JSONATA_STATES if jsonata else JSONPATH_STATES
    body = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4))
    names = [f"S{i}" for i in range(len(body) + 1)]
    # Some states get a Choice in front of them that goes on to them either way.
    guarded = [draw(st.integers(0, 4)) == 0 for _ in body] + [False]
    entry = [f"{n}Choice" if g else n for n, g in zip(names, guarded, strict=True)]
    condition = (
        {"Condition": "{% $states.input.x > 0 %}"}
        if jsonata
        else {"Variable": "$.x", "NumericGreaterThan": 0}
    )
    states: dict[str, Any] = {}
    for index, template in enumerate(body):
        name = names[index]
        if guarded[index]:
            states[entry[index]] = {
                "Type": "Choice", "Choices": [{**condition, "Next": name}], "Default": name,
            }  # fmt: skip
        body = {**template, "Next": entry[index + 1]}
        if "Catch" in template:  # catchers go on where the state would have gone
            body["Catch"] = [{**c, "Next": entry[index + 1]} for c in template["Catch"]]
        states[name] = body
    ending = dict(draw(st.sampled_from(ENDINGS)))
    if ending["Type"] == "Pass":
        ending["End"] = True
    states[names[-1]] = ending
    start = next(iter(states))
    definition = {"StartAt": start, "States": states}
    if jsonata:
        definition["QueryLanguage"] = "JSONata"
    return definition


scalars = st.one_of(
    st.integers(-5, 5), st.floats(-10, 10, allow_nan=False), st.text(max_size=3), st.none()
)
inputs = st.fixed_dictionaries(
    {},
    optional={
        "x": scalars,
        "items": st.one_of(st.lists(scalars, max_size=3), st.text(max_size=2)),
    },
)


def _no_calls(command: InvokeTask) -> tuple[Event, float]:
    raise AssertionError("pure definitions call nothing")


def in_memory(definition: dict[str, Any], value: Any) -> tuple[str, Any, str | None, str | None]:
    outcome = run_virtual(
        parse_definition(json.dumps(definition)), value, _no_calls,
        start_time=1_700_000_000.0,
        execution_arn="arn:aws:states:us-east-1:123456789012:execution:p:run",
        state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:p",
    )  # fmt: skip
    return outcome.status, outcome.output, outcome.error, outcome.cause


class Api:
    """A real server on loopback, driven with boto3."""

    def __init__(self, server: Server) -> None:
        self.sfn = client(server.url)
        self.names = itertools.count()

    def run(self, definition: dict[str, Any], value: Any) -> tuple[str, Any, Any, Any]:
        name = f"prop-{next(self.names)}"
        arn = self.sfn.create_state_machine(
            name=name, definition=json.dumps(definition), roleArn=ROLE
        )["stateMachineArn"]
        started = self.sfn.start_execution(stateMachineArn=arn, input=json.dumps(value))
        deadline = time.monotonic() + 10
        while True:
            described = self.sfn.describe_execution(executionArn=started["executionArn"])
            if described["status"] != "RUNNING" or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        output = json.loads(described["output"]) if "output" in described else None
        return described["status"], output, described.get("error"), described.get("cause")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with Server(tmp_path_factory.mktemp("api") / "api.db", registry()) as running:
        yield Api(running)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("run")


def through_cli(workdir: Path, definition: dict[str, Any], value: Any) -> tuple[str, Any, Any, Any]:
    app = typer.Typer()
    app.callback()(lambda: None)
    app.command("run")(run_command)
    path = workdir / "machine.asl.json"
    path.write_text(json.dumps(definition))
    db = f"sqlite:///{workdir / 'run.db'}"
    result = CliRunner().invoke(
        app, ["run", str(path), "--input", json.dumps(value), "--db", db, "--json"]
    )
    assert result.exit_code in (0, 1), result.output
    body = json.loads(result.stdout)
    return body["status"], body.get("output"), body.get("error"), body.get("cause")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(definition=definitions(), value=inputs)
def test_random_pure_definitions_end_in_states_errors_and_agree_everywhere(
    api: Api, workdir: Path, definition: dict[str, Any], value: Any
) -> None:
    assert validate_definition(json.dumps(definition)) == [], definition
    status, output, error, cause = in_memory(definition, value)
    assert status in ("SUCCEEDED", "FAILED"), (status, error, cause)
    if status == "FAILED":
        assert error is not None and (error.startswith("States.") or error == FAIL_ERROR), (
            error, cause
        )  # fmt: skip
    expected = (status, output, error, cause)
    assert api.run(definition, value) == expected
    assert through_cli(workdir, definition, value) == expected
