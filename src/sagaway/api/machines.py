"""State machine actions: Create, Describe, Update, Delete, List, ValidateStateMachineDefinition,
DescribeStateMachineForExecution."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import Any

from sagaway.api import tags, versions
from sagaway.api.errors import ApiError, machine_missing
from sagaway.api.service import TAGS, Api, check_name, machine_ref, page
from sagaway.asl.diagnostics import format_invalid_definition
from sagaway.asl.validate import validate_definition
from sagaway.engine import arns
from sagaway.store.ports import StateMachineRecord

DEFAULT_LOGGING = {"level": "OFF", "includeExecutionData": False}
DEFAULT_TRACING = {"enabled": False}


def check_definition(text: str, machine_type: str) -> None:
    diagnostics = [
        d for d in validate_definition(text, machine_type=machine_type) if d.severity == "ERROR"
    ]
    if diagnostics:
        raise ApiError("InvalidDefinition", format_invalid_definition(diagnostics, text))


def check_logging(logging: dict[str, Any] | None) -> None:
    if logging is None:
        return
    destinations = logging.get("destinations") or []
    if len(destinations) > 1 or (logging.get("level", "OFF") != "OFF" and not destinations):
        raise ApiError(
            "InvalidLoggingConfiguration",
            "Invalid Logging Configuration: Must specify exactly one Log Destination.",
        )


def check_version_description(params: dict[str, Any]) -> None:
    """CreateStateMachine / UpdateStateMachine: "You can only set the description if the
    publish parameter is set to true", else ValidationException."""
    if params.get("versionDescription") and not params.get("publish"):
        raise ApiError(
            "ValidationException", "Version description can only be set when publish is true"
        )


# What a configuration leaves out reads as the default: logging OFF without execution data
# (the level "is set to OFF" by default, and AWS describes {} as both members), no X-Ray.
_DEFAULTS: dict[str, dict[str, Any]] = {
    "loggingConfiguration": DEFAULT_LOGGING,
    "tracingConfiguration": DEFAULT_TRACING,
}


