"""Which family a Task Resource ARN names (it decides the history events)."""

from __future__ import annotations

from sagaway.interpreter.resources import ACTIVITY, LAMBDA, SERVICE, parse_resource


def test_lambda_function_arn() -> None:
    ref = parse_resource("arn:aws:lambda:eu-west-1:123456789012:function:charge:prod")
    assert (ref.family, ref.region, ref.function_name) == (LAMBDA, "eu-west-1", "charge")


def test_activity_arn() -> None:
    ref = parse_resource("arn:aws:states:us-east-2:123456789012:activity:approve")
    assert (ref.family, ref.region) == (ACTIVITY, "us-east-2")


def test_service_integrations() -> None:
    invoke = parse_resource("arn:aws:states:::lambda:invoke")
    assert (invoke.family, invoke.resource_type, invoke.resource) == (SERVICE, "lambda", "invoke")
    assert not invoke.waits_for_token
    token = parse_resource("arn:aws:states:::sqs:sendMessage.waitForTaskToken")
    assert (token.resource_type, token.resource) == ("sqs", "sendMessage.waitForTaskToken")
    assert token.waits_for_token
    sdk = parse_resource("arn:aws:states:::aws-sdk:s3:getObject")
    assert (sdk.resource_type, sdk.resource) == ("aws-sdk:s3", "getObject")
