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


def refusal(event: Any) -> str | None:
    """Why the bus refuses ``event`` (None when it takes it): it must be an object in
    EventBridge's envelope with an id (the key of the inbox, ledger and dead letters), a
    source, a detail-type and a detail object, which rules match on."""
    if not isinstance(event, dict):
        return f"an event is a JSON object, not {type(event).__name__}"
    if not isinstance(event.get("id"), str) or not event["id"]:
        return "the event has no id"
    for field in ("source", "detail-type"):
        if not isinstance(event.get(field), str):
            return f"the event's {field} is not a string"
    if not isinstance(event.get("detail"), dict):
        return "the event's detail is not an object"
    return None
