"""A DynamoDB the seed's functions really talk to: moto's server on loopback (HTTP, the AWS
wire protocol), reached by the functions' unchanged ``boto3.resource("dynamodb")`` through
the SDK's ``AWS_ENDPOINT_URL_DYNAMODB`` setting, as one points any AWS SDK at a local
endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.api.conftest import free_port

REGION = "us-east-1"


@pytest.fixture(scope="module")
def dynamodb_url() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def orders_env(dynamodb_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """What a function process needs to find the local DynamoDB (inherited by the CLI)."""
    env = {
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": REGION,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def orders_table(url: str, name: str) -> Any:
    """A fresh orders table (hash key order_id), as the project's template declares it."""
    dynamodb = boto3.resource("dynamodb", endpoint_url=url, region_name=REGION,
                              aws_access_key_id="local", aws_secret_access_key="local")  # fmt: skip
    table = dynamodb.Table(name)
    if name in [t.name for t in dynamodb.tables.all()]:
        table.delete()
    return dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
    )
