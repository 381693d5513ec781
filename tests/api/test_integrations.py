"""Nested executions and http:invoke Tasks, through a real server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from sagaway.engine.http_destinations import HttpDestinations
from tests.api.conftest import Server, client, registry
from tests.api.test_executions import DOUBLE, machine, wait_done


def parent(resource: str) -> str:
    task = {
        "Type": "Task",
        "Resource": resource,
        "Parameters": {"StateMachineArn.$": "$.target", "Input": {"value": 5}, "Name": "child"},
        "End": True,
    }
    return json.dumps({"StartAt": "Start", "States": {"Start": task}})


def test_start_execution_sync_and_sync2(sfn: Any) -> None:
    for suffix, parsed in ((".sync", False), (".sync:2", True)):
        tag = "sync2" if parsed else "sync"
        target = machine(sfn, f"child-{tag}", DOUBLE)
        arn = machine(
            sfn, f"parent-{tag}", parent("arn:aws:states:::states:startExecution" + suffix)
        )
        ex = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"target": target}))
        done = wait_done(sfn, ex["executionArn"])
        assert done["status"] == "SUCCEEDED", done
        output = json.loads(done["output"])
        child_output = output["Output"] if parsed else json.loads(output["Output"])
        assert child_output == {"value": 10}
        assert output["Status"] == "SUCCEEDED"
        events = sfn.get_execution_history(executionArn=ex["executionArn"])["events"]
        assert "TaskSubmitted" in [e["type"] for e in events]


def test_start_execution_sync_of_an_express_child_waits_for_its_journaled_outcome(
    sfn: Any,
) -> None:
    # The child's outcome is journaled just after it ends: the parent's Task once read the
    # journal too early, now and then, and the server's nested integration failed.
    target = machine(sfn, "child-express", DOUBLE, "EXPRESS")
    arn = machine(sfn, "parent-of-express", parent("arn:aws:states:::states:startExecution.sync:2"))
    runs = [
        sfn.start_execution(stateMachineArn=arn, name=f"p{i}", input=json.dumps({"target": target}))
        for i in range(20)
    ]
    for ex in runs:
        done = wait_done(sfn, ex["executionArn"])
        assert done["status"] == "SUCCEEDED", done
        output = json.loads(done["output"])
        assert output["Status"] == "SUCCEEDED" and output["Output"] == {"value": 10}
        assert ":express:child-express:child:" in output["ExecutionArn"]


def test_start_execution_fire_and_forget_and_missing_target(sfn: Any) -> None:
    target = machine(sfn, "child2", DOUBLE)
    arn = machine(sfn, "p-async", parent("arn:aws:states:::states:startExecution"))
    ex = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"target": target}))
    output = json.loads(wait_done(sfn, ex["executionArn"])["output"])
    assert output["ExecutionArn"].endswith(":execution:child2:child")
    missing = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"target": target + "x"}))
    failed = wait_done(sfn, missing["executionArn"])
    assert failed["error"] == "StepFunctions.StateMachineDoesNotExistException"


def http_task(endpoint: str) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::http:invoke",
        "Parameters": {
            "ApiEndpoint": endpoint,
            "Method": "POST",
            "Headers": {"X-Amz-Target": "AWSStepFunctions.ListStateMachines",
                        "Content-Type": "application/x-amz-json-1.0"},
            "RequestBody": {},
        },
        "End": True,
    }  # fmt: skip


def test_http_invoke_calls_a_real_endpoint_on_an_allowed_host(tmp_path: Path) -> None:
    # The server itself is a real HTTP endpoint: call its API with ListStateMachines.
    with Server(tmp_path / "http.db", registry(), http_allow=("127.0.0.1",)) as server:
        _call_own_api(client(server.url), server)


def _call_own_api(sfn: Any, server: Server) -> None:
    task = http_task(server.url + "/")
    arn = machine(sfn, "http", json.dumps({"StartAt": "Call", "States": {"Call": task}}))
    ex = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    output = json.loads(wait_done(sfn, ex)["output"])
    assert output["StatusCode"] == 200
    assert [m["name"] for m in output["ResponseBody"]["stateMachines"]] == ["http"]
    task["Parameters"]["Headers"]["X-Amz-Target"] = "AWSStepFunctions.Nope"  # type: ignore[index]
    bad = machine(sfn, "http-bad", json.dumps({"StartAt": "Call", "States": {"Call": task}}))
    ex = sfn.start_execution(stateMachineArn=bad)["executionArn"]
    assert wait_done(sfn, ex)["error"] == "States.Http.StatusCode.400"


def test_http_invoke_refuses_loopback_and_private_destinations(sfn: Any, server: Server) -> None:
    endpoints = [server.url + "/", f"http://localhost:{server.port}/", "http://10.0.0.1/",
                 "http://169.254.169.254/latest/meta-data/", "http://[::1]/"]  # fmt: skip
    for n, endpoint in enumerate(endpoints):
        definition = {"StartAt": "Call", "States": {"Call": http_task(endpoint)}}
        arn = machine(sfn, f"ssrf-{n}", json.dumps(definition))
        done = wait_done(sfn, sfn.start_execution(stateMachineArn=arn)["executionArn"])
        assert done["error"] == "States.Http.Socket", endpoint
        assert "loopback, private or link-local address" in done["cause"]
    assert sfn.list_executions(stateMachineArn=arn)["executions"][0]["status"] == "FAILED"


def test_put_events_without_entries_is_refused_like_eventbridge(sfn: Any) -> None:
    # The bus and its rules: tests/api/test_put_events.py.
    task = {"Type": "Task", "Resource": "arn:aws:states:::events:putEvents",
            "Parameters": {"Entries": []}, "End": True}  # fmt: skip
    arn = machine(sfn, "events", json.dumps({"StartAt": "Put", "States": {"Put": task}}))
    ex = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    failed = wait_done(sfn, ex)
    assert failed["error"] == "EventBridge.ValidationException"
    assert "at 'entries' failed to satisfy constraint" in failed["cause"]


def test_a_public_address_is_called_at_the_address_that_was_checked() -> None:
    # Connecting to the checked address (with the name kept for Host and TLS) is what
    # stops a DNS answer that changes after the check from reaching a private address.
    target = asyncio.run(HttpDestinations().check("https://93.184.215.14:8443/a?b=1"))
    assert (target.url, target.host_header) == ("https://93.184.215.14:8443/a?b=1",
                                                "93.184.215.14:8443")  # fmt: skip
    allowed = asyncio.run(HttpDestinations.allowing(["LocalHost"]).check("http://localhost/"))
    assert allowed.url == "http://localhost/" and allowed.host_header is None