def _extra(params: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    extra = dict(base)
    for key in ("loggingConfiguration", "tracingConfiguration", "encryptionConfiguration"):
        if params.get(key) is not None:
            extra[key] = {**_DEFAULTS.get(key, {}), **params[key]}
    return extra


async def create_state_machine(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    name = check_name(params["name"])
    kind = params.get("type", "STANDARD")
    check_version_description(params)
    check_logging(params.get("loggingConfiguration"))
    check_definition(params["definition"], kind)
    tags.check_count(api, arns.state_machine(name), params.get("tags") or [])
    existing = await asyncio.to_thread(api.engine.journal.get_state_machine,
                                       arns.state_machine(name))  # fmt: skip
    if existing is not None:
        return _same_machine(existing, params, kind)
    record = api.engine.create_state_machine(
        name, params["definition"], type=kind, role_arn=params["roleArn"]
    )
    record = dataclasses.replace(record, extra=_extra(params, record.extra))
    api.engine.update_state_machine(record)
    if params.get("tags"):
        await asyncio.to_thread(api.catalog.put, TAGS, record.arn, {"tags": params["tags"]})
    out: dict[str, Any] = {"stateMachineArn": record.arn, "creationDate": record.created}
    if params.get("publish"):
        description = params.get("versionDescription", "")
        version = await asyncio.to_thread(versions.publish, api, record, description)
        out["stateMachineVersionArn"] = version["stateMachineVersionArn"]
    return out


def _same_machine(
    existing: StateMachineRecord, params: dict[str, Any], kind: str
) -> dict[str, Any]:
    # AWS: creating the same machine again is idempotent; anything different is refused.
    same = (existing.definition, existing.role_arn, existing.type) == (
        params["definition"], params["roleArn"], kind,
    )  # fmt: skip
    if not same:
        raise ApiError(
            "StateMachineAlreadyExists", f"State Machine Already Exists: '{existing.arn}'"
        )
    return {"stateMachineArn": existing.arn, "creationDate": existing.created}


def describe_record(record: StateMachineRecord) -> dict[str, Any]:
    out = {
        "stateMachineArn": record.arn,
        "name": record.name,
        "status": record.status,
        "definition": record.definition,
        "roleArn": record.role_arn,
        "type": record.type,
        "creationDate": record.created,
        "loggingConfiguration": record.extra.get("loggingConfiguration", DEFAULT_LOGGING),
        "tracingConfiguration": record.extra.get("tracingConfiguration", DEFAULT_TRACING),
        "revisionId": record.revision_id,
    }
    if record.description:
        out["description"] = record.description
    return out


async def describe_state_machine(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    ref = machine_ref(params["stateMachineArn"])
    if ref.qualifier is not None:
        return await asyncio.to_thread(versions.describe_version, api, params["stateMachineArn"])
    return describe_record(await api.machine(ref.arn))


async def update_state_machine(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["stateMachineArn"]
    ref = machine_ref(arn)
    if ref.qualifier is not None:  # versions are immutable; aliases are not machines
        raise machine_missing(arn)
    fields = ("definition", "roleArn", "loggingConfiguration", "tracingConfiguration")
    if all(params.get(key) is None for key in fields):
        raise ApiError(
            "MissingRequiredParameter",
            "Either the definition, the role ARN, the LoggingConfiguration, "
            "or the TracingConfiguration must be specified",
        )
    check_version_description(params)
    check_logging(params.get("loggingConfiguration"))
    record = await api.machine(arn)
    definition = params.get("definition") or record.definition
    check_definition(definition, record.type)
    changed = dataclasses.replace(
        record,
        definition=definition,
        role_arn=params.get("roleArn") or record.role_arn,
        revision_id=uuid.uuid4().hex,
        extra=_extra(params, record.extra),
    )
    api.engine.update_state_machine(changed)
    out: dict[str, Any] = {"updateDate": api.engine.clock.now(), "revisionId": changed.revision_id}
    if params.get("publish"):
        description = params.get("versionDescription", "")
        version = await asyncio.to_thread(versions.publish, api, changed, description)
        out["stateMachineVersionArn"] = version["stateMachineVersionArn"]
    return out


async def delete_state_machine(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    ref = machine_ref(params["stateMachineArn"])
    if ref.qualifier is not None:
        raise ApiError(
            "ValidationException", "Use DeleteStateMachineVersion or DeleteStateMachineAlias"
        )
    await asyncio.to_thread(versions.forget_machine, api, ref.arn)
    await asyncio.to_thread(api.catalog.delete, TAGS, ref.arn)
    api.engine.delete_state_machine(ref.arn)
    return {}


async def list_state_machines(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    machines = await asyncio.to_thread(api.engine.journal.list_state_machines)
    items = [
        {"stateMachineArn": r.arn, "name": r.name, "type": r.type, "creationDate": r.created}
        for r in machines
    ]
    return page(items, params, "stateMachines")


async def validate_state_machine_definition(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    diagnostics = validate_definition(
        params["definition"], machine_type=params.get("type", "STANDARD")
    )
    if params.get("severity") == "ERROR":
        diagnostics = [d for d in diagnostics if d.severity == "ERROR"]
    limit = params.get("maxResults") or 100
    rows = [{k: v for k, v in vars(d).items() if v is not None} for d in diagnostics]
    failed = any(d.severity == "ERROR" for d in diagnostics)
    return {"result": "FAIL" if failed else "OK", "diagnostics": rows[:limit],
            "truncated": len(rows) > limit}  # fmt: skip


async def describe_state_machine_for_execution(api: Api, params: dict[str, Any]) -> dict[str, Any]:
    record = await api.execution(params["executionArn"])
    machine = await asyncio.to_thread(api.engine.journal.get_state_machine,
                                      record.state_machine_arn)  # fmt: skip
    name = machine.name if machine else record.state_machine_arn.rsplit(":", 1)[-1]
    extra = machine.extra if machine else {}
    return {
        "stateMachineArn": record.state_machine_arn,
        "name": name,
        "definition": record.definition,
        "roleArn": machine.role_arn if machine else arns.DEFAULT_ROLE,
        "updateDate": machine.created if machine else record.start_date,
        "loggingConfiguration": extra.get("loggingConfiguration", DEFAULT_LOGGING),
        "tracingConfiguration": extra.get("tracingConfiguration", DEFAULT_TRACING),
    }


ACTIONS = {
    "CreateStateMachine": create_state_machine,
    "DescribeStateMachine": describe_state_machine,
    "UpdateStateMachine": update_state_machine,
    "DeleteStateMachine": delete_state_machine,
    "ListStateMachines": list_state_machines,
    "ValidateStateMachineDefinition": validate_state_machine_definition,
    "DescribeStateMachineForExecution": describe_state_machine_for_execution,
}
