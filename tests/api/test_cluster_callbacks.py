"""Task answers and stops across processes: real servers and a worker on one PostgreSQL
database (a fresh schema of the test server, dropped afterwards).

Server A starts executions that wait for a task token; server B, which does not run them,
answers them (SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat) and stops one: B
records each call in the journal and A, the owner, applies it. Then A is frozen, B answers
an execution of A's, and A is killed: the worker that takes A's executions over applies the
answer recorded while A was dead, and runs the other's callback when a new server answers.
"""

from __future__ import annotations

import json
import signal
import time
from typing import Any

import psycopg
import pytest
from botocore.exceptions import ClientError

from tests.api.cluster_kit import Cluster, eventually
from tests.api.cluster_kit import owners as owners_of
from tests.api.conftest import ROLE
from tests.api.test_callbacks import callback_machine, scheduled_token
from tests.api.test_executions import wait_done
from tests.api.test_machines import error_code


def _start(sfn: Any, machine_arn: str, name: str) -> tuple[str, str]:
    """(execution ARN, task token) of a new execution waiting for its token."""
    arn: str = sfn.start_execution(stateMachineArn=machine_arn, name=name)["executionArn"]
    return arn, scheduled_token(sfn, arn)


def _code(call: Any, **params: Any) -> str:
    with pytest.raises(ClientError) as info:
        call(**params)
    return error_code(info)


def _row(url: str, arn: str) -> tuple[str, str | None, str | None]:
    """(status, output, owner) of an execution, read from the database."""
    with psycopg.connect(url) as conn:
        query = "SELECT status, output, owner FROM executions WHERE arn = %s"
        row = conn.execute(query, (arn,)).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


def _deliveries(url: str) -> int:
    with psycopg.connect(url) as conn:
        (count,) = conn.execute("SELECT count(*) FROM deliveries").fetchone() or (0,)
    return int(count)


def test_another_server_answers_and_stops_executions(cluster: Cluster) -> None:
    a, b = cluster.server("api-a"), cluster.server("api-b")
    machine = a.create_state_machine(name="cb", definition=callback_machine(),
                                     roleArn=ROLE)["stateMachineArn"]  # fmt: skip
    beating = a.create_state_machine(name="beat", definition=callback_machine(heartbeat=2),
                                     roleArn=ROLE)["stateMachineArn"]  # fmt: skip
    ok = [_start(a, machine, f"ok-{i}") for i in range(3)]
    failed = [_start(a, machine, f"fail-{i}") for i in range(3)]
    stopped, _ = _start(a, machine, "stop")
    beat, beat_token = _start(a, beating, "beat")
    owners = owners_of(cluster.url)
    assert set(owners.values()) == {"api-a"}, owners  # B runs none of them

    for i, (_, token) in enumerate(ok):
        b.send_task_success(taskToken=token, output=json.dumps({"i": i}))
    # Answered once: refused while the answer waits for A, and after A applied it.
    assert _code(b.send_task_success, taskToken=ok[0][1], output="{}") == "TaskTimedOut"
    for i, (_, token) in enumerate(failed):
        b.send_task_failure(taskToken=token, error=f"E{i}", cause=f"cause {i}")
    b.stop_execution(executionArn=stopped, error="Halt", cause="stopped through B")
    # HeartbeatSeconds is 2: only heartbeats that reach A keep the task alive this long.
    for _ in range(8):
        b.send_task_heartbeat(taskToken=beat_token)
        time.sleep(0.5)
    b.send_task_success(taskToken=beat_token, output='{"beat": true}')

    for i, (arn, _) in enumerate(ok):
        described = wait_done(b, arn)
        assert described["status"] == "SUCCEEDED", described
        assert json.loads(described["output"]) == {"i": i}
    for i, (arn, _) in enumerate(failed):
        described = wait_done(b, arn)
        assert (described["status"], described["error"], described["cause"]) == (
            "FAILED", f"E{i}", f"cause {i}",
        )  # fmt: skip
    described = wait_done(b, stopped)
    assert (described["status"], described["error"], described["cause"]) == (
        "ABORTED", "Halt", "stopped through B",
    )  # fmt: skip
    described = wait_done(b, beat)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"beat": True}

    assert _code(b.send_task_success, taskToken=ok[1][1], output="{}") == "TaskTimedOut"
    assert _code(b.send_task_failure, taskToken=failed[0][1]) == "TaskTimedOut"
    assert _code(b.send_task_success, taskToken="garbage!", output="{}") == "InvalidToken"
    forged = ok[2][1][:-4] + ("AAAA" if not ok[2][1].endswith("AAAA") else "BBBB")
    assert _code(b.send_task_heartbeat, taskToken=forged) == "InvalidToken"
    missing = stopped.replace(":stop", ":nobody")
    assert _code(b.stop_execution, executionArn=missing) == "ExecutionDoesNotExist"
    eventually(lambda: _deliveries(cluster.url) == 0, 10, lambda: "deliveries left behind")


def test_a_worker_applies_an_answer_recorded_while_the_owner_was_dead(
    cluster: Cluster,
) -> None:
    a, b = cluster.server("api-a"), cluster.server("api-b")
    machine = a.create_state_machine(name="cb", definition=callback_machine(),
                                     roleArn=ROLE)["stateMachineArn"]  # fmt: skip
    answered, answered_token = _start(a, machine, "answered-while-dead")
    later, later_token = _start(a, machine, "answered-later")
    cluster.procs["api-a"].send_signal(signal.SIGSTOP)  # A can no longer apply anything
    b.send_task_success(taskToken=answered_token, output='{"late": true}')
    assert _deliveries(cluster.url) == 1  # durable before B answered
    cluster.procs["api-a"].kill()
    cluster.procs["api-a"].wait()
    cluster.stop("api-b")  # so that the worker is the one that takes A's executions over

    cluster.worker("w1")
    eventually(lambda: _row(cluster.url, answered)[0] == "SUCCEEDED", 20,
                lambda: cluster.log("w1", cluster.procs["w1"]))  # fmt: skip
    _, output, owner = _row(cluster.url, answered)
    assert (json.loads(output or "null"), owner) == ({"late": True}, "w1")
    # The other execution's lease may end a little later (it was journaled after a renewal
    # of the first's), so the worker may claim it on a later round.
    eventually(lambda: _row(cluster.url, later)[::2] == ("RUNNING", "w1"), 20,
                lambda: cluster.log("w1", cluster.procs["w1"]))  # fmt: skip

    c = cluster.server("api-c")  # the worker runs the callback task: C's answer reaches it
    c.send_task_success(taskToken=later_token, output='{"later": true}')
    described = wait_done(c, later)
    assert described["status"] == "SUCCEEDED", cluster.log("w1", cluster.procs["w1"])
    assert json.loads(described["output"]) == {"later": True}
    eventually(lambda: _deliveries(cluster.url) == 0, 10, lambda: "deliveries left behind")
