"""ARNs in AWS's format, so clients that parse them (boto3, the AWS CLI) are at home."""

from __future__ import annotations

import uuid

REGION = "us-east-1"
ACCOUNT = "111111111111"
DEFAULT_ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagaway"


def state_machine(name: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"


def execution(machine_name: str, name: str, *, express: bool = False) -> str:
    if express:  # AWS adds a generated part to EXPRESS execution ARNs
        return f"arn:aws:states:{REGION}:{ACCOUNT}:express:{machine_name}:{name}:{uuid.uuid4()}"
    return f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine_name}:{name}"
