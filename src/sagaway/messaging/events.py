"""Events in EventBridge's envelope, so patterns written for EventBridge match them as is."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

REGION = "us-east-1"
ACCOUNT = "111111111111"


def make_event(
    source: str,
    detail_type: str,
    detail: dict[str, Any],
    *,
    event_id: str | None = None,
    time: float | None = None,
    resources: list[str] | None = None,
) -> dict[str, Any]:
    moment = datetime.now(UTC) if time is None else datetime.fromtimestamp(time, UTC)
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": resources or [],
        "detail": detail,
    }
