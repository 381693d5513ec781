"""DescribeMapRun, ListMapRuns and UpdateMapRun through boto3 against a real server."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.test_executions import machine, wait_done
from tests.api.test_machines import error_code

ITEMS = 6


def distributed(processor: dict[str, Any], **map_fields: Any) -> str:
    return json.dumps(
        {
            "StartAt": "Fan",
            "States": {
                "Fan": {
                    "Type": "Map",
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                        **processor,
                    },
                    "End": True,
                    **map_fields,
                }
            },
        }
    )


# Each iteration waits a second, so the run is observably RUNNING for a while.
WAITING = {
    "StartAt": "Pause",
    "States": {"Pause": {"Type": "Wait", "Seconds": 1, "End": True}},
}
# An iteration fails when its item says so.
FAILING = {
    "StartAt": "Check",
    "States": {
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.fail", "BooleanEquals": True, "Next": "Bad"}],
            "Default": "Good",
        },
        "Bad": {"Type": "Fail", "Error": "Item.Bad", "Cause": "asked to fail"},
        "Good": {"Type": "Pass", "End": True},
    },
}


def eventually(probe: Callable[[], Any], timeout: float = 5) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


def map_run_arn(sfn: Any, execution_arn: str) -> str:
    runs = eventually(lambda: sfn.list_map_runs(executionArn=execution_arn)["mapRuns"])
    assert len(runs) == 1
    arn: str = runs[0]["mapRunArn"]
    return arn


def start(sfn: Any, name: str, definition: str, items: list[Any]) -> str:
    arn = machine(sfn, name, definition)
    execution: str = sfn.start_execution(stateMachineArn=arn, input=json.dumps(items))[
        "executionArn"
    ]
    return execution


def test_a_running_then_succeeded_map_run(sfn: Any) -> None:
    execution = start(sfn, "fan", distributed(WAITING, MaxConcurrency=2), list(range(ITEMS)))
    runs = eventually(lambda: sfn.list_map_runs(executionArn=execution)["mapRuns"])
    assert [sorted(run) for run in runs] == [
        ["executionArn", "mapRunArn", "startDate", "stateMachineArn"]
    ]
    run = runs[0]
    assert run["executionArn"] == execution
    assert ":mapRun:fan/Fan:" in run["mapRunArn"]
    assert run["stateMachineArn"].endswith(":stateMachine:fan/Fan")

    running = sfn.describe_map_run(mapRunArn=run["mapRunArn"])
    assert running["status"] == "RUNNING"
    assert "stopDate" not in running
    assert running["executionArn"] == execution
    assert running["maxConcurrency"] == 2
    assert running["toleratedFailureCount"] == 0
    assert running["toleratedFailurePercentage"] == 0.0
    counts = running["executionCounts"]
    assert counts["total"] == ITEMS
    assert 1 <= counts["running"] <= 2  # never more than MaxConcurrency at once
    assert counts["pending"] + counts["running"] + counts["succeeded"] == ITEMS
    assert running["itemCounts"]["total"] == ITEMS

    assert wait_done(sfn, execution)["status"] == "SUCCEEDED"
    done = sfn.describe_map_run(mapRunArn=run["mapRunArn"])
    assert done["status"] == "SUCCEEDED"
    assert done["stopDate"] >= done["startDate"]
    for key in ("itemCounts", "executionCounts"):
        assert done[key] == {
            "pending": 0, "running": 0, "succeeded": ITEMS, "failed": 0, "timedOut": 0,
            "aborted": 0, "total": ITEMS, "resultsWritten": 0,
        }  # fmt: skip
    listed = sfn.list_map_runs(executionArn=execution)["mapRuns"]
    assert listed[0]["stopDate"] == done["stopDate"]


def test_a_run_that_exceeds_its_tolerated_failures_fails_with_counts(sfn: Any) -> None:
    items = [{"fail": index in (1, 2)} for index in range(ITEMS)]
    definition = distributed(FAILING, MaxConcurrency=1, ToleratedFailureCount=1)
    execution = start(sfn, "fails", definition, items)
    assert wait_done(sfn, execution)["status"] == "FAILED"
    described = sfn.describe_map_run(mapRunArn=map_run_arn(sfn, execution))
    assert described["status"] == "FAILED"
    assert described["toleratedFailureCount"] == 1
    assert described["maxConcurrency"] == 1
    # One at a time: the first succeeded, the next two failed, the rest never started.
    expected = {"pending": 3, "running": 0, "succeeded": 1, "failed": 2, "timedOut": 0,
                "aborted": 0, "total": ITEMS, "resultsWritten": 0}  # fmt: skip
    assert described["executionCounts"] == expected
    assert described["itemCounts"] == expected


def test_update_map_run_raises_max_concurrency_of_a_running_run(sfn: Any) -> None:
    definition = distributed(WAITING, MaxConcurrency=1, ToleratedFailurePercentage=10)
    execution = start(sfn, "slow", definition, list(range(ITEMS)))
    arn = map_run_arn(sfn, execution)
    assert sfn.describe_map_run(mapRunArn=arn)["executionCounts"]["running"] == 1
    sfn.update_map_run(
        mapRunArn=arn, maxConcurrency=0, toleratedFailureCount=2, toleratedFailurePercentage=50
    )
    described = sfn.describe_map_run(mapRunArn=arn)
    assert described["maxConcurrency"] == 0  # no limit: every remaining item starts now
    assert described["toleratedFailureCount"] == 2
    assert described["toleratedFailurePercentage"] == 50.0
    counts = described["executionCounts"]
    assert counts["pending"] == 0
    assert counts["running"] == ITEMS - counts["succeeded"]
    # One at a time this would take six seconds; with no limit about two.
    assert wait_done(sfn, execution, timeout=4)["status"] == "SUCCEEDED"
    assert sfn.describe_map_run(mapRunArn=arn)["executionCounts"]["succeeded"] == ITEMS


def test_update_map_run_validation(sfn: Any) -> None:
    execution = start(sfn, "upd", distributed(WAITING, MaxConcurrency=1), [1, 2, 3])
    arn = map_run_arn(sfn, execution)
    with pytest.raises(ClientError) as info:
        sfn.update_map_run(mapRunArn=arn)
    assert error_code(info) == "ValidationException"
    assert info.value.response["reason"] == "MISSING_REQUIRED_PARAMETER"
    with pytest.raises(ClientError) as info:
        sfn.update_map_run(mapRunArn=arn, toleratedFailurePercentage=150)
    assert error_code(info) == "ValidationException"
    assert "less than or equal to 100" in str(info.value)
    sfn.stop_execution(executionArn=execution)
    assert wait_done(sfn, execution)["status"] == "ABORTED"
    stopped = sfn.describe_map_run(mapRunArn=arn)
    assert stopped["status"] == "ABORTED"
    assert stopped["executionCounts"]["aborted"] == 1
    assert stopped["executionCounts"]["pending"] == 2
    with pytest.raises(ClientError) as info:
        sfn.update_map_run(mapRunArn=arn, maxConcurrency=3)
    assert error_code(info) == "ValidationException"
    assert info.value.response["reason"] == "CANNOT_UPDATE_COMPLETED_MAP_RUN"


def test_bad_and_unknown_map_run_arns(sfn: Any) -> None:
    execution = start(sfn, "plain", distributed(FAILING), [{"fail": False}])
    assert wait_done(sfn, execution)["status"] == "SUCCEEDED"
    arn = map_run_arn(sfn, execution)
    for call in (sfn.describe_map_run, sfn.update_map_run):
        with pytest.raises(ClientError) as info:
            call(mapRunArn="arn:aws:states:us-east-1:123456789012:execution:plain:x")
        assert error_code(info) == "InvalidArn"
    unknown = arn.replace(":mapRun:plain/", ":mapRun:other/")
    with pytest.raises(ClientError) as info:
        sfn.describe_map_run(mapRunArn=unknown)
    assert error_code(info) == "ResourceNotFound"
    with pytest.raises(ClientError) as info:
        sfn.update_map_run(mapRunArn=unknown, maxConcurrency=1)
    assert error_code(info) == "ResourceNotFound"
    with pytest.raises(ClientError) as info:
        sfn.list_map_runs(executionArn=execution.replace(":plain:", ":missing:"))
    assert error_code(info) == "ExecutionDoesNotExist"
    with pytest.raises(ClientError) as info:
        sfn.list_map_runs(executionArn="arn:aws:states:us-east-1:123456789012:mapRun:x")
    assert error_code(info) == "InvalidArn"


def test_list_map_runs_pages_and_is_empty_without_a_distributed_map(sfn: Any) -> None:
    inline = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    execution = start(sfn, "none", inline, [])
    wait_done(sfn, execution)
    assert sfn.list_map_runs(executionArn=execution)["mapRuns"] == []
    two = json.loads(distributed(FAILING))
    again = two["States"]["Fan"]
    fan = {key: value for key, value in again.items() if key != "End"}
    two["States"] = {"Fan": {**fan, "Next": "Again", "ResultPath": None}, "Again": again}
    execution = start(sfn, "paged", json.dumps(two), [{"fail": False}])
    assert wait_done(sfn, execution)["status"] == "SUCCEEDED"
    first = sfn.list_map_runs(executionArn=execution, maxResults=1)
    second = sfn.list_map_runs(executionArn=execution, nextToken=first["nextToken"])
    assert "nextToken" not in second
    arns = [run["mapRunArn"] for run in first["mapRuns"] + second["mapRuns"]]
    assert [arn.split("/")[1].split(":")[0] for arn in arns] == ["Fan", "Again"]
    for arn in arns:
        assert sfn.describe_map_run(mapRunArn=arn)["itemCounts"]["succeeded"] == 1
