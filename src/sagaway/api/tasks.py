"""Answering tasks (SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat) and activities
(Create/Delete/Describe/ListActivities, GetActivityTask)."""

from __future__ import annotations

import asyncio
from typing import Any

from sagaway.api import tags
from sagaway.api.errors import ApiError, activity_missing, invalid_arn
from sagaway.api.service import ACTIVITY, TAGS, Api, check_name, page
from sagaway.engine import arns
from sagaway.engine.callbacks import TaskTokenError
from sagaway.engine.deliveries import FAILURE, HEARTBEAT, SUCCESS
from sagaway.expressions.jsontext import loads_document


async def _answer(api: Api, task_token: str, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    try:
        await api.integrations.callbacks.respond(task_token, kind, fields)
    except TaskTokenError as exc:
        raise ApiError(exc.code, exc.message) from exc
    return {}


async def send_task_success(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    text = params["output"]
    try:
        loads_document(text)
    except ValueError as exc:
        raise ApiError("InvalidOutput", f"Invalid Output: '{exc}'") from exc
    return await _answer(api, params["taskToken"], SUCCESS, {"output": text})


async def send_task_failure(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    # AWS lets both be absent; the failure then carries null Error and Cause.
    fields = {"error": params.get("error"), "cause": params.get("cause")}
    return await _answer(api, params["taskToken"], FAILURE, fields)


async def send_task_heartbeat(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    return await _answer(api, params["taskToken"], HEARTBEAT, {})


def activity_arn(name: str) -> str:
    return f"arn:aws:states:{arns.REGION}:{arns.ACCOUNT}:activity:{name}"


def _activity(api: Api, arn: str) -> dict[str, Any]:
    if ":activity:" not in arn or not arn.startswith("arn:aws:states:"):
        raise invalid_arn(arn)
    found = api.catalog.get(ACTIVITY, arn)
    if found is None:
        raise activity_missing(arn)
    return found


async def create_activity(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    name = check_name(params["name"])
    arn = activity_arn(name)
    tags.check_count(api, arn, params.get("tags") or [])
    body = {"activityArn": arn, "name": name, "creationDate": api.engine.clock.now()}
    body = await asyncio.to_thread(_create_activity, api, body, params.get("tags"))
    return {"activityArn": arn, "creationDate": body["creationDate"]}


def _create_activity(
    api: Api, body: dict[str, Any], tagged: list[dict[str, str]] | None
) -> dict[str, Any]:
    """The activity in the catalog (the one there already: AWS's create is idempotent)."""
    arn = body["activityArn"]
    if not api.catalog.insert(ACTIVITY, arn, body):
        body = _activity(api, arn)
    if tagged:
        api.catalog.put(TAGS, arn, {"tags": tagged})
    return body


async def delete_activity(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["activityArn"]
    if ":activity:" not in arn:
        raise invalid_arn(arn)
    await asyncio.to_thread(api.catalog.delete, ACTIVITY, arn)
    await asyncio.to_thread(api.catalog.delete, TAGS, arn)
    api.integrations.activities.forget(arn)
    return {}


async def describe_activity(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    return await asyncio.to_thread(_activity, api, params["activityArn"])


async def list_activities(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    return page(await asyncio.to_thread(api.catalog.list, ACTIVITY), params, "activities")


async def get_activity_task(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["activityArn"]
    await asyncio.to_thread(_activity, api, arn)
    task = await api.integrations.activities.poll(arn, params.get("workerName"), api.poll_timeout)
    if task is None:
        return {}  # AWS answers a poll that found nothing with no token
    token, text = task
    return {"taskToken": token, "input": text}


ACTIONS = {
    "SendTaskSuccess": send_task_success,
    "SendTaskFailure": send_task_failure,
    "SendTaskHeartbeat": send_task_heartbeat,
    "CreateActivity": create_activity,
    "DeleteActivity": delete_activity,
    "DescribeActivity": describe_activity,
    "ListActivities": list_activities,
    "GetActivityTask": get_activity_task,
}
