"""CreateStateMachine / UpdateStateMachine parameter rules from the API reference.

https://docs.aws.amazon.com/step-functions/latest/apireference/API_CreateStateMachine.html
and API_UpdateStateMachine.html, versionDescription: "You can only set the description if
the publish parameter is set to true. Otherwise, if you set versionDescription, but publish
to false, this API action throws ValidationException."
API_LoggingConfiguration.html, destinations: "Limited to size 1. Required, if your log
level is not set to OFF."; level: "Valid Values: ALL | ERROR | FATAL | OFF". The level's
default is OFF ("By default, the level is set to OFF": the CloudFormation property as
https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_stepfunctions.CfnStateMachine.LoggingConfigurationProperty.html
documents it); AWS describes a configuration given without level
or includeExecutionData with both filled in (LocalStack's AWS-validated
``test_sfn_api_logs.snapshot.json``, ``test_incomplete_logging_configuration``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import ROLE

DEFINITION = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


def test_a_version_description_needs_publish_on_create(sfn: Any) -> None:
    with pytest.raises(ClientError) as raised:
        sfn.create_state_machine(
            name="m", definition=DEFINITION, roleArn=ROLE, versionDescription="v1"
        )
    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"] == "Version description can only be set when publish is true"
    made = sfn.create_state_machine(
        name="m", definition=DEFINITION, roleArn=ROLE, publish=True, versionDescription="v1"
    )
    assert made["stateMachineVersionArn"].endswith(":m:1")


def test_a_version_description_needs_publish_on_update(sfn: Any) -> None:
    arn = sfn.create_state_machine(name="u", definition=DEFINITION, roleArn=ROLE)["stateMachineArn"]
    with pytest.raises(ClientError) as raised:
        sfn.update_state_machine(stateMachineArn=arn, roleArn=ROLE, versionDescription="v2")
    assert raised.value.response["Error"]["Code"] == "ValidationException"


def test_logging_above_off_needs_exactly_one_destination(sfn: Any) -> None:
    with pytest.raises(ClientError) as raised:
        sfn.create_state_machine(
            name="l", definition=DEFINITION, roleArn=ROLE,
            loggingConfiguration={"level": "ALL", "includeExecutionData": True},
        )  # fmt: skip
    assert raised.value.response["Error"]["Code"] == "InvalidLoggingConfiguration"
    tracing = {"enabled": True}
    arn = sfn.create_state_machine(
        name="t", definition=DEFINITION, roleArn=ROLE, tracingConfiguration=tracing
    )["stateMachineArn"]
    assert sfn.describe_state_machine(stateMachineArn=arn)["tracingConfiguration"] == tracing


@pytest.mark.parametrize(
    ("given", "described"),
    [
        ({}, {"level": "OFF", "includeExecutionData": False}),
        ({"destinations": []}, {"level": "OFF", "includeExecutionData": False, "destinations": []}),
        (
            {"level": "ERROR", "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": "g"}}]},
            {
                "level": "ERROR",
                "includeExecutionData": False,
                "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": "g"}}],
            },
        ),
    ],
)
def test_logging_left_out_reads_as_the_defaults(
    sfn: Any, given: dict[str, Any], described: dict[str, Any]
) -> None:
    arn = sfn.create_state_machine(
        name="d", definition=DEFINITION, roleArn=ROLE, loggingConfiguration=given
    )["stateMachineArn"]
    assert sfn.describe_state_machine(stateMachineArn=arn)["loggingConfiguration"] == described
    sfn.update_state_machine(
        stateMachineArn=arn, loggingConfiguration={"includeExecutionData": True}
    )
    after = sfn.describe_state_machine(stateMachineArn=arn)["loggingConfiguration"]
    assert after == {"level": "OFF", "includeExecutionData": True}


def test_a_logging_level_outside_the_four_is_a_validation_error(sfn: Any) -> None:
    with pytest.raises(ClientError) as raised:
        sfn.create_state_machine(
            name="v", definition=DEFINITION, roleArn=ROLE,
            loggingConfiguration={"level": "DEBUG", "destinations": []},
        )  # fmt: skip
    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"] == (
        "1 validation error detected: Value 'DEBUG' at 'loggingConfiguration.level' failed to "
        "satisfy constraint: Member must satisfy enum value set: [ALL, ERROR, FATAL, OFF]"
    )


def test_tracing_left_out_reads_as_disabled(sfn: Any) -> None:
    """API_TracingConfiguration.html, enabled: "When set to true, X-Ray tracing is enabled"
    (a Boolean, not required): left out, tracing is off, as Describe shows a machine created
    without any tracingConfiguration."""
    arn = sfn.create_state_machine(
        name="x", definition=DEFINITION, roleArn=ROLE, tracingConfiguration={}
    )["stateMachineArn"]
    assert sfn.describe_state_machine(stateMachineArn=arn)["tracingConfiguration"] == {
        "enabled": False
    }
