"""``sagaway serve`` answers ``/metrics`` with the engine's figures (a real server, boto3)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from sagaway.resources.lambda_functions import FunctionRegistry
from tests.api.conftest import Server, client

FN = "arn:aws:lambda:us-east-1:123456789012:function:"
SAGA = {
    "StartAt": "Reserve",
    "States": {
        "Reserve": {
            "Type": "Task", "Resource": FN + "reserve",
            "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 2,
                       "BackoffRate": 1, "MaxDelaySeconds": 1}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Undo"}],
            "Next": "Done",
        },
        "Undo": {"Type": "Task", "Resource": FN + "undo", "Next": "Failed"},
        "Failed": {"Type": "Fail", "Error": "Compensated"},
        "Done": {"Type": "Succeed"},
    },
}  # fmt: skip


class Flaky(Exception):
    pass


def functions() -> FunctionRegistry:
    registry = FunctionRegistry()
    seen: set[str] = set()

    def reserve(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if event["order"] not in seen:  # every order fails once, then is retried
            seen.add(event["order"])
            raise Flaky("try again")
        if event.get("soldOut"):
            raise ValueError("sold out")
        return event

    registry.register("reserve", reserve)
    registry.register("undo", lambda event, context: event)
    return registry


def samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(url + "/metrics").text
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_serve_metrics_count_executions_retries_catches_and_tasks(tmp_path: Path) -> None:
    with Server(tmp_path / "j.db", functions()) as server:
        sfn = client(server.url)
        arn = sfn.create_state_machine(name="shop", definition=json.dumps(SAGA),
                                       roleArn="arn:aws:iam::123456789012:role/r")["stateMachineArn"]  # fmt: skip  # noqa: E501
        header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
        runs = [sfn.start_execution(stateMachineArn=arn, input=json.dumps(order),
                                    traceHeader=header)["executionArn"]
                for order in ({"order": "a"}, {"order": "b", "soldOut": True})]  # fmt: skip
        deadline = time.monotonic() + 20
        while any(sfn.describe_execution(executionArn=r)["status"] == "RUNNING" for r in runs):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        found = samples(server.url)
        # Not traced here, yet the caller's trace header is kept and answered, as AWS does.
        assert sfn.describe_execution(executionArn=runs[0])["traceHeader"] == header
    assert value(found, "sagaway_executions_started_total", state_machine="shop") == 2
    assert value(found, "sagaway_executions_ended_total", state_machine="shop",
                 status="SUCCEEDED") == 1  # fmt: skip
    assert value(found, "sagaway_executions_ended_total", state_machine="shop",
                 status="FAILED") == 1  # fmt: skip
    assert value(found, "sagaway_task_retries_total", state_machine="shop", state="Reserve") == 2
    assert value(found, "sagaway_catches_total", state_machine="shop", state="Reserve") == 1
    assert value(found, "sagaway_state_transitions_total", state_machine="shop", state="Undo") == 1
    # 2 orders x (1 failed + 1 answered) attempts of Reserve, by outcome.
    assert value(found, "sagaway_task_duration_seconds_count", resource=FN + "reserve",
                 outcome="TaskFailed") == 3  # fmt: skip
    assert value(found, "sagaway_task_duration_seconds_count", resource=FN + "reserve",
                 outcome="TaskSucceeded") == 1  # fmt: skip
    # One step per event: a = start, failure, retry timer, answer; b adds the caught failure.
    assert value(found, "sagaway_journal_commit_batch_steps_sum") == 9
    assert value(found, "sagaway_journal_commit_duration_seconds_count") >= 1
    assert value(found, "sagaway_timers_pending") == 0
    assert value(found, "sagaway_executions_open", state_machine="shop") == 0
    # No execution ids in labels: cardinality is bounded by the definitions.
    assert not any("execution" in dict(labels) for _, labels in found)
