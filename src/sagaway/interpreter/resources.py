"""What a Task's ``Resource`` ARN names, as the history describes it.

Three families exist and each has its own history events: a Lambda function ARN
(LambdaFunction*), an activity ARN (Activity*), and a service integration
``arn:aws:states:::<service>:<action>[.sync|.waitForTaskToken]`` (Task*).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

LAMBDA = "lambda"
ACTIVITY = "activity"
SERVICE = "service"

WAIT_FOR_TASK_TOKEN = ".waitForTaskToken"


@dataclass(frozen=True, slots=True)
class ResourceRef:
    family: str
    arn: str
    resource_type: str = ""  # history's resourceType, e.g. "lambda", "aws-sdk:s3"
    resource: str = ""  # history's resource, e.g. "invoke", "sendMessage.waitForTaskToken"
    region: str = "us-east-1"

    @property
    def waits_for_token(self) -> bool:
        return self.resource.endswith(WAIT_FOR_TASK_TOKEN)

    @property
    def runs_sync(self) -> bool:
        """``.sync`` or ``.sync:2``: the Task waits for the job it started to end."""
        return self.family == SERVICE and ".sync" in self.resource

    @property
    def function_name(self) -> str:
        """For a Lambda function ARN: the function name (qualifier dropped)."""
        parts = self.arn.split(":")
        return parts[6] if len(parts) > 6 else self.arn


@lru_cache(maxsize=1024)
def parse_resource(arn: str, region: str = "us-east-1") -> ResourceRef:
    parts = arn.split(":")
    if len(parts) >= 7 and parts[2] == "lambda" and parts[5] == "function":
        return ResourceRef(LAMBDA, arn, region=parts[3] or region)
    if len(parts) >= 7 and parts[2] == "states" and parts[5] == "activity":
        return ResourceRef(ACTIVITY, arn, region=parts[3] or region)
    if len(parts) >= 7 and parts[2] == "states":
        # An integration ARN may name a region and account (``arn:aws:states:us-east-1:
        # 123456789012:aws-sdk:s3:getObject``); the integration is the same either way.
        service = parts[5]
        rest = parts[6:]
        where = parts[3] or region
        if service == "aws-sdk" and len(rest) >= 2:
            return ResourceRef(SERVICE, arn, f"aws-sdk:{rest[0]}", ":".join(rest[1:]), where)
        return ResourceRef(SERVICE, arn, service, ":".join(rest), where)
    return ResourceRef(SERVICE, arn, "unknown", arn, region)
