"""A runaway expression fails its own execution; the server and every other caller go on."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from tests.api.cluster_kit import eventually
from tests.api.serve_process import serve_process

ROLE = "arn:aws:iam::123456789012:role/r"
LOOP = "($f := function($x){ $f($x + 1) }; $f(1))"


def _machine(sfn: Any, name: str, definition: dict[str, Any]) -> str:
    created = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)
    arn: str = created["stateMachineArn"]
    return arn


def _runaways(sfn: Any) -> dict[str, str]:
    """State machines whose first state evaluates without end, one per kind of expression."""
    jsonata = {
        "QueryLanguage": "JSONata",
        "StartAt": "Loop",
        "States": {"Loop": {"Type": "Pass", "Output": {"v": "{% " + LOOP + " %}"}, "End": True}},
    }
    branch = {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}}
    caught = {
        "QueryLanguage": "JSONata",
        "StartAt": "Loop",
        "States": {
            # A Parallel state, since Pass takes no Catch: its Output runs after the branch.
            "Loop": {
                "Type": "Parallel",
                "Branches": [branch],
                "Output": {"v": "{% " + LOOP + " %}"},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}],
                "Next": "Handled",
            },
            "Handled": {"Type": "Pass", "End": True},
        },
    }
    quadratic = {
        "StartAt": "Filter",
        "States": {"Filter": {"Type": "Pass", "InputPath": "$.a[?(@ in $.b)]", "End": True}},
    }
    return {
        "jsonata": _machine(sfn, "loop", jsonata),
        "caught": _machine(sfn, "caught", caught),
        "quadratic": _machine(sfn, "quadratic", quadratic),
    }


def test_runaway_expressions_fail_alone_while_the_api_answers(tmp_path: Path) -> None:
    with serve_process(tmp_path, "--expression-cpu-seconds", "0.5") as server:
        sfn = server.sfn
        machines = _runaways(sfn)
        plain = _machine(
            sfn, "plain", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
        )
        numbers = list(range(5000))
        inputs = {"quadratic": json.dumps({"a": numbers, "b": [n + 5000 for n in numbers]})}
        latencies: list[float] = []
        done = threading.Event()

        def probe() -> None:
            while not done.is_set():
                began = time.monotonic()
                sfn.list_state_machines()
                latencies.append(time.monotonic() - began)
                time.sleep(0.05)

        prober = threading.Thread(target=probe)
        prober.start()
        try:
            started = {
                kind: sfn.start_execution(stateMachineArn=arn, input=inputs.get(kind, "{}"))
                for kind, arn in machines.items()
            }
            normal = sfn.start_execution(stateMachineArn=plain, input='{"ok": true}')
        finally:
            done.set()
            prober.join()

        def status(kind: str) -> dict[str, Any]:
            arn = started[kind]["executionArn"]
            described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
            return described

        for kind in started:
            eventually(lambda k=kind: status(k)["status"] != "RUNNING", 30, server.output)
        assert status("jsonata")["status"] == "FAILED"
        assert status("jsonata")["error"] == "States.QueryEvaluationError"
        assert "Expression evaluation timeout" in status("jsonata")["cause"]
        assert status("caught")["status"] == "SUCCEEDED"
        assert json.loads(status("caught")["output"])["Error"] == "States.QueryEvaluationError"
        assert status("quadratic")["error"] == "States.Runtime"
        finished = sfn.describe_execution(executionArn=normal["executionArn"])
        assert finished["status"] == "SUCCEEDED"
        # Each runaway holds the event loop for at most its CPU budget (wall time on a loaded
        # machine is longer); without budgets the first one would hold it for ever.
        assert latencies and max(latencies) < 15, latencies
        assert server.proc.poll() is None
        assert "Traceback" not in server.output()
