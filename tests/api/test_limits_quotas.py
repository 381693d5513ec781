"""AWS's payload, Map and tag quotas, and EXPRESS's time limit and SIGTERM, on a real
``sagaway serve``."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.api.serve_kit import ServeProcess, machine, wait_end

ACCOUNT = "arn:aws:lambda:us-east-1:111111111111:function:"
# Each state's output, and a state's input after Parameters, are held to 256 KiB.
DOUBLES = json.dumps({"StartAt": "Big", "States": {
    "Big": {"Type": "Task", "Resource": ACCOUNT + "big_result", "Next": "Twice"},
    "Twice": {"Type": "Pass", "Parameters": {"a.$": "$", "b.$": "$"}, "End": True}}})  # fmt: skip
CAUGHT = json.dumps({"StartAt": "Both", "States": {
    "Both": {"Type": "Parallel", "Next": "Ok", "Branches": [{"StartAt": "Twice", "States": {
        "Twice": {"Type": "Pass", "Parameters": {"a.$": "$", "b.$": "$"}, "End": True}}}],
             "Catch": [{"ErrorEquals": ["States.DataLimitExceeded"], "Next": "Caught",
                        "ResultPath": None}]},
    "Ok": {"Type": "Succeed"}, "Caught": {"Type": "Succeed"}}})  # fmt: skip
MAP = json.dumps({"StartAt": "Each", "States": {"Each": {
    "Type": "Map", "ItemsPath": "$.items", "End": True,
    "ItemProcessor": {"StartAt": "P",
                      "States": {"P": {"Type": "Pass", "End": True}}}}}})  # fmt: skip
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


def test_payload_map_and_tag_quotas(tmp_path: Path) -> None:
    with ServeProcess(tmp_path / "quota.db") as server:
        sfn = server.sfn()
        doubles = machine(sfn, "doubles", DOUBLES)
        small = sfn.start_execution(stateMachineArn=doubles, input='{"bytes": 1000}')
        assert wait_end(sfn, small["executionArn"])["status"] == "SUCCEEDED"
        big = sfn.start_execution(stateMachineArn=doubles, input='{"bytes": 200000}')
        ended = wait_end(sfn, big["executionArn"])
        assert ended["status"] == "FAILED"
        assert ended["error"] == "States.DataLimitExceeded"
        assert "Twice" in ended["cause"]

        caught = machine(sfn, "caught", CAUGHT)
        text = json.dumps({"blob": "y" * 150_000})
        done = sfn.start_execution(stateMachineArn=caught, input=text)
        assert wait_end(sfn, done["executionArn"])["status"] == "SUCCEEDED"
        steps = sfn.get_execution_history(executionArn=done["executionArn"])["events"]
        assert "Caught" in [e.get("stateEnteredEventDetails", {}).get("name") for e in steps]

        # A Map over 100,000 items: the history quota ends it; the server keeps answering
        # and the journal stays small.
        each = machine(sfn, "each", MAP)
        items = json.dumps({"items": [0] * 100_000}, separators=(",", ":"))
        latencies: list[float] = []
        ending = threading.Event()

        def list_meanwhile() -> None:
            other = server.sfn()
            while not ending.is_set():
                t0 = time.monotonic()
                other.list_state_machines()
                latencies.append(time.monotonic() - t0)

        lister = threading.Thread(target=list_meanwhile)
        lister.start()
        began = time.monotonic()
        mapped = sfn.start_execution(stateMachineArn=each, input=items)["executionArn"]
        ended = wait_end(sfn, mapped)
        ending.set()
        lister.join()
        slowest = max(latencies)
        took = time.monotonic() - began
        size = sum(f.stat().st_size for f in tmp_path.glob("quota.db*"))
        print(f"Map of 100,000 ended {ended['status']} in {took:.1f} s; slowest "
              f"ListStateMachines {slowest:.3f} s; journal {size / 2**20:.1f} MiB")  # fmt: skip
        assert ended["status"] == "FAILED"
        assert "maximum number of history events" in ended["cause"]
        assert slowest < 2.0
        assert size < 100 * 2**20

        plain = machine(sfn, "plain", PASS)
        fifty = [{"key": f"k{i}", "value": "v"} for i in range(50)]
        sfn.tag_resource(resourceArn=plain, tags=fifty)
        with pytest.raises(ClientError) as raised:
            sfn.tag_resource(resourceArn=plain, tags=[{"key": "one-more", "value": "v"}])
        assert raised.value.response["Error"]["Code"] == "TooManyTags"
        assert raised.value.response["resourceName"] == plain
        assert len(sfn.list_tags_for_resource(resourceArn=plain)["tags"]) == 50
        with pytest.raises(ClientError) as raised:
            sfn.create_state_machine(name="tagged", definition=PASS, roleArn=ACCOUNT,
                                     tags=[*fifty, {"key": "k50", "value": "v"}])  # fmt: skip
        assert raised.value.response["Error"]["Code"] == "TooManyTags"


WAITS = json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600,
                                                      "End": True}}})  # fmt: skip
SLEEPS = json.dumps({"StartAt": "S", "States": {"S": {
    "Type": "Task", "Resource": ACCOUNT + "sleeps", "End": True}}})  # fmt: skip


def _abandoned_sync_call(http: httpx.Client, sfn: Any, arn: str, nth: int) -> None:
    body = json.dumps({"stateMachineArn": arn, "input": "{}"}).encode()
    port = http.base_url.port
    assert port is not None
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode()
            + b"Content-Type: application/x-amz-json-1.0\r\n"
            b"X-Amz-Target: AWSStepFunctions.StartSyncExecution\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        # The call has started its execution (the machine's nth); then the client goes away.
        _until(lambda: _started(http, sfn, arn) >= nth)


def _started(http: httpx.Client, sfn: Any, arn: str) -> int:
    """How many executions of ``arn`` have started: those ended (listed), then those still
    running (the open gauge), read in that order so that one ending in between is missed
    rather than counted twice. EXPRESS executions are listed once they end."""
    ended = len(sfn.list_executions(stateMachineArn=arn, maxResults=1000)["executions"])
    metrics = http.get("/metrics").text
    gauge = f'sagaway_executions_open{{state_machine="{arn.rsplit(":", 1)[1]}"}} '
    running = [float(line[len(gauge) :]) for line in metrics.splitlines() if gauge in line]
    return ended + int(sum(running))


def _executions(sfn: Any, arn: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = sfn.list_executions(stateMachineArn=arn, maxResults=1000)[
        "executions"
    ]
    return listed


def _until(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def _quietly(server: ServeProcess, machine_arn: str | None, activity: str | None) -> None:
    # The server goes away under these calls: any outcome is fine, only the exit is timed.
    sfn = server.sfn(read_timeout=60)
    with contextlib.suppress(Exception):
        if machine_arn is not None:
            sfn.start_sync_execution(stateMachineArn=machine_arn, input="{}")
        else:
            sfn.get_activity_task(activityArn=activity)


def test_express_time_limit_gone_clients_and_sigterm(tmp_path: Path) -> None:
    with ServeProcess(tmp_path / "express.db", "--express-max-seconds", "2") as server:
        sfn = server.sfn()
        waits = machine(sfn, "waits", WAITS, "EXPRESS")
        began = time.monotonic()
        answer = sfn.start_sync_execution(stateMachineArn=waits, input="{}")
        assert answer["status"] == "TIMED_OUT"
        assert "error" not in answer  # AWS names an error for FAILED executions only
        assert 1.5 < time.monotonic() - began < 5

        before = server.rss_mib()
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}") as http:
            for n in range(200):  # each one's execution is the machine's (n + 2)th
                _abandoned_sync_call(http, sfn, waits, n + 2)
        # Every abandoned execution reaches its time limit (2 s after its start); EXPRESS
        # executions are listed once they have ended.
        _until(lambda: len(_executions(sfn, waits)) >= 201)
        listed = _executions(sfn, waits)
        assert len(listed) == 201 and {e["status"] for e in listed} == {"TIMED_OUT"}
        after = server.rss_mib()
        sleeps = machine(sfn, "sleeps", SLEEPS)  # STANDARD: its handler blocks a thread
        sfn.start_execution(stateMachineArn=sleeps, input='{"seconds": 600}')
        activity = sfn.create_activity(name="nobody-works")["activityArn"]
        # Requests still open when SIGTERM comes: sync calls and activity long polls.
        callers = [threading.Thread(target=_quietly, args=(server, waits, None))
                   for _ in range(10)]  # fmt: skip
        callers += [threading.Thread(target=_quietly, args=(server, None, activity))
                    for _ in range(5)]  # fmt: skip
        for caller in callers:
            caller.start()
        time.sleep(0.5)
        took = server.terminate()
    for caller in callers:
        caller.join(timeout=60)
    print(f"200 abandoned sync calls: RSS {before:.0f} -> {after:.0f} MiB; SIGTERM with 15 "
          f"open calls and a blocked handler: exited in {took:.2f} s")  # fmt: skip
    assert after - before < 50
    assert took < 5
