"""Operator journeys in a real browser (headless Chromium through Playwright)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sagaway.console import ConsoleSettings
from sagaway.resources.lambda_functions import FunctionRegistry
from tests.console.browser_kit import browser, page
from tests.console.kit import ConsoleServer, order_functions
from tests.console.oidc_kit import add_user, provider

__all__ = ["browser", "page"]  # fixtures

pytestmark = [
    pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:authlib.jose module is deprecated:DeprecationWarning"),
]

STEPPED = json.dumps({"StartAt": "First", "States": {
    "First": {"Type": "Pass", "Next": "Pause"},
    "Pause": {"Type": "Wait", "Seconds": 2, "Next": "Last"},
    "Last": {"Type": "Pass", "End": True}}})  # fmt: skip
CHARGE = json.dumps({"StartAt": "Charge", "States": {
    "Charge": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:111111111111:function:charge",
               "End": True}}})  # fmt: skip


@pytest.fixture
def oidc_server(tmp_path: Path) -> Iterator[tuple[ConsoleServer, str]]:
    with provider() as issuer:
        settings = ConsoleSettings(issuer=issuer, client_id="console", client_secret="s3")
        with ConsoleServer(f"sqlite:///{tmp_path / 'j.db'}", settings) as server:
            yield server, issuer


def _sign_in_with_provider(page: Any, server: ConsoleServer, sub: str) -> None:
    page.goto(server.url + "/console/executions")
    page.click("#signin-oidc")
    page.fill("input[name=sub]", sub)
    page.click("button[type=submit]:not([name])")
    page.wait_for_url(re.compile(r".*/console/executions.*"))


def test_a_viewer_finds_an_order_and_reads_its_path(
    page: Any, oidc_server: tuple[ConsoleServer, str]
) -> None:
    server, issuer = oidc_server
    add_user(issuer, "vera@example.com", ["viewer"])
    saga = server.saga()
    server.run(saga, "order-8842", {"orderId": "order-8842", "total": 20})
    server.run(saga, "order-9000", {"orderId": "order-9000", "total": 20, "address": "x"})
    _sign_in_with_provider(page, server, "vera@example.com")

    page.fill("input[name=name]", "order-8842")
    page.click("text=Filter")
    page.click("a:text-is('order-8842')")
    for compensation in ("RefundPayment", "ReleaseInventory"):
        node = page.locator(f'svg.graph .state[data-state="{compensation}"]')
        assert set(node.get_attribute("class").split()) >= {"s-succeeded", "compensation"}
        assert "\u21a9" in node.text_content() and "\u2713" in node.text_content()
    caught = page.locator('svg.graph .state[data-state="BookShipment"]')
    assert "s-caught" in caught.get_attribute("class") and "\u26a0" in caught.text_content()
    page.locator('svg.graph .state[data-state="AuthorizePayment"]').click()
    panel = page.locator("#state-panel")
    assert "Input" in panel.inner_text() and "Output" in panel.inner_text()
    assert '"authorizationId": "a-order-8842"' in panel.text_content()

    # no operator controls for a viewer, and a forged POST with the viewer's own token fails
    assert page.locator("#redrive").count() == 0
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    arn = saga.replace(":stateMachine:", ":execution:") + ":order-8842"
    forged = page.request.post(server.url + "/console/execution/redrive",
                               form={"arn": arn, "csrf_token": token})  # fmt: skip
    assert forged.status == 403
    assert server.sfn.describe_execution(executionArn=arn)["status"] == "FAILED"


def test_an_operator_redrives_a_failed_execution_and_watches_it_succeed(
    page: Any, tmp_path: Path
) -> None:
    down = {"value": True}

    def charge(event: Any, context: Any) -> Any:
        if down["value"]:
            raise ConnectionError("the payment gateway is down")
        return {"charged": True}

    registry = order_functions()
    registry.register("charge", charge)
    with ConsoleServer(f"sqlite:///{tmp_path / 'j.db'}", registry=registry) as server:
        machine = server.saga("charge", CHARGE)
        failed = server.run(machine, "order-1", {"total": 3})
        assert failed["status"] == "FAILED"
        page.goto(server.local_link())
        page.goto(server.url + "/console/execution?arn=" + failed["executionArn"])
        assert "s-failed" in page.locator('.state[data-state="Charge"]').get_attribute("class")
        down["value"] = False
        page.on("dialog", lambda dialog: dialog.accept())
        page.click("#redrive")
        page.wait_for_selector("h1 .st-succeeded", timeout=10_000)
        assert "s-succeeded" in page.locator('.state[data-state="Charge"]').get_attribute("class")
        page.goto(server.url + "/console/audit")
        assert "RedriveExecution" in page.locator("table.audit").text_content()


def test_forged_and_expired_requests_go_nowhere(page: Any, tmp_path: Path) -> None:
    settings = ConsoleSettings(session_seconds=1.5)
    with ConsoleServer(f"sqlite:///{tmp_path / 'j.db'}", settings) as server:
        machine = server.saga("stepped", STEPPED)
        arn = server.sfn.start_execution(stateMachineArn=machine, name="s")["executionArn"]
        page.goto(server.local_link())
        page.goto(server.url + "/console/execution?arn=" + arn)
        no_token = page.request.post(server.url + "/console/execution/stop", form={"arn": arn})
        assert no_token.status == 403 and "CSRF" in no_token.text()
        assert server.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
        page.wait_for_timeout(1_600)
        page.goto(server.url + "/console/executions")
        assert "/console/signin" in page.url
        assert "Sign in to the Sagaway console" in page.content()


def test_a_running_execution_page_follows_it_to_the_end(page: Any, tmp_path: Path) -> None:
    registry = FunctionRegistry()
    with ConsoleServer(f"sqlite:///{tmp_path / 'j.db'}", registry=registry) as server:
        machine = server.saga("stepped", STEPPED)
        page.goto(server.local_link())
        arn = server.sfn.start_execution(stateMachineArn=machine, name="live")["executionArn"]
        page.goto(server.url + "/console/execution?arn=" + arn)
        pause = page.locator('.state[data-state="Pause"]')
        assert "s-running" in pause.get_attribute("class")
        assert "s-not-run" in page.locator('.state[data-state="Last"]').get_attribute("class")
        page.wait_for_selector('.state.s-succeeded[data-state="Last"]', timeout=10_000)
        assert "SUCCEEDED" in page.locator("h1").text_content()
        assert page.url.endswith(arn)  # updated in place, not by navigating
