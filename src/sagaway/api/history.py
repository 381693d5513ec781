"""GetExecutionHistory: the journal's events, paged, optionally newest first and without
input and output data."""

from __future__ import annotations

from typing import Any

from sagaway.api.service import Api, page

# Detail fields that carry execution data (dropped when includeExecutionData is false).
_DATA_FIELDS = ("input", "output", "parameters", "inputDetails", "outputDetails")


def _without_data(event: dict[str, Any]) -> dict[str, Any]:
    out = dict(event)
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            out[key] = {k: v for k, v in value.items() if k not in _DATA_FIELDS}
    return out


async def get_execution_history(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    arn = api.execution(params["executionArn"]).arn
    events = api.engine.journal.history(arn)
    if params.get("reverseOrder"):
        events.reverse()
    if params.get("includeExecutionData") is False:
        events = [_without_data(e) for e in events]
    return page(events, params, "events")


ACTIONS = {"GetExecutionHistory": get_execution_history}
