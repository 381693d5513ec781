"""State machine versions (immutable, numbered snapshots) and aliases (weighted routes to
versions): Publish/List/DeleteStateMachineVersion, Create/Describe/Update/Delete/
ListStateMachineAlias, and resolving a qualified ARN for StartExecution."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from typing import Any

from sagaway.api.errors import ApiError, conflict, machine_missing, resource_missing
from sagaway.api.service import (
    ALIAS,
    MACHINE_META,
    VERSION,
    Api,
    check_name,
    machine_ref,
    page,
)
from sagaway.store.ports import StateMachineRecord


def publish(api: Api, record: StateMachineRecord, description: str = "") -> dict[str, Any]:
    """Publish the machine's current revision (the latest version again if unchanged)."""
    existing = api.catalog.list(VERSION, record.arn)
    if existing and existing[-1]["revisionId"] == record.revision_id:
        return existing[-1]
    meta = api.catalog.get(MACHINE_META, record.arn) or {"nextVersion": 1}
    number = int(meta["nextVersion"])  # numbers are never reused, even after a delete
    api.catalog.put(MACHINE_META, record.arn, {"nextVersion": number + 1})
    version: dict[str, Any] = {
        "stateMachineVersionArn": f"{record.arn}:{number}",
        "version": number,
        "name": record.name,
        "definition": record.definition,
        "roleArn": record.role_arn,
        "type": record.type,
        "revisionId": record.revision_id,
        "description": description,
        "creationDate": api.engine.clock.now(),
        "extra": record.extra,
    }
    api.catalog.put(VERSION, version["stateMachineVersionArn"], version, parent=record.arn)
    return version


def version(api: Api, arn: str) -> dict[str, Any]:
    found = api.catalog.get(VERSION, arn)
    if found is None:
        raise machine_missing(arn)
    return found


def as_record(found: dict[str, Any], machine_arn: str) -> StateMachineRecord:
    """The version as a record the engine can run (the machine's own ARN and name)."""
    return StateMachineRecord(
        arn=machine_arn, name=found["name"], definition=found["definition"],
        type=found["type"], role_arn=found["roleArn"], created=found["creationDate"],
        revision_id=found["revisionId"],
    )  # fmt: skip


def describe_version(api: Api, arn: str) -> dict[str, Any]:
    ref = machine_ref(arn)
    if not ref.is_version:
        raise ApiError("InvalidArn", f"Invalid Arn: 'Unsupported ARN type: {arn}'")
    found = version(api, arn)
    from sagaway.api.machines import describe_record

    out = describe_record(dataclasses.replace(as_record(found, arn), extra=found["extra"]))
    if found["description"]:
        out["description"] = found["description"]
    return out


def resolve(api: Api, arn: str) -> tuple[StateMachineRecord | None, dict[str, Any]]:
    """For StartExecution: (the definition to run, or None for the current one; the
    version/alias ARNs the execution records)."""
    ref = machine_ref(arn)
    if ref.qualifier is None:
        return None, {}
    if ref.is_version:
        return as_record(version(api, arn), ref.arn), {"stateMachineVersionArn": arn}
    alias = api.catalog.get(ALIAS, arn)
    if alias is None:
        raise machine_missing(arn)
    routes = alias["routingConfiguration"]
    chosen = random.choices(routes, weights=[r["weight"] for r in routes])[0]
    target = chosen["stateMachineVersionArn"]
    meta = {"stateMachineVersionArn": target, "stateMachineAliasArn": arn}
    return as_record(version(api, target), ref.arn), meta


def forget_machine(api: Api, machine_arn: str) -> None:
    for item in api.catalog.list(VERSION, machine_arn):
        api.catalog.delete(VERSION, item["stateMachineVersionArn"])
    for item in api.catalog.list(ALIAS, machine_arn):
        api.catalog.delete(ALIAS, item["stateMachineAliasArn"])


