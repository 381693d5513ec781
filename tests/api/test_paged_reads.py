"""ListExecutions and GetExecutionHistory page in the database (tests/store/test_paged_reads.py),
through boto3's paginators against a real server."""

from __future__ import annotations

import json
from typing import Any

from tests.api.test_executions import machine, wait_done

PASSES = json.dumps({
    "StartAt": "P0",
    "States": {
        **{f"P{i}": {"Type": "Pass", "Next": f"P{i + 1}"} for i in range(7)},
        "P7": {"Type": "Pass", "End": True},
    },
})  # fmt: skip
WAIT = json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}})


def test_list_executions_pages_every_execution_once_newest_first(sfn: Any) -> None:
    arn = machine(sfn, "listing", WAIT)
    started = [sfn.start_execution(stateMachineArn=arn, name=f"e{i}")["executionArn"]
               for i in range(7)]  # fmt: skip
    pages = sfn.get_paginator("list_executions").paginate(
        stateMachineArn=arn, PaginationConfig={"PageSize": 2}
    )
    sizes, seen = [], []
    for page in pages:
        sizes.append(len(page["executions"]))
        seen += [e["executionArn"] for e in page["executions"]]
    assert sorted(seen) == sorted(started) and len(seen) == 7
    starts = [e["startDate"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]]
    assert starts == sorted(starts, reverse=True)
    assert sizes == [2, 2, 2, 1]
    sfn.stop_execution(executionArn=started[3])
    aborted = sfn.list_executions(stateMachineArn=arn, statusFilter="ABORTED", maxResults=1)
    assert [e["executionArn"] for e in aborted["executions"]] == [started[3]]
    assert "nextToken" not in aborted


def test_history_pages_join_to_the_whole_history_both_ways(sfn: Any) -> None:
    arn = machine(sfn, "passes", PASSES)
    run = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert wait_done(sfn, run)["status"] == "SUCCEEDED"
    answer = sfn.get_execution_history(executionArn=run, maxResults=1000)
    whole = answer["events"]
    assert len(whole) == 1 + 2 * 8 + 1 and "nextToken" not in answer
    for reverse in (False, True):
        pages = sfn.get_paginator("get_execution_history").paginate(
            executionArn=run, reverseOrder=reverse, PaginationConfig={"PageSize": 3}
        )
        joined = [e for page in pages for e in page["events"]]
        assert joined == (whole[::-1] if reverse else whole)
