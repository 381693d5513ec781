"""Seed 002's Serverless Framework project, and the same saga as a SAM application, run
here unchanged: ``sagaway run --template serverless.yml`` and ``sagaway serve --template
template.yaml`` with the seed's four inputs, the functions writing to a real (local)
DynamoDB table. The seed's outcomes: a successful order; a failed order (no total); a
failed payment (no card_no: the order is deleted); a failed shipment (no address: the
shipment is cancelled, the payment refunded, the order deleted)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import client
from tests.api.serve_kit import Serve
from tests.aws.conftest import orders_table
from tests.cli.cli_kit import sagaway

HERE = Path(__file__).parent
SERVERLESS = HERE / "seed002" / "serverless.yml"
SAM = HERE / "seed002_sam" / "template.yaml"

# The seed's inputs, and the Task states each one passes through.
CASES: list[tuple[dict[str, Any], str, list[str]]] = [
    ({"order_id": "1", "total": 100, "card_no": "123-1234", "address": "123 st"},
     "SUCCEEDED", ["CreateOrder", "ProcessPayment", "ProcessShipment"]),
    ({"order_id": "2"}, "FAILED", ["CreateOrder"]),
    ({"order_id": "3", "total": 100}, "FAILED", ["CreateOrder", "ProcessPayment", "DeleteOrder"]),
    ({"order_id": "5", "total": 100, "card_no": "123-1234"}, "FAILED",
     ["CreateOrder", "ProcessPayment", "ProcessShipment", "CancelShipment", "RefundPayment",
      "DeleteOrder"]),
]  # fmt: skip


def _tasks(events: list[dict[str, Any]]) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"] for e in events if e["type"] == "TaskStateEntered"
    ]


def _check_table(table: Any) -> None:
    items = {i["order_id"]: i for i in table.scan()["Items"]}
    # Only the successful order is left; every failed one was undone (deleted).
    assert list(items) == ["1"]
    assert items["1"]["status"] == "SHIPPED"
    assert items["1"]["payment"] == "CHARGED"
    assert items["1"]["shipment"] == "123 st"


def test_serverless_project_runs_the_seeds_four_orders(
    tmp_path: Path, dynamodb_url: str, orders_env: dict[str, str]
) -> None:
    table = orders_table(dynamodb_url, "saga-aws-serverless-orders-dev")
    db = tmp_path / "run.db"
    for order, status, tasks in CASES:
        done = sagaway("run", "--template", SERVERLESS, "--db", db, "--input",
                       json.dumps(order), "--json", "--history")  # fmt: skip
        assert done.code == (0 if status == "SUCCEEDED" else 1), done.err
        result = done.json()
        assert result["status"] == status
        assert result["stateMachineArn"].endswith(":stateMachine:OrderFulfilment")
        assert _tasks(result["history"]) == tasks
        if status == "FAILED":
            assert result["error"] == "OrderFailed"
    _check_table(table)


def test_sam_template_of_the_same_saga_serves_the_seeds_four_orders(
    tmp_path: Path, dynamodb_url: str, orders_env: dict[str, str]
) -> None:
    # The template names its table "${AWS::StackName}-orders": the local stack is "sagaway".
    table = orders_table(dynamodb_url, "sagaway-orders")
    with Serve(tmp_path, "--template", str(SAM)) as running:
        sfn = client(running.url)
        machine = "arn:aws:states:us-east-1:111111111111:stateMachine:OrderFulfilment"
        started = [
            sfn.start_execution(stateMachineArn=machine, name=f"order-{order['order_id']}",
                                input=json.dumps(order))["executionArn"]
            for order, _, _ in CASES
        ]  # fmt: skip
        for arn, (_, status, tasks) in zip(started, CASES, strict=True):
            assert _wait(sfn, arn) == status
            events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
            assert _tasks(events) == tasks
    _check_table(table)


def _wait(sfn: Any, arn: str) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status: str = sfn.describe_execution(executionArn=arn)["status"]
        if status != "RUNNING":
            return status
        time.sleep(0.05)
    pytest.fail(f"{arn} still RUNNING after 30 s")
