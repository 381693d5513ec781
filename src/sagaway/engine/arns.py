"""ARNs in AWS's format, so clients that parse them (boto3, the AWS CLI) are at home."""

from __future__ import annotations

import os

REGION = "us-east-1"
ACCOUNT = "111111111111"
DEFAULT_ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagaway"


def state_machine(name: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"


def is_express(execution_arn: str) -> bool:
    """Whether the ARN is an EXPRESS execution's (``arn:aws:states:R:A:express:...``)."""
    parts = execution_arn.split(":", 6)
    return len(parts) > 5 and parts[5] == "express"


def execution(machine_name: str, name: str, *, express: bool = False) -> str:
    if express:  # AWS adds a generated part to EXPRESS execution ARNs
        return f"arn:aws:states:{REGION}:{ACCOUNT}:express:{machine_name}:{name}:{uuid4_text()}"
    return f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine_name}:{name}"


def uuid4_text() -> str:
    """``str(uuid.uuid4())``, formatted directly from the same 16 random bytes (one is made
    per EXPRESS start; the UUID object would only be turned back into this text)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
