"""The console's pages and actions over real HTTP, signed in with the one-time local link."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from sagaway.console import ConsoleSettings
from tests.console.kit import ConsoleServer, csrf
from tests.store.conftest import drop_schema, postgres_url

PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
WAIT = json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}})


def _classes(page: str, state: str) -> str:
    found = re.search(rf'<g class="([^"]*)" data-state="{state}"', page)
    assert found, f"no state {state} in the graph"
    return found.group(1)


def test_pages_need_sign_in_and_the_local_link_works_once(server: ConsoleServer) -> None:
    anonymous = server.http(follow_redirects=False)
    answer = anonymous.get("/console/executions?status=FAILED")
    assert answer.status_code == 303
    target = "/console/signin?next=/console/executions%3Fstatus%3DFAILED"
    assert answer.headers["location"] == target
    signed_in = anonymous.get(server.local_link())
    assert signed_in.status_code == 303
    cookie = signed_in.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/console" in cookie
    again = httpx.get(server.local_link())
    assert again.status_code == 403 and "works once" in again.text


def test_executions_filter_by_name_prefix_count_per_status_and_page(server: ConsoleServer) -> None:
    saga = server.saga()
    server.run(saga, "order-7", {"orderId": "order-7", "total": 5})  # no address: compensated
    server.run(saga, "order-7-redrive-1", {"orderId": "order-7", "total": 5, "address": "a"})
    server.run(saga, "order-8", {"orderId": "order-8", "total": 5, "address": "a"})
    quick = server.saga("quick", PASS)
    for n in range(52):
        server.sfn.start_execution(stateMachineArn=quick, name=f"q-{n:02d}")
    http = server.operator()

    page = http.get("/console/executions", params={"name": "order-7"}).text
    assert "order-7-redrive-1" in page and ">order-7<" in page and "order-8" not in page
    assert re.search(r"FAILED</span> <b>1</b>", page)
    assert re.search(r"SUCCEEDED</span> <b>1</b>", page)

    first = http.get("/console/executions", params={"machine": quick}).text
    names = re.findall(r">(q-\d\d)</a>", first)
    assert len(names) == 50 and names[0] == "q-51"
    older = re.search(r'rel="next" href="\?([^"]+)"', first)
    assert older, "a link to the next page"
    rest = http.get("/console/executions?" + older.group(1).replace("&amp;", "&")).text
    assert re.findall(r">(q-\d\d)</a>", rest) == ["q-01", "q-00"]


def test_execution_page_marks_the_path_and_offers_history_as_json(server: ConsoleServer) -> None:
    saga = server.saga()
    failed = server.run(saga, "o-1", {"orderId": "o-1", "total": 5})
    http = server.operator()
    page = http.get("/console/execution", params={"arn": failed["executionArn"]}).text
    assert "s-succeeded" in _classes(page, "ReserveInventory")
    assert "s-caught" in _classes(page, "BookShipment")
    assert {"s-succeeded", "compensation"} <= set(_classes(page, "RefundPayment").split())
    assert "s-failed" in _classes(page, "OrderFailed")
    assert "s-not-run" in _classes(page, "OrderConfirmed")
    details = re.search(r'id="state-details">(.*?)</script>', page, re.S)
    assert details and json.loads(details.group(1))["BookShipment"]["error"] == "CourierUnavailable"
    download = http.get("/console/execution/history.json", params={"arn": failed["executionArn"]})
    assert "attachment" in download.headers["content-disposition"]
    events = download.json()["events"]
    assert events[0]["type"] == "ExecutionStarted" and events[-1]["type"] == "ExecutionFailed"


def test_operator_stops_and_redrives_and_each_action_is_audited(server: ConsoleServer) -> None:
    waiting = server.saga("waiting", WAIT)
    arn = server.sfn.start_execution(stateMachineArn=waiting, name="w-1")["executionArn"]
    http = server.operator()
    page = http.get("/console/execution", params={"arn": arn}).text
    stopped = http.post("/console/execution/stop", data={"arn": arn, "csrf_token": csrf(page)})
    assert "StopExecution: done" in stopped.text
    assert server.sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"
    redriven = http.post("/console/execution/redrive", data={"arn": arn, "csrf_token": csrf(page)})
    assert "RedriveExecution: done" in redriven.text
    assert server.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    refused = http.post("/console/execution/redrive", data={"arn": arn, "csrf_token": csrf(page)})
    assert "ExecutionNotRedrivable" in refused.text
    audit = http.get("/console/audit").text
    rows = re.findall(r"<td>local operator</td><td>(\w+)</td>", audit)
    assert rows == ["RedriveExecution", "RedriveExecution", "StopExecution"]
    assert "✗ ExecutionNotRedrivable" in audit


def test_operator_answers_a_waiting_task(server: ConsoleServer) -> None:
    activity = server.sfn.create_activity(name="approve")["activityArn"]
    definition = json.dumps({"StartAt": "Approve", "States": {
        "Approve": {"Type": "Task", "Resource": activity, "End": True}}})  # fmt: skip
    machine = server.saga("approval", definition)
    arn = server.sfn.start_execution(stateMachineArn=machine, name="a-1")["executionArn"]
    http = server.operator()
    deadline = time.monotonic() + 5
    while "Waiting in <b>Approve</b>" not in (
        page := http.get("/console/execution", params={"arn": arn}).text
    ):
        assert time.monotonic() < deadline, "the task never showed as waiting"
        time.sleep(0.05)
    token = re.search(r'name="taskToken" value="([^"]+)"', page)
    assert token
    form = {"arn": arn, "csrf_token": csrf(page), "taskToken": token.group(1),
            "state": "Approve", "outcome": "success", "output": '{"approved": true}'}  # fmt: skip
    answered = http.post("/console/execution/answer", data=form)
    assert "SendTaskSuccess: done" in answered.text
    final = server.wait(arn)
    assert final["status"] == "SUCCEEDED" and json.loads(final["output"]) == {"approved": True}


def test_a_post_without_the_csrf_token_is_refused(server: ConsoleServer) -> None:
    waiting = server.saga("waiting", WAIT)
    arn = server.sfn.start_execution(stateMachineArn=waiting, name="w-2")["executionArn"]
    http = server.operator()
    for form in ({"arn": arn}, {"arn": arn, "csrf_token": "forged"}):
        answer = http.post("/console/execution/stop", data=form, follow_redirects=False)
        assert answer.status_code == 403 and "CSRF" in answer.text
    assert server.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    assert "No operator action yet" in http.get("/console/audit").text


def test_an_expired_session_goes_back_to_sign_in(tmp_path: Path) -> None:
    settings = ConsoleSettings(session_seconds=0.3)
    with ConsoleServer(f"sqlite:///{tmp_path / 'j.db'}", settings) as server:
        http = server.operator()
        assert http.get("/console/executions").status_code == 200
        time.sleep(0.4)
        answer = http.get("/console/executions", follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/console/signin")
        assert http.post("/console/execution/stop", data={"arn": "x"}).status_code == 401


def test_serve_refuses_to_start_off_loopback_without_an_issuer(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"  # the API's own refusal is not the one tested
    credentials.write_text("AKIDCONSOLE secret-for-the-api full\n")
    credentials.chmod(0o600)
    done = subprocess.run(
        [sys.executable, "-m", "sagaway", "serve", "--host", "0.0.0.0",
         "--db", f"sqlite:///{tmp_path / 'j.db'}", "--credentials", str(credentials)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "needs an OpenID Connect issuer" in done.stderr


def test_the_console_on_postgresql(tmp_path: Path) -> None:
    url = postgres_url()
    try:
        with ConsoleServer(url) as server:
            waiting = server.saga("waiting", WAIT)
            arn = server.sfn.start_execution(stateMachineArn=waiting, name="pg-1")["executionArn"]
            saga = server.saga()
            server.run(saga, "pg-2", {"orderId": "pg-2", "total": 5})
            http = server.operator()
            listing = http.get("/console/executions", params={"name": "pg-"}).text
            assert ">pg-1<" in listing and ">pg-2<" in listing
            page = http.get("/console/execution", params={"arn": arn}).text
            http.post("/console/execution/stop", data={"arn": arn, "csrf_token": csrf(page)})
            assert server.sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"
            assert "<td>StopExecution</td>" in http.get("/console/audit").text
    finally:
        drop_schema(url)


def test_an_execution_page_names_its_distributed_map_runs(server: ConsoleServer) -> None:
    processor = {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                 "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}  # fmt: skip
    definition = {"StartAt": "Each", "States": {
        "Each": {"Type": "Map", "ItemProcessor": processor, "End": True}}}  # fmt: skip
    machine = server.saga("fan-out", json.dumps(definition))
    done = server.run(machine, "f-1", [1, 2])
    page = server.operator().get("/console/execution", params={"arn": done["executionArn"]}).text
    runs = server.sfn.list_map_runs(executionArn=done["executionArn"])["mapRuns"]
    label = runs[0]["mapRunArn"].split(":mapRun:")[-1]
    assert f"Map Run <code>{label}</code> SUCCEEDED" in page
    assert 'data-state="P"' in page  # the item processor drawn inside the Map
