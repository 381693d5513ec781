"""What every action handler works with: the engine, the catalog, the integrations, and the
ARN and pagination helpers they share."""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

import orjson

from sagaway.api.errors import (
    ApiError,
    execution_missing,
    invalid_arn,
    invalid_name,
    machine_missing,
)
from sagaway.engine import arns
from sagaway.engine.engine import Engine
from sagaway.engine.integrations import Integrations
from sagaway.store.catalog import Catalog
from sagaway.store.ports import ExecutionRecord, ListCursor, StateMachineRecord

# AWS: 1-80 characters, none of whitespace, brackets, wildcards, punctuation or controls.
_NAME = re.compile(r"^[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]{1,80}$")
_MACHINE_ARN = re.compile(
    r"^arn:aws:states:([a-z0-9-]*):(\d{12}):stateMachine:([^:]+)(?::([^:]+))?$"
)
_EXECUTION_ARN = re.compile(r"^arn:aws:states:[a-z0-9-]*:\d{12}:(execution|express):[^:]+:[^:]+")

VERSION = "version"  # catalog kinds
ALIAS = "alias"
ACTIVITY = "activity"
TAGS = "tags"
EXECUTION = "execution"
MACHINE_META = "machine-meta"


def activity_exists(catalog: Catalog, arn: str) -> bool:
    """Activities live in the catalog; the engine's queues ask it before queueing a task."""
    return catalog.get(ACTIVITY, arn) is not None


@dataclass(frozen=True, slots=True)
class MachineRef:
    """A state machine ARN taken apart: the machine, and a version number or alias name."""

    arn: str  # the unqualified state machine ARN
    name: str
    qualifier: str | None = None

    @property
    def is_version(self) -> bool:
        return self.qualifier is not None and self.qualifier.isdigit()


@dataclass(slots=True)
class Api:
    engine: Engine
    catalog: Catalog
    integrations: Integrations
    poll_timeout: float = 60.0

    # Handlers read through the async methods: a read waits in a thread, never on the event
    # loop (a PostgreSQL read can wait on a lock or a slow network; other requests and the
    # executions this process runs must go on meanwhile). The find_* methods block.
    async def machine(self, arn: str) -> StateMachineRecord:
        return await asyncio.to_thread(self.find_machine, arn)

    async def execution(self, arn: str) -> ExecutionRecord:
        return await asyncio.to_thread(self.find_execution, arn)

    async def meta(self, arn: str) -> dict[str, Any]:
        return await asyncio.to_thread(self.execution_meta, arn)

    def find_machine(self, arn: str) -> StateMachineRecord:
        """The unqualified state machine ``arn`` (StateMachineDoesNotExist if absent)."""
        record = self.engine.journal.get_state_machine(arn)
        if record is None:
            raise machine_missing(arn)
        self.engine.known_state_machine(record)
        return record

    def find_execution(self, arn: str) -> ExecutionRecord:
        """The execution ``arn`` (InvalidArn if malformed, ExecutionDoesNotExist if absent)."""
        checked = check_execution_arn(arn)
        record = self.engine.journal.get_execution(checked)
        if record is None:
            raise execution_missing(checked)
        return record

    def execution_meta(self, arn: str) -> dict[str, Any]:
        return self.catalog.get(EXECUTION, arn) or {}


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise invalid_name(name)
    return name


def machine_ref(arn: str) -> MachineRef:
    match = _MACHINE_ARN.match(arn)
    if match is None:
        raise invalid_arn(arn)
    name, qualifier = match.group(3), match.group(4)
    return MachineRef(arns.state_machine(name), name, qualifier)


def check_execution_arn(arn: str) -> str:
    if not _EXECUTION_ARN.match(arn):
        raise invalid_arn(arn)
    return arn


def page(items: list[Any], params: dict[str, Any], key: str, default: int = 100) -> dict[str, Any]:
    """One page of ``items`` under ``key``, with nextToken when more remain."""
    limit = params.get("maxResults") or default
    start = decode_token(params.get("nextToken"))
    chunk = items[start : start + limit]
    out: dict[str, Any] = {key: chunk}
    if start + limit < len(items):
        out["nextToken"] = encode_token(start + limit)
    return out


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"sagaway:{offset}".encode()).decode()


def encode_cursor(cursor: ListCursor) -> str:
    """A ListExecutions token: where the next page resumes in the journal's keyset order."""
    return base64.urlsafe_b64encode(b"sagaway-list:" + orjson.dumps(list(cursor))).decode()


def decode_cursor(token: str | None) -> ListCursor | None:
    if not token:
        return None
    try:
        text = base64.urlsafe_b64decode(token.encode())
        prefix, _, body = text.partition(b":")
        date, arn = orjson.loads(body)
        if prefix != b"sagaway-list" or not isinstance(arn, str):
            raise ValueError(text)
        return float(date), arn
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ApiError("InvalidToken", f"Invalid Token: '{token}'") from exc


def decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        prefix, offset = text.split(":")
        if prefix != "sagaway" or int(offset) < 0:
            raise ValueError(text)
        return int(offset)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ApiError("InvalidToken", f"Invalid Token: '{token}'") from exc
