"""TagResource, UntagResource, ListTagsForResource for state machines and activities."""

from __future__ import annotations

import asyncio
from typing import Any

from sagaway.api.errors import ApiError, resource_missing, validation
from sagaway.api.service import ACTIVITY, ALIAS, TAGS, Api, machine_ref


def _check(api: Api, arn: str) -> None:
    if ":activity:" in arn:
        exists = api.catalog.get(ACTIVITY, arn) is not None
    else:
        ref = machine_ref(arn)
        if ref.qualifier is None:
            exists = api.engine.journal.get_state_machine(arn) is not None
        else:
            exists = api.catalog.get(ALIAS, arn) is not None
    if not exists:
        raise resource_missing(arn)


def check_count(api: Api, arn: str, tags: list[dict[str, str]]) -> None:
    """AWS's quota of tags per resource (50 unless configured): TooManyTags."""
    limit = api.engine.limits.tags_per_resource
    keys = {t["key"] for t in tags}
    if limit is not None and len(keys) > limit:
        raise ApiError(
            "TooManyTags",
            f"You've exceeded the number of tags allowed for a resource ({len(keys)} > {limit})",
            fields={"resourceName": arn},
        )


def _tags(api: Api, arn: str) -> list[dict[str, str]]:
    found = api.catalog.get(TAGS, arn)
    return list(found["tags"]) if found else []


async def tag_resource(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["resourceArn"]
    # Tag.key is optional in the model's shape, but a tag without a key is no tag.
    for position, tag in enumerate(params["tags"], 1):
        if tag.get("key") is None:
            raise validation(
                f"1 validation error detected: Value null at 'tags.{position}.member.key' "
                "failed to satisfy constraint: Member must not be null"
            )
    await asyncio.to_thread(_tag, api, arn, params["tags"])
    return {}


def _tag(api: Api, arn: str, added: list[dict[str, str]]) -> None:
    _check(api, arn)
    merged = {t["key"]: t.get("value", "") for t in _tags(api, arn)}
    merged.update({t["key"]: t.get("value", "") for t in added})
    check_count(api, arn, [{"key": k} for k in merged])
    api.catalog.put(TAGS, arn, {"tags": [{"key": k, "value": v} for k, v in merged.items()]})


async def untag_resource(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    await asyncio.to_thread(_untag, api, params["resourceArn"], set(params["tagKeys"]))
    return {}


def _untag(api: Api, arn: str, drop: set[str]) -> None:
    _check(api, arn)
    kept = [t for t in _tags(api, arn) if t["key"] not in drop]
    api.catalog.put(TAGS, arn, {"tags": kept})


async def list_tags_for_resource(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    return {"tags": await asyncio.to_thread(_listed, api, params["resourceArn"])}


def _listed(api: Api, arn: str) -> list[dict[str, str]]:
    _check(api, arn)
    return _tags(api, arn)


ACTIONS = {
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
}
