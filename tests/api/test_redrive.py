"""RedriveExecution, including Sagaway's edited-input extension."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import Server, client, registry
from tests.api.test_executions import LAMBDA, machine, wait_done
from tests.api.test_machines import error_code

SAGA = json.dumps({
    "StartAt": "First",
    "States": {
        "First": {"Type": "Task", "Resource": LAMBDA + "double", "ResultPath": "$.first",
                  "Next": "Second"},
        "Second": {"Type": "Task", "Resource": LAMBDA + "flaky", "End": True,
                   "Retry": [{"ErrorEquals": ["ValueError"], "MaxAttempts": 1,
                              "IntervalSeconds": 1}]},
    },
})  # fmt: skip


def test_redrive_from_the_failed_state(sfn: Any, server: Server) -> None:
    arn = machine(sfn, "saga", SAGA)
    ex = sfn.start_execution(stateMachineArn=arn, input='{"value": 1, "fail": true}')
    failed = wait_done(sfn, ex["executionArn"], timeout=15)
    assert (failed["status"], failed["error"], failed["redriveStatus"]) == (
        "FAILED", "ValueError", "REDRIVABLE",
    )  # fmt: skip
    # Plain AWS redrive: same input, fails the same way, First does not run again.
    sfn.redrive_execution(executionArn=ex["executionArn"])
    again = wait_done(sfn, ex["executionArn"], timeout=15)
    assert again["status"] == "FAILED" and again["redriveCount"] == 1
    # Sagaway's extension: the failed state's input, edited (a field boto3 does not know).
    edited = json.dumps({"value": 1, "first": {"value": 2}, "fail": False})
    response = httpx.post(
        server.url + "/",
        headers={"X-Amz-Target": "AWSStepFunctions.RedriveExecution",
                 "Content-Type": "application/x-amz-json-1.0"},
        content=json.dumps({"executionArn": ex["executionArn"], "input": edited}),
    )  # fmt: skip
    assert response.status_code == 200, response.text
    done = wait_done(sfn, ex["executionArn"], timeout=15)
    assert done["status"] == "SUCCEEDED" and done["redriveCount"] == 2
    assert json.loads(done["output"])["ok"] is True
    events = sfn.get_execution_history(executionArn=ex["executionArn"])["events"]
    types = [e["type"] for e in events]
    assert types.count("ExecutionRedriven") == 2
    assert types.count("LambdaFunctionSucceeded") == 2  # First once, Second at the end
    ids = [e["id"] for e in events]
    assert ids == list(range(1, len(ids) + 1))
    redriven = events[types.index("ExecutionRedriven")]
    assert redriven["executionRedrivenEventDetails"] == {"redriveCount": 1}
    assert types[types.index("ExecutionRedriven") + 1] == "TaskStateEntered"


def test_succeeded_execution_is_not_redrivable(sfn: Any) -> None:
    arn = machine(sfn, "ok", SAGA)
    ex = sfn.start_execution(stateMachineArn=arn, input='{"value": 1}')["executionArn"]
    assert wait_done(sfn, ex)["status"] == "SUCCEEDED"
    with pytest.raises(ClientError) as info:
        sfn.redrive_execution(executionArn=ex)
    assert error_code(info) == "ExecutionNotRedrivable"


# -- Parallel and inline Map: only the branches and iterations that did not succeed ---------

CALLS: Counter[str] = Counter()  # handler invocations by key (the server runs in-process)
BROKEN: set[str] = set()  # keys whose handler fails, until the test repairs them


def counted(event: Any, context: Any) -> Any:
    key = event["key"]
    CALLS[key] += 1
    if key in BROKEN:
        time.sleep(0.5)  # the healthy branches / iterations finish first
        raise ValueError(f"{key} is broken")
    return f"done-{key}"


@pytest.fixture
def counting(tmp_path: Path) -> Iterator[Any]:
    functions = registry()
    functions.register("counted", counted)
    CALLS.clear()
    BROKEN.clear()
    with Server(tmp_path / "counted.db", functions) as running:
        yield client(running.url)


def _counted_task(key: str | None = None) -> dict[str, Any]:
    params = {"key": key} if key is not None else {"key.$": "$"}
    return {"Type": "Task", "Resource": LAMBDA + "counted", "Parameters": params, "End": True}


def _fail_then_redrive(sfn: Any, definition: dict[str, Any], payload: Any) -> dict[str, Any]:
    arn = machine(sfn, "fan", json.dumps(definition))
    ex = sfn.start_execution(stateMachineArn=arn, input=json.dumps(payload))["executionArn"]
    failed = wait_done(sfn, ex, timeout=15)
    assert (failed["status"], failed["error"]) == ("FAILED", "ValueError")
    BROKEN.clear()  # the operator fixes the downstream service
    sfn.redrive_execution(executionArn=ex)
    done = wait_done(sfn, ex, timeout=15)
    assert (done["status"], done["redriveCount"]) == ("SUCCEEDED", 1)
    done["events"] = sfn.get_execution_history(executionArn=ex, maxResults=1000)["events"]
    return done


def test_redrive_parallel_reruns_only_the_failed_branch(counting: Any) -> None:
    BROKEN.add("b1")
    branches = [{"StartAt": "T", "States": {"T": _counted_task(f"b{i}")}} for i in range(3)]
    done = _fail_then_redrive(counting, {"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Branches": branches, "End": True}}}, {})  # fmt: skip
    assert CALLS == {"b0": 1, "b1": 2, "b2": 1}
    assert json.loads(done["output"]) == ["done-b0", "done-b1", "done-b2"]
    types = [e["type"] for e in done["events"]]
    after = types[types.index("ExecutionRedriven") :]
    assert after[:4] == ["ExecutionRedriven", "ParallelStateEntered", "ParallelStateStarted",
                         "TaskStateEntered"]  # fmt: skip
    assert after.count("TaskStateEntered") == 1 and after[-1] == "ExecutionSucceeded"
    ids = [e["id"] for e in done["events"]]
    assert ids == list(range(1, len(ids) + 1))


def test_redrive_inline_map_reruns_only_the_failed_iterations(counting: Any) -> None:
    BROKEN.update({"i1", "i3"})
    items = [f"i{i}" for i in range(5)]
    done = _fail_then_redrive(counting, {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items", "End": True,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "T",
                          "States": {"T": _counted_task()}},
    }}}, {"items": items})  # fmt: skip
    # i1 and i3 ran twice (the one that did not fail first was aborted, then redriven).
    assert CALLS == {"i0": 1, "i1": 2, "i2": 1, "i3": 2, "i4": 1}
    assert json.loads(done["output"]) == [f"done-{item}" for item in items]
    events = done["events"]
    types = [e["type"] for e in events]
    redriven = types.index("ExecutionRedriven")
    assert types[redriven + 1 : redriven + 3] == ["MapStateEntered", "MapStateStarted"]
    restarted = [e["mapIterationStartedEventDetails"]["index"] for e in events[redriven:]
                 if e["type"] == "MapIterationStarted"]  # fmt: skip
    assert restarted == [1, 3]
    assert types[-2:] == ["MapStateExited", "ExecutionSucceeded"]