async def publish_state_machine_version(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    ref = machine_ref(params["stateMachineArn"])
    if ref.qualifier is not None:
        raise machine_missing(params["stateMachineArn"])
    record = await api.machine(ref.arn)
    wanted = params.get("revisionId")
    if wanted is not None and wanted != record.revision_id:
        raise conflict(
            f"Failed to publish the State Machine version for revision {wanted}. "
            f"The current State Machine revision is {record.revision_id}."
        )
    found = await asyncio.to_thread(publish, api, record, params.get("description", ""))
    return {"creationDate": found["creationDate"],
            "stateMachineVersionArn": found["stateMachineVersionArn"]}  # fmt: skip


async def list_state_machine_versions(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    ref = machine_ref(params["stateMachineArn"])
    await api.machine(ref.arn)
    found = await asyncio.to_thread(api.catalog.list, VERSION, ref.arn)
    items = [
        {"stateMachineVersionArn": v["stateMachineVersionArn"], "creationDate": v["creationDate"]}
        for v in reversed(found)
    ]
    return page(items, params, "stateMachineVersions")


async def delete_state_machine_version(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["stateMachineVersionArn"]
    ref = machine_ref(arn)
    if not ref.is_version:
        raise ApiError("InvalidArn", f"Invalid Arn: 'Unsupported ARN type: {arn}'")
    await asyncio.to_thread(_delete_version, api, ref.arn, arn)
    return {}


def _delete_version(api: Api, machine_arn: str, arn: str) -> None:
    for alias in api.catalog.list(ALIAS, machine_arn):
        if any(r["stateMachineVersionArn"] == arn for r in alias["routingConfiguration"]):
            raise conflict(
                f"Version to be deleted must not be referenced by an alias. Current list of "
                f"aliases referencing this version: [{alias['name']}]"
            )
    api.catalog.delete(VERSION, arn)


def _check_routes(api: Api, machine_arn: str, routes: list[dict[str, Any]]) -> None:
    for route in routes:
        target = route["stateMachineVersionArn"]
        ref = machine_ref(target)
        if ref.arn != machine_arn or not ref.is_version:
            raise ApiError("ValidationException", f"Invalid version ARN: '{target}'")
        if api.catalog.get(VERSION, target) is None:
            raise resource_missing(target)
    if sum(r["weight"] for r in routes) != 100:
        raise ApiError("ValidationException", "Sum of routing configuration weights must be 100")


async def create_state_machine_alias(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    name = check_name(params["name"])
    routes = params["routingConfiguration"]
    machine_arn = machine_ref(routes[0]["stateMachineVersionArn"]).arn
    await api.machine(machine_arn)
    now = api.engine.clock.now()
    alias = {"stateMachineAliasArn": f"{machine_arn}:{name}", "name": name,
             "routingConfiguration": routes, "description": params.get("description", ""),
             "creationDate": now, "updateDate": now}  # fmt: skip
    return await asyncio.to_thread(_create_alias, api, machine_arn, alias)


def _create_alias(api: Api, machine_arn: str, alias: dict[str, Any]) -> dict[str, Any]:
    """The alias in the catalog (the one there already when it is the same: AWS's create
    is idempotent); blocking, so off the event loop."""
    routes, arn = alias["routingConfiguration"], alias["stateMachineAliasArn"]
    _check_routes(api, machine_arn, routes)
    existing = api.catalog.get(ALIAS, arn)
    if existing is not None:
        same = (existing["routingConfiguration"], existing["description"]) == (
            routes, alias["description"],
        )  # fmt: skip
        if not same:
            raise conflict(f"Failed to create alias because an alias with the same name and a "
                           f"different routing configuration already exists: '{arn}'")  # fmt: skip
        return {"stateMachineAliasArn": arn, "creationDate": existing["creationDate"]}
    api.catalog.put(ALIAS, arn, alias, parent=machine_arn)
    return {"stateMachineAliasArn": arn, "creationDate": alias["creationDate"]}


def _alias(api: Api, arn: str) -> dict[str, Any]:
    ref = machine_ref(arn)
    if ref.qualifier is None or ref.is_version:
        raise ApiError("InvalidArn", f"Invalid Arn: 'Unsupported ARN type: {arn}'")
    found = api.catalog.get(ALIAS, arn)
    if found is None:
        raise resource_missing(arn)
    return found


async def describe_state_machine_alias(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    found = await asyncio.to_thread(_alias, api, params["stateMachineAliasArn"])
    if not found["description"]:
        found.pop("description")
    return found


async def update_state_machine_alias(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    return await asyncio.to_thread(_update_alias, api, params)


def _update_alias(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    found = _alias(api, params["stateMachineAliasArn"])
    if params.get("routingConfiguration") is None and params.get("description") is None:
        raise ApiError(
            "ValidationException",
            "Either the description or the RoutingConfiguration must be specified",
        )
    if params.get("routingConfiguration") is not None:
        machine_arn = machine_ref(found["stateMachineAliasArn"]).arn
        _check_routes(api, machine_arn, params["routingConfiguration"])
        found["routingConfiguration"] = params["routingConfiguration"]
    if params.get("description") is not None:
        found["description"] = params["description"]
    found["updateDate"] = api.engine.clock.now()
    parent = machine_ref(found["stateMachineAliasArn"]).arn
    api.catalog.put(ALIAS, found["stateMachineAliasArn"], found, parent=parent)
    return {"updateDate": found["updateDate"]}


async def delete_state_machine_alias(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["stateMachineAliasArn"]
    await asyncio.to_thread(_alias, api, arn)
    await asyncio.to_thread(api.catalog.delete, ALIAS, arn)
    return {}


async def list_state_machine_aliases(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    ref = machine_ref(params["stateMachineArn"])
    await api.machine(ref.arn)
    found = await asyncio.to_thread(api.catalog.list, ALIAS, ref.arn)
    items = [
        {"stateMachineAliasArn": a["stateMachineAliasArn"], "creationDate": a["creationDate"]}
        for a in found
    ]
    return page(items, params, "stateMachineAliases")


ACTIONS = {
    "PublishStateMachineVersion": publish_state_machine_version,
    "ListStateMachineVersions": list_state_machine_versions,
    "DeleteStateMachineVersion": delete_state_machine_version,
    "CreateStateMachineAlias": create_state_machine_alias,
    "DescribeStateMachineAlias": describe_state_machine_alias,
    "UpdateStateMachineAlias": update_state_machine_alias,
    "DeleteStateMachineAlias": delete_state_machine_alias,
    "ListStateMachineAliases": list_state_machine_aliases,
}
