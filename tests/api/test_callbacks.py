"""waitForTaskToken callbacks and activities through boto3 against a real server."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import Server, client
from tests.api.test_executions import machine, wait_done
from tests.api.test_machines import error_code


def callback_machine(heartbeat: int | None = None) -> str:
    task: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}},
        "End": True,
    }
    if heartbeat:
        task["HeartbeatSeconds"] = heartbeat
    return json.dumps({"StartAt": "Send", "States": {"Send": task}})


def scheduled_token(sfn: Any, arn: str) -> str:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for event in sfn.get_execution_history(executionArn=arn)["events"]:
            if event["type"] == "TaskScheduled":
                params = json.loads(event["taskScheduledEventDetails"]["parameters"])
                token: str = params["MessageBody"]["token"]
                return token
        time.sleep(0.02)
    raise AssertionError("no TaskScheduled event")


def test_send_task_success_resumes_the_execution(sfn: Any) -> None:
    arn = machine(sfn, "cb", callback_machine())
    ex = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    token = scheduled_token(sfn, ex)
    assert "root@" not in token  # opaque, not the interpreter's attempt id
    sfn.send_task_heartbeat(taskToken=token)
    sfn.send_task_success(taskToken=token, output='{"done": true}')
    described = wait_done(sfn, ex)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"done": True}
    types = [e["type"] for e in sfn.get_execution_history(executionArn=ex)["events"]]
    assert types[2:6] == ["TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded"]
    with pytest.raises(ClientError) as info:  # answered already
        sfn.send_task_success(taskToken=token, output="{}")
    assert error_code(info) == "TaskTimedOut"


def test_send_task_failure_and_bad_tokens(sfn: Any) -> None:
    arn = machine(sfn, "cbf", callback_machine())
    ex = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    token = scheduled_token(sfn, ex)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(ClientError) as info:
        sfn.send_task_success(taskToken=forged, output="{}")
    assert error_code(info) == "InvalidToken"
    with pytest.raises(ClientError) as info:
        sfn.send_task_success(taskToken="garbage!", output="{}")
    assert error_code(info) == "InvalidToken"
    with pytest.raises(ClientError) as info:
        sfn.send_task_success(taskToken=token, output="{not json")
    assert error_code(info) == "InvalidOutput"
    sfn.send_task_failure(taskToken=token, error="Nope", cause="because")
    described = wait_done(sfn, ex)
    assert (described["status"], described["error"], described["cause"]) == (
        "FAILED", "Nope", "because",
    )  # fmt: skip


def test_missed_heartbeat_times_the_task_out(sfn: Any) -> None:
    arn = machine(sfn, "hb", callback_machine(heartbeat=1))
    ex = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    described = wait_done(sfn, ex, timeout=10)
    # AWS reports a missed heartbeat as States.Timeout (the recorded corpus shows it).
    assert (described["status"], described["error"]) == ("FAILED", "States.Timeout")


def test_token_survives_a_restart(tmp_path: Any) -> None:
    from tests.api.conftest import registry

    db = tmp_path / "restart.db"
    with Server(db, registry()) as first:
        sfn = client(first.url)
        arn = machine(sfn, "cbr", callback_machine())
        ex = sfn.start_execution(stateMachineArn=arn)["executionArn"]
        token = scheduled_token(sfn, ex)
    with Server(db, registry()) as second:
        sfn = client(second.url)
        sfn.send_task_success(taskToken=token, output='{"after": "restart"}')
        assert json.loads(wait_done(sfn, ex)["output"]) == {"after": "restart"}


def activity_machine(activity_arn: str) -> str:
    task = {"Type": "Task", "Resource": activity_arn, "End": True}
    return json.dumps({"StartAt": "Work", "States": {"Work": task}})


def test_activity_worker_round_trip(sfn: Any) -> None:
    activity = sfn.create_activity(name="worker-queue")["activityArn"]
    assert sfn.create_activity(name="worker-queue")["activityArn"] == activity
    assert sfn.describe_activity(activityArn=activity)["name"] == "worker-queue"
    assert [a["name"] for a in sfn.list_activities()["activities"]] == ["worker-queue"]
    arn = machine(sfn, "act", activity_machine(activity))
    ex = sfn.start_execution(stateMachineArn=arn, input='{"job": 7}')["executionArn"]
    task = sfn.get_activity_task(activityArn=activity, workerName="w1")
    assert json.loads(task["input"]) == {"job": 7}
    sfn.send_task_success(taskToken=task["taskToken"], output='{"result": 49}')
    assert json.loads(wait_done(sfn, ex)["output"]) == {"result": 49}
    events = sfn.get_execution_history(executionArn=ex)["events"]
    assert [e["type"] for e in events][2:5] == [
        "ActivityScheduled", "ActivityStarted", "ActivitySucceeded",
    ]  # fmt: skip
    assert events[3]["activityStartedEventDetails"] == {"workerName": "w1"}
    sfn.delete_activity(activityArn=activity)
    with pytest.raises(ClientError) as info:
        sfn.describe_activity(activityArn=activity)
    assert error_code(info) == "ActivityDoesNotExist"


def test_long_poll_waits_then_answers_empty(sfn: Any) -> None:
    activity = sfn.create_activity(name="idle")["activityArn"]
    started = time.monotonic()
    answer = sfn.get_activity_task(activityArn=activity)
    assert "taskToken" not in answer
    assert time.monotonic() - started >= 1.5  # the fixture's poll timeout is 2 s


def test_long_poll_gets_a_task_scheduled_while_it_waits(sfn: Any, server: Server) -> None:
    activity = sfn.create_activity(name="later")["activityArn"]
    arn = machine(sfn, "later", activity_machine(activity))
    got: dict[str, Any] = {}

    def poll() -> None:
        got.update(client(server.url).get_activity_task(activityArn=activity))

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.3)
    ex = sfn.start_execution(stateMachineArn=arn, input='{"n": 1}')["executionArn"]
    poller.join(timeout=10)
    assert json.loads(got["input"]) == {"n": 1}
    sfn.send_task_failure(taskToken=got["taskToken"], error="Worker.Failed")
    assert wait_done(sfn, ex)["error"] == "Worker.Failed"


def test_get_activity_task_for_a_missing_activity(sfn: Any) -> None:
    with pytest.raises(ClientError) as info:
        sfn.get_activity_task(activityArn="arn:aws:states:us-east-1:111111111111:activity:nope")
    assert error_code(info) == "ActivityDoesNotExist"


def test_a_task_on_a_deleted_activity_fails_the_execution(sfn: Any) -> None:
    # AWS: States.Runtime, not a task that waits forever for a worker.
    activity = sfn.create_activity(name="gone")["activityArn"]
    sfn.delete_activity(activityArn=activity)
    arn = machine(sfn, "gone", activity_machine(activity))
    failed = wait_done(sfn, sfn.start_execution(stateMachineArn=arn)["executionArn"])
    assert (failed["status"], failed["error"]) == ("FAILED", "States.Runtime")
    assert failed["cause"] == (
        "An error occurred while executing the state 'Work' (entered at the event id #2). "
        f"The activity {activity} does not exist."
    )
