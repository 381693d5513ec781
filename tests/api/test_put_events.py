"""``arn:aws:states:::events:putEvents`` through a real server: the corpus's putEvents cases
compared with AWS's recordings, a rule on the server's bus receiving what a state machine
published (real bus, real SQLite), and ``.waitForTaskToken`` answered by a rule's target."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from sagaway.api import create_app
from sagaway.conformance.corpus import default_dir, iter_cases, load_compare
from sagaway.messaging import CallableTarget, EventBus, Rule
from sagaway.messaging.archive import Archive
from sagaway.resources.lambda_functions import FunctionRegistry
from tests.api.conftest import Server, client, free_port
from tests.api.test_executions import machine, wait_done

CORPUS = default_dir()
HAVE_CORPUS = (CORPUS / "index.json").is_file()
PUT_EVENTS = "events:putEvents"


class BusServer(Server):
    """The conftest server, with the bus (and its rules) the test brings."""

    def __init__(self, db: Path, bus: EventBus | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_app(f"sqlite:///{db}", FunctionRegistry(), poll_timeout=2.0, bus=bus)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)


def _corpus_cases() -> list[dict[str, Any]]:
    if not HAVE_CORPUS:
        if os.environ.get("CI") == "true":
            pytest.fail(f"conformance corpus missing at {CORPUS}")
        return []
    return [c for c in iter_cases(CORPUS, "execution") if PUT_EVENTS in (c.get("needs") or [])]


@pytest.fixture(scope="module")
def corpus_sfn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with BusServer(Path(tmp_path_factory.mktemp("events")) / "corpus.db") as running:
        yield client(running.url)


def _history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = sfn.get_execution_history(executionArn=arn)["events"]
    # boto3 parses timestamps; the recording's masking expects them as the wire has them.
    return [{k: v.isoformat() if isinstance(v, datetime) else v for k, v in e.items()}
            for e in events]  # fmt: skip


def _run_case(sfn: Any, case: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    context = case["context"]
    arn = sfn.create_state_machine(
        name=context["state_machine_name"], roleArn=context["role_arn"],
        definition=case["definition_str"],
    )["stateMachineArn"]  # fmt: skip
    started = sfn.start_execution(stateMachineArn=arn, name=context["execution_name"],
                                  input=case["input"])  # fmt: skip
    described = wait_done(sfn, started["executionArn"])
    return described, _history(sfn, started["executionArn"])


def test_the_corpus_has_the_put_events_cases() -> None:
    if HAVE_CORPUS:
        assert len(_corpus_cases()) == 5


@pytest.mark.parametrize("case", _corpus_cases(), ids=lambda case: case["id"][:60])
def test_corpus_put_events_case_matches_aws(corpus_sfn: Any, case: dict[str, Any]) -> None:
    compare = load_compare(CORPUS)
    described, events = _run_case(corpus_sfn, case)
    result = (described["status"], described.get("output"), described.get("error"),
              described.get("cause"), events)  # fmt: skip
    ok, diffs = compare.compare_expected(case, *result)
    assert ok, diffs
    _, normalised = compare.normalize_execution_result(case, *result)
    assert [e["type"] for e in normalised] == case["history_types"]
    tokens = set(case.get("wildcard_tokens") or [])
    for want, got in zip(case["history"], normalised, strict=True):  # event for event
        got = {k: v for k, v in got.items() if k != "timestamp"}  # not in the recording
        assert compare.json_equal(want, got, tokens), (want, got)


def _task(resource: str, detail: dict[str, Any]) -> str:
    entry = {"Source": "shop.orders", "DetailType": "OrderConfirmed", "Detail": detail}
    task = {"Type": "Task", "Resource": resource, "Parameters": {"Entries": [entry]},
            "End": True}  # fmt: skip
    return json.dumps({"StartAt": "Publish", "States": {"Publish": task}})


def _eventually(check: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.mark.parametrize("kind", ["STANDARD", "EXPRESS"])
def test_a_rule_on_the_bus_receives_what_a_state_machine_published(
    tmp_path: Path, kind: str
) -> None:
    received: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    bus = EventBus("default", archive=Archive(f"sqlite:///{tmp_path / 'archive.db'}"))
    bus.put_rule(Rule("confirmed", {"source": ["shop.orders"], "detail-type": ["OrderConfirmed"]},
                      [CallableTarget("collect", received.append)]))  # fmt: skip
    bus.put_rule(Rule("failed", {"detail-type": ["OrderFailed"]},
                      [CallableTarget("other", others.append)]))  # fmt: skip
    with BusServer(tmp_path / "api.db", bus) as running:
        sfn = client(running.url)
        definition = _task("arn:aws:states:::events:putEvents", {"orderId.$": "$.orderId"})
        arn = machine(sfn, "publisher", definition, kind)
        if kind == "EXPRESS":  # journals only its outcome: its events go out with it
            described = sfn.start_sync_execution(stateMachineArn=arn, input='{"orderId": "o-1"}')
        else:
            ex = sfn.start_execution(stateMachineArn=arn, input='{"orderId": "o-1"}')
            described = wait_done(sfn, ex["executionArn"])
        assert described["status"] == "SUCCEEDED", described
        output = json.loads(described["output"])
        _eventually(lambda: len(received) == 1)
    assert output == {"Entries": [{"EventId": received[0]["id"]}], "FailedEntryCount": 0}
    assert received[0]["detail"] == {"orderId": "o-1"}
    assert received[0]["source"] == "shop.orders" and others == []
    assert bus.archive is not None and bus.archive.count("OrderConfirmed") == 1
    bus.archive.close()  # the test's own: the server closes only the bus it made
    assert (tmp_path / "api-events.db").is_file()  # the outbox, beside the journal


def test_wait_for_task_token_is_answered_by_a_rules_target(tmp_path: Path) -> None:
    bus = EventBus("default")
    answered: list[str] = []
    with BusServer(tmp_path / "api.db", bus) as running:
        sfn = client(running.url)

        def approve(event: dict[str, Any]) -> None:  # a service reacting to the event
            output = json.dumps({"approved": event["detail"]["orderId"]})
            sfn.send_task_success(taskToken=event["detail"]["token"], output=output)
            answered.append(event["id"])

        bus.put_rule(Rule("approve", {"detail-type": ["OrderConfirmed"]},
                          [CallableTarget("approve", approve)]))  # fmt: skip
        detail = {"orderId.$": "$.orderId", "token.$": "$$.Task.Token"}
        arn = machine(sfn, "approval", _task(
            "arn:aws:states:::events:putEvents.waitForTaskToken", detail))  # fmt: skip
        ex = sfn.start_execution(stateMachineArn=arn, input='{"orderId": "o-2"}')
        described = wait_done(sfn, ex["executionArn"])
        events = sfn.get_execution_history(executionArn=ex["executionArn"])["events"]
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"approved": "o-2"} and len(answered) == 1
    types = [e["type"] for e in events]
    assert types[2:6] == ["TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded"]
    submitted = json.loads(events[4]["taskSubmittedEventDetails"]["output"])
    assert submitted == {"Entries": [{"EventId": answered[0]}], "FailedEntryCount": 0}


def test_a_failed_entry_fails_the_task_and_can_be_caught(tmp_path: Path) -> None:
    definition = json.loads(_task("arn:aws:states:::events:putEvents", {"x": 1}))
    publish = definition["States"]["Publish"]
    publish["Parameters"]["Entries"][0]["Detail"] = "not json"
    publish["Catch"] = [{"ErrorEquals": ["EventBridge.FailedEntry"], "Next": "Caught"}]
    definition["States"]["Caught"] = {"Type": "Pass", "End": True}
    with BusServer(tmp_path / "api.db") as running:
        sfn = client(running.url)
        arn = machine(sfn, "bad-detail", json.dumps(definition))
        ex = sfn.start_execution(stateMachineArn=arn)
        described = wait_done(sfn, ex["executionArn"])
    assert described["status"] == "SUCCEEDED"
    output = json.loads(described["output"])
    assert output["Error"] == "EventBridge.FailedEntry"
    assert json.loads(output["Cause"])["Entries"][0]["ErrorCode"] == "MalformedDetail"
