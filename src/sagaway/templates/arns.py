"""What ``Ref`` and ``Fn::GetAtt`` return for a template's own resources once deployed
locally: names default to the logical id, ARNs carry the local region and account.

Return values per type, from the CloudFormation resource reference (each type's "Return
values" section), e.g.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-lambda-function.html
(Ref: the function name; Fn::GetAtt Arn: the function ARN).
"""

from __future__ import annotations

from typing import Any

from sagaway.templates.substitutions import PSEUDO_PARAMETERS

_REGION = PSEUDO_PARAMETERS["AWS::Region"]
_ACCOUNT = PSEUDO_PARAMETERS["AWS::AccountId"]

# type -> (property naming the resource, ARN pattern, what Ref returns: "name" or "arn"
# or "url"); {name} is the resource's name.
_TYPES: dict[str, tuple[str, str, str]] = {
    "AWS::Lambda::Function": ("FunctionName", "arn:aws:lambda:{r}:{a}:function:{name}", "name"),
    "AWS::Serverless::Function": (
        "FunctionName",
        "arn:aws:lambda:{r}:{a}:function:{name}",
        "name",
    ),
    "AWS::StepFunctions::StateMachine": (
        "StateMachineName",
        "arn:aws:states:{r}:{a}:stateMachine:{name}",
        "arn",
    ),
    "AWS::Serverless::StateMachine": ("Name", "arn:aws:states:{r}:{a}:stateMachine:{name}", "arn"),
    "AWS::StepFunctions::Activity": ("Name", "arn:aws:states:{r}:{a}:activity:{name}", "arn"),
    "AWS::SNS::Topic": ("TopicName", "arn:aws:sns:{r}:{a}:{name}", "arn"),
    "AWS::SQS::Queue": ("QueueName", "arn:aws:sqs:{r}:{a}:{name}", "url"),
    "AWS::DynamoDB::Table": ("TableName", "arn:aws:dynamodb:{r}:{a}:table/{name}", "name"),
    "AWS::Serverless::SimpleTable": (
        "TableName",
        "arn:aws:dynamodb:{r}:{a}:table/{name}",
        "name",
    ),
    "AWS::S3::Bucket": ("BucketName", "arn:aws:s3:::{name}", "name"),
    "AWS::Events::EventBus": ("Name", "arn:aws:events:{r}:{a}:event-bus/{name}", "name"),
    "AWS::IAM::Role": ("RoleName", "arn:aws:iam::{a}:role/{name}", "name"),
}


def name_property(resource: dict[str, Any]) -> str:
    """The property that names a resource of this type (its logical id when absent)."""
    return _TYPES.get(str(resource.get("Type", "")), ("Name", "", ""))[0]


def _arn(name: str, resource: dict[str, Any]) -> str:
    kind = str(resource.get("Type", ""))
    if kind in _TYPES:
        return _TYPES[kind][1].format(r=_REGION, a=_ACCOUNT, name=name)
    service = kind.split("::")[1].lower() if kind.count("::") >= 2 else "unknown"
    return f"arn:aws:{service}:{_REGION}:{_ACCOUNT}:{name}"


def reference(name: str, resource: dict[str, Any]) -> str:
    """What ``Ref`` returns for the resource called ``name``."""
    kind = str(resource.get("Type", ""))
    returns = _TYPES.get(kind, ("", "", "name"))[2]
    if returns == "arn":
        return _arn(name, resource)
    if returns == "url":
        return f"https://sqs.{_REGION}.amazonaws.com/{_ACCOUNT}/{name}"
    return name


def attribute(name: str, attr: str, resource: dict[str, Any]) -> str:
    """What ``Fn::GetAtt`` returns for one attribute of the resource called ``name``."""
    if attr.endswith("Arn"):
        return _arn(name, resource)
    if attr.endswith("Url"):
        return f"https://sqs.{_REGION}.amazonaws.com/{_ACCOUNT}/{name}"
    return name
