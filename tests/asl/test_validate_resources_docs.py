"""Task Resource rules from the AWS documentation.

https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html: "The ``:::``
portion of the value denotes empty region and account-id fields which are unnecessary because
both are inferred from the region and account in which the workflow runs" (so filled-in ones
are accepted, as deployed public samples show); "Express Workflows only support Request
Response integrations" (https://docs.aws.amazon.com/step-functions/latest/dg/integrate-optimized.html),
and activities need Standard workflows
(https://docs.aws.amazon.com/step-functions/latest/dg/choosing-workflow-type.html).
"""

from __future__ import annotations

import json

import pytest

from sagaway.asl.validate import validate_definition
from sagaway.interpreter.resources import SERVICE, parse_resource


def task(resource: str) -> str:
    return json.dumps(
        {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True}}}
    )


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:states:us-east-1:123456789012:aws-sdk:s3:getObject",
        "arn:aws:states:eu-west-3:123456789012:lambda:invoke",
        "arn:aws:states:us-east-1:123456789012:states:startExecution.sync:2",
        "arn:aws-us-gov:states:us-gov-west-1:123456789012:sqs:sendMessage.waitForTaskToken",
    ],
)
def test_integration_arns_may_name_their_region_and_account(resource: str) -> None:
    assert validate_definition(task(resource)) == []


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:states:us-east-1::lambda:invoke",  # a region without an account
        "arn:aws:states::123456789012:lambda:invoke",  # an account without a region
        "arn:aws:states:us-east-1:1234:aws-sdk:s3:getObject",  # not a 12-digit account
    ],
)
def test_half_filled_integration_arns_are_refused(resource: str) -> None:
    [problem] = validate_definition(task(resource))
    assert f"The resource provided {resource} is not recognized" in problem.message


def test_the_integration_is_the_same_with_a_region_and_account() -> None:
    ref = parse_resource("arn:aws:states:eu-west-3:123456789012:aws-sdk:s3:getObject")
    assert (ref.family, ref.resource_type, ref.resource, ref.region) == (
        SERVICE, "aws-sdk:s3", "getObject", "eu-west-3"
    )  # fmt: skip


def test_express_machines_refuse_activities() -> None:
    [problem] = validate_definition(
        task("arn:aws:states:us-east-1:123456789012:activity:work"), machine_type="EXPRESS"
    )
    assert problem.location == "/States/T/Resource"
    assert problem.message == "Express state machine does not support Activity ARN"
    assert validate_definition(task("arn:aws:states:us-east-1:123456789012:activity:work")) == []


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        (
            "arn:aws:states:::sns:publish.waitForTaskToken",
            "Express state machine does not support '.waitForTaskToken' service integration ",
        ),
        (
            "arn:aws:states:::states:startExecution.sync",
            "Express state machine does not support '.sync' service integration",
        ),
        (
            "arn:aws:states:::states:startExecution.sync:2",
            "Express state machine does not support '.sync' service integration",
        ),
    ],
)
def test_express_machines_refuse_callbacks_and_jobs(resource: str, message: str) -> None:
    """Express workflows "only support Request Response integrations" (the optimized
    integrations page above). AWS's wording, as its recorded CreateStateMachine answers give
    it (LocalStack's AWS-validated ``test_sfn_api_express.snapshot.json``,
    ``test_illegal_callbacks``): the '.waitForTaskToken' sentence ends in a blank before
    " at <location>", the '.sync' one does not; '.sync:2' is the same job pattern."""
    [problem] = validate_definition(task(resource), machine_type="EXPRESS")
    assert (problem.code, problem.location) == ("SCHEMA_VALIDATION_FAILED", "/States/T/Resource")
    assert problem.message == message
    assert validate_definition(task(resource)) == []
