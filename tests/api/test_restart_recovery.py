"""A `sagaway serve` process killed with many executions open answers at once when started
again: it resumes them in the background (/readyz 503 until done, then 200), and the
executions that cannot be resumed fail alone while the others finish."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from tests.api.cluster_kit import eventually
from tests.api.conftest import ROLE, client, free_port

OPEN = 1500  # executions waiting when the server is killed
# Each one carries it, and random hex does not compress away: resuming them takes a while (tens
# of ms since snapshots refer to stored payloads), so the restarted server is seen answering
# before it is ready.
PAYLOAD = random.Random(3).randbytes(10_000).hex()
WAITING = json.dumps({
    "StartAt": "W",
    "States": {"W": {"Type": "Wait", "Seconds": 4, "Next": "Done"},
               "Done": {"Type": "Pass", "End": True}},
})  # fmt: skip


def serve(db: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "sagaway", "serve", "--db", f"sqlite:///{db}",
               "--port", str(port)]  # fmt: skip
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=db.parent)


Answer = tuple[int, dict[str, Any]]


def probe(port: int, path: str, http: httpx.Client | None = None) -> Answer | None:
    url = f"http://127.0.0.1:{port}{path}"
    try:
        answer = http.get(url, timeout=30) if http else httpx.get(url, timeout=30)
    except httpx.TransportError:
        return None
    return answer.status_code, answer.json()


def _start_many(sfn: Any, machine: str) -> list[str]:
    body = json.dumps({"blob": PAYLOAD})

    def one(i: int) -> str:
        arn: str = sfn.start_execution(stateMachineArn=machine, name=f"e{i}", input=body)[
            "executionArn"
        ]
        return arn

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(OPEN)))


def _poison(db: Path, arns: list[str]) -> None:
    """Two open executions that can no longer be resumed, as after an upgrade or a bad hand
    edit: one whose saved state does not decode, one whose definition no longer parses."""
    edits = ["state = x'00ff'", "definition = '{\"StartAt\":'"]
    with sqlite3.connect(db) as conn:
        for edit, arn in zip(edits, arns, strict=True):
            query = f"UPDATE executions SET {edit} WHERE arn = ? AND status = 'RUNNING'"
            assert conn.execute(query, (arn,)).rowcount == 1


def test_a_killed_server_answers_at_once_and_resumes_in_the_background(tmp_path: Path) -> None:
    db, port, log = tmp_path / "journal.db", free_port(), tmp_path / "serve.log"
    first = serve(db, port, log)
    sfn = client(f"http://127.0.0.1:{port}")
    eventually(lambda: probe(port, "/readyz") == (200, {"status": "ready"}), 30, log.read_text)
    machine = sfn.create_state_machine(name="waits", definition=WAITING, roleArn=ROLE)
    arns = _start_many(sfn, machine["stateMachineArn"])
    first.send_signal(signal.SIGKILL)
    first.wait()
    poisoned = arns[-2:]  # the last started: still waiting when the server is killed
    _poison(db, poisoned)

    second = serve(db, port, log)
    try:
        launched = time.monotonic()
        answers: list[Answer] = []
        # The port listens from before the journal is opened: a probe that connects then
        # waits (30 s at most) and is answered as soon as the server serves, while it still
        # resumes the open executions. Refused until then: probe again at once.
        with httpx.Client() as http:
            while not answers or answers[-1][0] != 200:
                assert time.monotonic() - launched < 60, (answers[-3:], log.read_text()[-3000:])
                answer = probe(port, "/readyz", http)
                if answer is not None:
                    answers.append(answer)
                    assert probe(port, "/healthz", http) == (200, {"status": "alive"})
                time.sleep(0.001)
        statuses = [status for status, _ in answers]
        assert statuses[0] == 503 and "recovering" in answers[0][1]["reason"], answers[:3]
        assert set(statuses) == {503, 200}
        # Answers API calls while it recovers, and every execution reaches its end.
        ended = _wait_all(sfn, arns)
        assert {arn for arn, status in ended.items() if status != "SUCCEEDED"} == set(poisoned)
        for arn in poisoned:
            failed = sfn.describe_execution(executionArn=arn)
            assert (failed["status"], failed["error"]) == ("FAILED", "States.Runtime")
            assert "could not resume" in failed["cause"]
            events = sfn.get_execution_history(executionArn=arn, reverseOrder=True)["events"]
            assert events[0]["type"] == "ExecutionFailed"
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)


def _wait_all(sfn: Any, arns: list[str], timeout: float = 90) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    statuses: dict[str, str] = {}
    while True:
        pages = sfn.get_paginator("list_executions").paginate(
            stateMachineArn=arns[0].rsplit(":", 1)[0].replace(":execution:", ":stateMachine:")
        )
        statuses = {e["executionArn"]: e["status"] for p in pages for e in p["executions"]}
        if len(statuses) == len(arns) and "RUNNING" not in statuses.values():
            return statuses
        assert time.monotonic() < deadline, sum(s == "RUNNING" for s in statuses.values())
        time.sleep(0.5)


RUNAWAY_BEHIND_A_WAIT = json.dumps({
    "QueryLanguage": "JSONata",
    "StartAt": "W",
    "States": {
        "W": {"Type": "Wait", "Seconds": 2, "Next": "Loop"},
        "Loop": {"Type": "Pass", "End": True,
                 "Output": {"v": "{% ($f := function($x){ $f($x + 1) }; $f(1)) %}"}},
    },
})  # fmt: skip


def test_a_runaway_execution_behind_a_wait_fails_alone_after_a_kill(tmp_path: Path) -> None:
    """The poisoned execution of a crash loop: its Wait falls due during recovery, and its
    next state evaluates without end. The restarted server still answers, the runaway fails
    with its evaluator's error, and the executions beside it finish."""
    db, port, log = tmp_path / "journal.db", free_port(), tmp_path / "serve.log"
    first = serve(db, port, log)
    sfn = client(f"http://127.0.0.1:{port}")
    eventually(lambda: probe(port, "/readyz") == (200, {"status": "ready"}), 30, log.read_text)
    runaway = sfn.create_state_machine(name="runaway", definition=RUNAWAY_BEHIND_A_WAIT,
                                       roleArn=ROLE)["stateMachineArn"]  # fmt: skip
    waits = sfn.create_state_machine(name="waits", definition=WAITING, roleArn=ROLE)
    poisoned = sfn.start_execution(stateMachineArn=runaway, name="poison")["executionArn"]
    others = [sfn.start_execution(stateMachineArn=waits["stateMachineArn"], name=f"w{i}")[
        "executionArn"] for i in range(20)]  # fmt: skip
    first.send_signal(signal.SIGKILL)
    first.wait()
    time.sleep(2)  # the runaway's Wait is due when the server comes back

    second = serve(db, port, log)
    try:
        eventually(lambda: probe(port, "/healthz") is not None, 30, log.read_text)
        began = time.monotonic()
        sfn.list_state_machines()  # answered while the runaway is resumed and evaluated
        assert time.monotonic() - began < 5
        assert set(_wait_all(sfn, others).values()) == {"SUCCEEDED"}
        ended = _wait_all(sfn, [poisoned])
        assert ended == {poisoned: "FAILED"}
        failed = sfn.describe_execution(executionArn=poisoned)
        assert failed["error"] == "States.QueryEvaluationError"
        assert probe(port, "/readyz") == (200, {"status": "ready"})
        assert "Traceback" not in log.read_text()
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
