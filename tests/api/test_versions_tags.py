"""Versions, aliases and tags through boto3 against a real server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import ROLE
from tests.api.test_executions import wait_done
from tests.api.test_machines import error_code


def pass_machine(result: str) -> str:
    state = {"Type": "Pass", "Result": result, "End": True}
    return json.dumps({"StartAt": "P", "States": {"P": state}})


def test_versions_and_aliases(sfn: Any) -> None:
    created = sfn.create_state_machine(
        name="v", definition=pass_machine("one"), roleArn=ROLE, publish=True
    )
    arn, v1 = created["stateMachineArn"], created["stateMachineVersionArn"]
    assert v1 == arn + ":1"
    sfn.update_state_machine(stateMachineArn=arn, definition=pass_machine("two"))
    v2 = sfn.publish_state_machine_version(stateMachineArn=arn, description="second")
    assert v2["stateMachineVersionArn"] == arn + ":2"
    listed = sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in listed] == [arn + ":2", v1]
    assert "one" in sfn.describe_state_machine(stateMachineArn=v1)["definition"]
    with pytest.raises(ClientError) as info:
        sfn.update_state_machine(stateMachineArn=v1, definition=pass_machine("x"))
    assert error_code(info) == "StateMachineDoesNotExist"

    ex = sfn.start_execution(stateMachineArn=v1)["executionArn"]
    described = wait_done(sfn, ex)
    assert json.loads(described["output"]) == "one"
    assert described["stateMachineVersionArn"] == v1

    alias = sfn.create_state_machine_alias(
        name="live", routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100}]
    )["stateMachineAliasArn"]
    assert alias == arn + ":live"
    sfn.update_state_machine_alias(
        stateMachineAliasArn=alias,
        routingConfiguration=[{"stateMachineVersionArn": arn + ":2", "weight": 100}],
    )
    ex = sfn.start_execution(stateMachineArn=alias)["executionArn"]
    described = wait_done(sfn, ex)
    assert json.loads(described["output"]) == "two"
    assert described["stateMachineAliasArn"] == alias
    assert sfn.describe_state_machine_alias(stateMachineAliasArn=alias)["name"] == "live"
    aliases = sfn.list_state_machine_aliases(stateMachineArn=arn)["stateMachineAliases"]
    assert [a["stateMachineAliasArn"] for a in aliases] == [alias]
    with pytest.raises(ClientError) as info:
        sfn.delete_state_machine_version(stateMachineVersionArn=arn + ":2")
    assert error_code(info) == "ConflictException"
    sfn.delete_state_machine_alias(stateMachineAliasArn=alias)
    sfn.delete_state_machine_version(stateMachineVersionArn=v1)
    with pytest.raises(ClientError) as info:
        sfn.describe_state_machine(stateMachineArn=v1)
    assert error_code(info) == "StateMachineDoesNotExist"
    with pytest.raises(ClientError) as info:
        sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
    assert error_code(info) == "ResourceNotFound"


def test_tags(sfn: Any) -> None:
    arn = sfn.create_state_machine(
        name="t", definition=pass_machine("x"), roleArn=ROLE, tags=[{"key": "a", "value": "1"}]
    )["stateMachineArn"]
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "b", "value": "2"}, {"key": "a", "value": "3"}])
    tags = sfn.list_tags_for_resource(resourceArn=arn)["tags"]
    assert sorted((t["key"], t["value"]) for t in tags) == [("a", "3"), ("b", "2")]
    sfn.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "b", "value": "2"}]
    activity = sfn.create_activity(name="tagged", tags=[{"key": "k", "value": "v"}])
    listed = sfn.list_tags_for_resource(resourceArn=activity["activityArn"])["tags"]
    assert listed == [{"key": "k", "value": "v"}]
    with pytest.raises(ClientError) as info:
        sfn.list_tags_for_resource(resourceArn=arn + "nope")
    assert error_code(info) == "ResourceNotFound"
