"""Handlers that end their process, hang, or would stampede a fragile downstream, run by real
`sagaway serve` processes (handlers loaded by path, boto3 as the client): each fails only
its own Task, with the error AWS reports, and the server keeps serving."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.api.cluster_kit import answers, eventually
from tests.api.conftest import ROLE, client, free_port

FUNCTIONS = str(Path(__file__).with_name("fault_functions.py"))


class Serve:
    """One `sagaway serve` process on the SQLite journal ``db``."""

    def __init__(self, tmp: Path, *options: str) -> None:
        self.tmp = tmp
        self.log_path = tmp / "serve.log"
        port = free_port()
        command = [
            sys.executable, "-m", "sagaway", "serve", "--db", f"sqlite:///{tmp / 'j.db'}",
            "--port", str(port), "--functions", FUNCTIONS, *options,
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
        self.sfn = client(f"http://127.0.0.1:{port}")

    def ready(self) -> Serve:
        eventually(lambda: answers(self.sfn) or self.proc.poll() is not None, 30, self.log)
        assert self.proc.poll() is None, self.log()
        return self

    def log(self) -> str:
        state = "running" if self.proc.poll() is None else f"exited {self.proc.returncode}"
        return f"serve ({state}): {self.log_path.read_text()[-3000:]}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def serve(tmp_path: Path) -> Any:
    started: list[Serve] = []

    def start(*options: str) -> Serve:
        server = Serve(tmp_path, *options)
        started.append(server)
        return server.ready()

    yield start
    for server in started:
        server.stop()


def lam(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:111111111111:function:{name}"


def machine(sfn: Any, name: str, states: dict[str, Any], start: str = "T") -> str:
    definition = {"StartAt": start, "States": states}
    created = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)
    return str(created["stateMachineArn"])


def one_task(sfn: Any, function: str, **task: Any) -> str:
    return machine(sfn, function, {"T": {"Type": "Task", "Resource": lam(function), "End": True,
                                         **task}})  # fmt: skip


def finished(sfn: Any, arn: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.05)


def run(sfn: Any, machine_arn: str, payload: Any, timeout: float = 30) -> dict[str, Any]:
    arn = sfn.start_execution(stateMachineArn=machine_arn, input=json.dumps(payload))
    return finished(sfn, arn["executionArn"], timeout)


def assert_exit_error(described: dict[str, Any], reason: str) -> None:
    assert described["status"] == "FAILED", described
    assert described["error"] == "Lambda.Unknown"
    document = json.loads(described["cause"])
    assert document["errorType"] == "Runtime.ExitError"
    assert document["errorMessage"].startswith("RequestId: ")
    assert document["errorMessage"].endswith(f"Error: {reason}"), document


@pytest.mark.parametrize("isolation", ["thread", "process"])
def test_a_handler_that_exits_fails_its_task_and_the_server_keeps_serving(
    serve: Any, isolation: str
) -> None:
    server = serve("--isolation", isolation)
    sfn = server.sfn
    exits, interrupts = one_task(sfn, "exits"), one_task(sfn, "interrupts")
    quick = one_task(sfn, "quick")
    assert_exit_error(run(sfn, exits, {"code": 3}), "Runtime exited with error: exit status 3")
    assert_exit_error(run(sfn, exits, {"code": None}), "Runtime exited without providing a reason")
    assert_exit_error(run(sfn, interrupts, {}), "Runtime exited with error: signal: interrupt")
    answered = run(sfn, quick, {})
    assert answered["status"] == "SUCCEEDED", answered
    assert server.proc.poll() is None, server.log()
    in_sandbox = json.loads(answered["output"])["pid"] != server.proc.pid
    assert in_sandbox == (isolation == "process")


def test_os_exit_in_a_sandbox_fails_only_its_task_and_the_sandbox_is_replaced(
    serve: Any, tmp_path: Path
) -> None:
    server = serve("--isolation", "process")
    sfn = server.sfn
    hard_exit, quick = one_task(sfn, "hard_exit"), one_task(sfn, "quick")
    calls = tmp_path / "calls.txt"
    for _ in range(2):
        described = run(sfn, hard_exit, {"calls": str(calls), "code": 7})
        assert_exit_error(described, "Runtime exited with error: exit status 7")
    pids = calls.read_text().split()
    assert len(pids) == 2 and pids[0] != pids[1]  # each death took its sandbox with it
    assert run(sfn, quick, {})["status"] == "SUCCEEDED"
    assert server.proc.poll() is None, server.log()


def test_a_sandbox_whose_task_times_out_is_killed(serve: Any, tmp_path: Path) -> None:
    sfn = serve("--isolation", "process").sfn
    mark = tmp_path / "woke.txt"
    described = run(sfn, one_task(sfn, "hang", TimeoutSeconds=1), {"seconds": 2, "mark": str(mark)})
    assert (described["status"], described["error"]) == ("FAILED", "States.Timeout")
    time.sleep(2.0)
    assert not mark.exists()  # in a thread it would have woken; a killed sandbox does not
    assert run(sfn, one_task(sfn, "quick"), {})["status"] == "SUCCEEDED"


def test_recovery_does_not_rerun_an_os_exit_handler_in_a_loop(serve: Any, tmp_path: Path) -> None:
    """In-process, os._exit ends the server; recovery re-invokes the Task once in-process (a
    crash must not lose it). When the server dies again during that same attempt, the next
    start runs the attempt in a sandbox, where the exit fails only the Task."""
    calls = tmp_path / "calls.txt"
    first = serve()
    hard_exit = one_task(first.sfn, "hard_exit")
    payload = json.dumps({"calls": str(calls), "code": 7})
    arn = first.sfn.start_execution(stateMachineArn=hard_exit, input=payload)["executionArn"]
    assert first.proc.wait(timeout=30) == 7, first.log()
    second = Serve(tmp_path)  # recovery re-invokes the handler, which ends this one too
    assert second.proc.wait(timeout=30) == 7, second.log()
    third = serve()
    assert_exit_error(finished(third.sfn, arn), "Runtime exited with error: exit status 7")
    pids = calls.read_text().split()
    assert pids[:2] == [str(first.proc.pid), str(second.proc.pid)]
    assert len(pids) == 3 and pids[2] != str(third.proc.pid)  # the third call: in a sandbox
    assert run(third.sfn, one_task(third.sfn, "quick"), {})["status"] == "SUCCEEDED"
    assert third.proc.poll() is None, third.log()


def test_sync_handlers_that_time_out_do_not_starve_later_ones(serve: Any) -> None:
    server = serve()
    sfn = server.sfn
    hung = machine(sfn, "hung", {"M": {
        "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 0, "End": True,
        "ItemProcessor": {"StartAt": "H", "States": {"H": {
            "Type": "Task", "Resource": lam("hang"), "TimeoutSeconds": 1, "End": True,
            "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "TimedOut"}]},
            "TimedOut": {"Type": "Pass", "Result": "timed out", "End": True}}},
    }}, start="M")  # fmt: skip
    items = [{"seconds": 60}] * 20
    described = run(sfn, hung, {"items": items})
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == ["timed out"] * 20
    began = time.monotonic()
    assert run(sfn, one_task(sfn, "quick"), {})["status"] == "SUCCEEDED"
    assert time.monotonic() - began < 5.0  # starved, it would wait for the 60 s sleeps
    stopping = time.monotonic()
    server.stop()  # twenty handlers still sleep: they must not hold up the exit
    assert server.proc.returncode is not None
    assert time.monotonic() - stopping < 10


@pytest.mark.parametrize("isolation", ["thread", "process"])
def test_reserved_concurrency_throttles_as_lambda_does(
    serve: Any, tmp_path: Path, isolation: str
) -> None:
    sfn = serve("--isolation", isolation).sfn
    retry = {"ErrorEquals": ["Lambda.TooManyRequestsException"], "IntervalSeconds": 1,
             "MaxAttempts": 30, "BackoffRate": 1.0, "JitterStrategy": "FULL"}  # fmt: skip
    fan_out = machine(sfn, "fan-out", {"M": {
        "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 0, "End": True,
        "ItemSelector": {"item.$": "$$.Map.Item.Value", "counter.$": "$.counter"},
        "ItemProcessor": {"StartAt": "G", "States": {"G": {
            "Type": "Task", "Resource": lam("guarded"), "Retry": [retry], "End": True}}},
    }}, start="M")  # fmt: skip
    counter = tmp_path / f"counter-{isolation}.json"
    arn = sfn.start_execution(
        stateMachineArn=fan_out, input=json.dumps({"items": [1, 2, 3, 4], "counter": str(counter)})
    )["executionArn"]
    described = finished(sfn, arn, timeout=60)
    assert described["status"] == "SUCCEEDED", described
    assert [r["item"] for r in json.loads(described["output"])] == [1, 2, 3, 4]
    assert json.loads(counter.read_text()) == {"now": 0, "max": 1}
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    throttles = [
        e["lambdaFunctionFailedEventDetails"] for e in events
        if e["type"] == "LambdaFunctionFailed"
    ]  # fmt: skip
    assert throttles, "four at once against a reserved concurrency of one: some throttled"
    assert {t["error"] for t in throttles} == {"Lambda.TooManyRequestsException"}
    assert "Status Code: 429; Error Code: TooManyRequestsException" in throttles[0]["cause"]
