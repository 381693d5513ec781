"""Task ``Resource`` recognition and the EXPRESS restrictions on integration patterns.

AWS accepts a Lambda function ARN, an activity ARN, any ``arn:aws:states:::aws-sdk:svc:action``
(the region and account may be filled in: "the ``:::`` portion ... denotes empty region and
account-id fields which are unnecessary", docs/step-functions/latest/dg/connect-to-resource)
and the optimised integrations it lists per service, each with the patterns it supports
(request-response, ``.sync``, ``.sync:2``, ``.waitForTaskToken``). An unknown action of a known
service is refused (``dynamodb:query`` exists only through ``aws-sdk``). A service we do not
list is accepted: refusing it would block a valid machine for a table we failed to update.
"""

from __future__ import annotations

import re

from sagaway.asl.diagnostics import SCHEMA_VALIDATION_FAILED, Diagnostic

_R, _S, _S2, _W = "", ".sync", ".sync:2", ".waitForTaskToken"
_CALLBACK = frozenset({_R, _W})
_JOB = frozenset({_R, _S})
_ANY_JOB = frozenset({_R, _S, _W})
_PLAIN = frozenset({_R})

OPTIMISED: dict[str, dict[str, frozenset[str]]] = {
    "lambda": {"invoke": _CALLBACK},
    "sqs": {"sendMessage": _CALLBACK},
    "sns": {"publish": _CALLBACK},
    "events": {"putEvents": _CALLBACK},
    "apigateway": {"invoke": _CALLBACK},
    "http": {"invoke": _PLAIN},
    "dynamodb": {n: _PLAIN for n in ("getItem", "putItem", "deleteItem", "updateItem")},
    "states": {"startExecution": frozenset({_R, _S, _S2, _W})},
    "ecs": {"runTask": _ANY_JOB},
    "batch": {"submitJob": _ANY_JOB},
    "glue": {"startJobRun": _ANY_JOB},
    "databrew": {"startJobRun": _JOB},
    "mediaconvert": {"createJob": _JOB},
    "athena": {
        "startQueryExecution": _ANY_JOB,
        "stopQueryExecution": _PLAIN,
        "getQueryExecution": _PLAIN,
        "getQueryResults": _PLAIN,
        "startCalculationExecution": _JOB,
        "stopCalculationExecution": _PLAIN,
        "getCalculationExecution": _PLAIN,
        "startSession": _JOB,
        "getSession": _PLAIN,
        "terminateSession": _JOB,
    },
    "codebuild": {
        "startBuild": _ANY_JOB,
        "stopBuild": _PLAIN,
        "batchDeleteBuilds": _PLAIN,
        "batchGetReports": _PLAIN,
        "startBuildBatch": _ANY_JOB,
        "retryBuildBatch": _ANY_JOB,
        "stopBuildBatch": _PLAIN,
        "deleteBuildBatch": _PLAIN,
    },
    "eks": {
        "createCluster": _JOB,
        "deleteCluster": _JOB,
        "createFargateProfile": _JOB,
        "deleteFargateProfile": _JOB,
        "createNodegroup": _JOB,
        "deleteNodegroup": _JOB,
        "runJob": _JOB,
        "call": _PLAIN,
    },
    "elasticmapreduce": {
        "createCluster": _JOB,
        "terminateCluster": _JOB,
        "addStep": _JOB,
        "cancelStep": _PLAIN,
        "setClusterTerminationProtection": _PLAIN,
        "modifyInstanceFleetByName": _PLAIN,
        "modifyInstanceGroupByName": _PLAIN,
    },
    "emr-containers": {
        "startJobRun": _JOB,
        "createVirtualCluster": _PLAIN,
        "deleteVirtualCluster": _JOB,
    },
    "emr-serverless": {
        n: _JOB
        for n in (
            "createApplication",
            "startApplication",
            "stopApplication",
            "deleteApplication",
            "startJobRun",
            "cancelJobRun",
        )
    },
    "sagemaker": {
        "createTrainingJob": _JOB,
        "createTransformJob": _JOB,
        "createProcessingJob": _JOB,
        "createHyperParameterTuningJob": _JOB,
        "createLabelingJob": _JOB,
        "createModel": _PLAIN,
        "createEndpoint": _PLAIN,
        "createEndpointConfig": _PLAIN,
        "updateEndpoint": _PLAIN,
    },
    "bedrock": {"invokeModel": _PLAIN, "createModelCustomizationJob": _JOB},
}

_PARTITION = r"arn:aws[a-z-]*"
_LAMBDA = re.compile(
    _PARTITION + r":lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]+)?"
)
_ACTIVITY = re.compile(_PARTITION + r":states:[a-z0-9-]+:\d{12}:activity:[^:]+")
# Integration ARNs are documented as ``arn:aws:states:::service:action``; AWS also accepts
# them with the region and account filled in, as deployed public samples show.
_INTEGRATION = _PARTITION + r":states:(?:[a-z]{2}(?:-[a-z]+)+-\d+:\d{12}|:)"
_SERVICE = re.compile(_INTEGRATION + r":([a-z0-9-]+):([A-Za-z0-9]+)((?:\.[A-Za-z]+)?(?::2)?)")
_SDK = re.compile(_INTEGRATION + r":aws-sdk:[a-z0-9-]+:[A-Za-z0-9.]+(\.waitForTaskToken)?")


def is_recognised(resource: str) -> bool:
    """Whether AWS would accept ``resource`` as a Task's Resource."""
    if _LAMBDA.fullmatch(resource) or _ACTIVITY.fullmatch(resource) or _SDK.fullmatch(resource):
        return True
    match = _SERVICE.fullmatch(resource)
    if match is None:
        return False
    service, action, pattern = match.groups()
    actions = OPTIMISED.get(service)
    if actions is None:
        return True
    return pattern in actions.get(action, frozenset())


def check_resource(resource: object, machine_type: str, location: str) -> list[Diagnostic]:
    """The Resource must be recognised; EXPRESS machines cannot wait for callbacks or jobs."""
    if not isinstance(resource, str) or not is_recognised(resource):
        message = (
            f"The resource provided {resource} is not recognized. The value is not a valid "
            "resource ARN, or the resource is not available in this region."
        )
        return [Diagnostic(SCHEMA_VALIDATION_FAILED, message, location)]
    if machine_type == "EXPRESS":
        if _ACTIVITY.fullmatch(resource):
            # Express workflows run Request Response integrations only: no activity workers.
            message = "Express state machine does not support Activity ARN"
            return [Diagnostic(SCHEMA_VALIDATION_FAILED, message, location)]
        for suffix, blank in ((_W, " "), (_S, "")):
            if suffix in resource:
                # AWS's '.waitForTaskToken' sentence really ends in a blank before
                # " at <location>"; its '.sync' one (for '.sync:2' too) does not.
                message = f"Express state machine does not support '{suffix}' service integration"
                return [Diagnostic(SCHEMA_VALIDATION_FAILED, message + blank, location)]
    return []
