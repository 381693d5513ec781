"""The response of Lambda's Invoke API, which ``arn:aws:states:::lambda:invoke`` returns.

The function's result sits in ``Payload``; around it are the HTTP metadata the AWS SDK
reports. ``LogType: Tail`` adds ``LogResult``: the base64 tail of the invocation's log.
"""

from __future__ import annotations

import base64
import email.utils
import json
from typing import Any

LOG_TAIL_BYTES = 4096


def invoke_response(result: Any, request_id: str, log_tail: bool = False) -> dict[str, Any]:
    # The Python runtime serialises results with json.dumps' default separators.
    headers = {
        "Connection": "keep-alive",
        "Content-Length": str(len(json.dumps(result).encode())),
        "Content-Type": "application/json",
        "Date": email.utils.formatdate(usegmt=True),
        "X-Amz-Executed-Version": "$LATEST",
        "X-Amzn-Trace-Id": f"Root=1-{request_id[:8]}-{request_id.replace('-', '')[8:32]}",
        "x-amzn-Remapped-Content-Length": "0",
        "x-amzn-RequestId": request_id,
    }
    response: dict[str, Any] = {"ExecutedVersion": "$LATEST", "Payload": result}
    if log_tail:
        response["LogResult"] = headers["X-Amz-Log-Result"] = _log_result(request_id)
    response["SdkHttpMetadata"] = {
        "AllHttpHeaders": {
            k: v if k in ("Date", "X-Amzn-Trace-Id") else [v] for k, v in sorted(headers.items())
        },
        "HttpHeaders": dict(sorted(headers.items())),
        "HttpStatusCode": 200,
    }
    response["SdkResponseMetadata"] = {"RequestId": request_id}
    response["StatusCode"] = 200
    return response


def _log_result(request_id: str) -> str:
    """The platform's START/END/REPORT lines, base64-encoded, as Lambda returns the tail."""
    lines = (
        f"START RequestId: {request_id} Version: $LATEST\n"
        f"END RequestId: {request_id}\n"
        f"REPORT RequestId: {request_id}\n"
    )
    return base64.b64encode(lines.encode()[-LOG_TAIL_BYTES:]).decode()
