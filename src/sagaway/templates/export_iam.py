"""The IAM roles, queues and rule of an exported SAM project, each allowing only what its
holder does: a function writes its own log group; the state machine invokes its own
functions and sends to its own dead-letter queues; the EventBridge rule starts only its
own state machine."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# Fourteen days, SQS's longest: a parked saga waits for an operator, maybe over a holiday.
RETENTION_SECONDS = 1_209_600


def _assume(service: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
        ],
    }


def _role(service: str, policy: str, statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": _assume(service),
            "Policies": [
                {
                    "PolicyName": policy,
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                }
            ],
        },
    }


def function_role(function_id: str, function_name: str) -> dict[str, Any]:
    log_group = (
        "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
        f"/aws/lambda/${{AWS::StackName}}-{function_name}"
    )
    statements = [
        {"Effect": "Allow", "Action": "logs:CreateLogGroup", "Resource": {"Fn::Sub": log_group}},
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": {"Fn::Sub": f"{log_group}:*"},
        },
    ]
    return {f"{function_id}Role": _role("lambda.amazonaws.com", "WriteOwnLogs", statements)}


def machine_role(machine_id: str, function_ids: list[str], queue_ids: list[str]) -> dict[str, Any]:
    arns: list[Any] = []
    for function_id in function_ids:
        # The function and its versions or aliases (``…:function:Name:qualifier``).
        arns.append({"Fn::GetAtt": [function_id, "Arn"]})
        arns.append({"Fn::Sub": f"${{{function_id}.Arn}}:*"})
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": arns}
    ]
    if queue_ids:
        statements.append({
            "Effect": "Allow", "Action": "sqs:SendMessage",
            "Resource": [{"Fn::GetAtt": [q, "Arn"]} for q in queue_ids],
        })  # fmt: skip
    return {f"{machine_id}Role": _role("states.amazonaws.com", "InvokeOwnFunctions", statements)}


def queues(queue_ids: Iterable[str]) -> dict[str, Any]:
    return {
        q: {"Type": "AWS::SQS::Queue", "Properties": {"MessageRetentionPeriod": RETENTION_SECONDS}}
        for q in queue_ids
    }


def start_rule(machine_id: str, detail_type: str, source: str | None) -> dict[str, Any]:
    """An EventBridge rule on the default bus that starts the machine with the event's
    ``detail`` as input, and the role it assumes to do only that."""
    pattern: dict[str, Any] = {"detail-type": [detail_type]}
    if source is not None:
        pattern["source"] = [source]
    rule_id = machine_id.removesuffix("StateMachine") + "StartRule"
    starts = [{"Effect": "Allow", "Action": "states:StartExecution",
               "Resource": {"Ref": machine_id}}]  # fmt: skip
    return {
        rule_id: {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Description": f"Starts the saga on each {detail_type} event",
                "EventPattern": pattern,
                "State": "ENABLED",
                "Targets": [
                    {
                        "Id": "StartSaga",
                        "Arn": {"Ref": machine_id},
                        "RoleArn": {"Fn::GetAtt": [f"{rule_id}Role", "Arn"]},
                        "InputPath": "$.detail",
                    }
                ],
            },
        },
        f"{rule_id}Role": _role("events.amazonaws.com", "StartOwnStateMachine", starts),
    }
