"""GetExecutionHistory: the journal's events, paged, optionally newest first and without
input and output data."""

from __future__ import annotations

import asyncio
from typing import Any

from sagaway.api.service import Api, decode_token, encode_token

# Detail fields that carry execution data (dropped when includeExecutionData is false).
_DATA_FIELDS = ("input", "output", "parameters", "inputDetails", "outputDetails")


def _without_data(event: dict[str, Any]) -> dict[str, Any]:
    out = dict(event)
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            out[key] = {k: v for k, v in value.items() if k not in _DATA_FIELDS}
    return out


async def get_execution_history(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    """One page read from the journal (a row ahead, so the last page has no token); the
    token is the id of the last event shown."""
    arn = (await api.execution(params["executionArn"])).arn
    limit = params.get("maxResults") or 100
    after = decode_token(params.get("nextToken")) or None
    reverse = bool(params.get("reverseOrder"))
    journal = api.engine.journal
    events = await asyncio.to_thread(journal.history_page, arn, limit + 1, after, reverse)
    out: dict[str, Any] = {"events": events[:limit]}
    if len(events) > limit:
        out["nextToken"] = encode_token(events[limit - 1]["id"])
    if params.get("includeExecutionData") is False:
        out["events"] = [_without_data(e) for e in out["events"]]
    return out


ACTIONS = {"GetExecutionHistory": get_execution_history}
