"""The store's ports: what the engine and the API need from a database, and nothing more.

Every adapter (SQLite, PostgreSQL) implements :class:`Journal` and passes the same contract
suite (``tests/store``). One interpreter step is one :class:`StepRecord`, written atomically:
history events, the new state (which holds the outstanding tasks and timers), outbox rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class VersionConflict(Exception):
    """A step was written against a state version that is no longer current."""


class StoreError(Exception):
    """The database cannot be used (corrupt, locked, full): nothing was written."""


@dataclass(frozen=True, slots=True)
class StateMachineRecord:
    arn: str
    name: str
    definition: str
    type: str = "STANDARD"
    role_arn: str = ""
    created: float = 0.0
    status: str = "ACTIVE"
    revision_id: str = ""
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # logging, tracing, tags, ...


@dataclass(frozen=True, slots=True)
class ExecutionRecord:
    arn: str
    state_machine_arn: str
    name: str
    status: str
    input: str
    start_date: float
    definition: str  # the definition the execution started with (it keeps it)
    machine_type: str = "STANDARD"
    stop_date: float | None = None
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    version: int = 0
    state: bytes | None = None
    redrive_count: int = 0


@dataclass(frozen=True, slots=True)
class ExecutionSummary:
    """What ListExecutions shows: an execution without its large columns (input, output,
    state, definition), so a page costs the same whatever the executions carry."""

    arn: str
    state_machine_arn: str
    name: str
    status: str
    start_date: float
    stop_date: float | None = None
    redrive_count: int = 0


# Where a page of ListExecutions resumes: the (start_date, arn) of the last item shown.
ListCursor = tuple[float, str]


@dataclass(slots=True)
class StepRecord:
    """One interpreter step, to be committed atomically (guarded by ``expected_version``).

    The state carries the execution's outstanding work (awaited Tasks with their inputs,
    timers with their due times), so new work and timers commit with it in one row."""

    execution_arn: str
    expected_version: int
    state: bytes
    status: str
    events: list[dict[str, Any]]
    outbox: list[tuple[str, bytes]] = field(default_factory=list)
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    stop_date: float | None = None
    # Set on an execution's first step: the row is inserted in the same transaction, and the
    # step fails (False) when the name is already taken for that state machine.
    create: ExecutionRecord | None = None
    # Large values ``state`` leaves out, as (owner, field, JSON text) (interpreter.codec):
    # the journal stores each text once in the payload store and links the snapshot to it.
    state_texts: list[tuple[str, str, str]] = field(default_factory=list)
    # ``events`` as the journal encoded them for its history row (store.rows.history_rows):
    # set when it does, so that tracing forwards them without encoding them again.
    encoded_events: bytes | None = None


@dataclass(frozen=True, slots=True)
class ExecutionQuery:
    """Which executions a listing selects: every field narrows it (None: no condition).
    ``after`` is the (start_date, arn) of the last row of the previous page, newest first."""

    state_machine_arn: str | None = None
    status: str | None = None
    name_prefix: str | None = None
    started_from: float | None = None
    started_to: float | None = None
    after: tuple[float, str] | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One operator action: who did what to which target, and how it ended."""

    at: float
    actor: str
    action: str
    target: str
    detail: str
    outcome: str
    id: int = 0


class Journal(Protocol):
    """The durable journal of executions."""

    def put_state_machine(self, record: StateMachineRecord) -> None: ...
    def get_state_machine(self, arn: str) -> StateMachineRecord | None: ...
    def list_state_machines(self) -> list[StateMachineRecord]: ...
    def delete_state_machine(self, arn: str) -> None: ...

    def create_execution(self, record: ExecutionRecord, first: StepRecord) -> bool:
        """Insert the execution and its first step; False if the name is taken."""
        ...

    def get_execution(self, arn: str) -> ExecutionRecord | None: ...
    def find_execution(self, state_machine_arn: str, name: str) -> ExecutionRecord | None:
        """The execution of that name (EXPRESS names can repeat: the newest)."""
        ...

    def list_executions(
        self, state_machine_arn: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[ExecutionRecord]: ...

    def list_execution_page(
        self,
        state_machine_arn: str,
        status: str | None,
        limit: int,
        after: ListCursor | None = None,
    ) -> list[ExecutionSummary]:
        """Up to ``limit`` executions of a machine, newest first (start_date, then arn),
        those after the cursor ``after``; read from an index, never from the large columns."""
        ...

    def commit(self, steps: Sequence[StepRecord]) -> list[bool]:
        """Write the steps in one transaction; per step, False on a version conflict."""
        ...

    def resumed_invocations(self, invocations: Sequence[tuple[str, str]]) -> list[int]:
        """Record that recovery re-issues these invocations, ``(execution arn, idempotency
        key)`` pairs whose process died before their outcome was journaled; for each, how
        many times it had been before. One transaction, committed before it returns: the
        next start must see it if this one dies too."""
        ...

    def pending_outbox(self, limit: int = 200) -> list[tuple[int, str, bytes]]:
        """Outbox rows that steps committed and no relay has handed on yet, oldest first, as
        ``(id, topic, body)``."""
        ...

    def leads_relay(self) -> bool:
        """Whether this process is the one that relays the outbox now. A database shared by
        a cluster has one relay at a time (the others would hand the same rows on again);
        when it dies, another member takes over. A single-process database: always."""
        ...

    def remove_outbox(self, ids: Sequence[int]) -> None:
        """Drop relayed rows (the bus's archive keeps their events). A relay that dies
        before this hands the rows on again: relaying is at-least-once."""
        ...

    def history(self, arn: str) -> list[dict[str, Any]]: ...

    def payload_texts(self, arn: str, digests: set[str]) -> dict[str, str]:
        """The texts of ``arn``'s payload store by digest: what a state snapshot refers to
        (see ``interpreter.codec.load_state``)."""
        ...

    def execution_summaries(self, query: ExecutionQuery) -> list[ExecutionSummary]:
        """One page of the executions ``query`` selects, newest first."""
        ...

    def execution_counts(self, query: ExecutionQuery, cap: int = 10_000) -> dict[str, int]:
        """How many executions ``query`` selects per status (its status and paging ignored),
        exact up to ``cap``; a status with more is reported as ``cap + 1``."""
        ...

    def record_audit(self, entry: AuditEntry) -> None: ...
    def audit_entries(self, limit: int = 100, before: int | None = None) -> list[AuditEntry]:
        """Audit entries newest first; ``before``: only those with a smaller id."""
        ...

    def history_page(
        self, arn: str, limit: int, after: int | None = None, reverse: bool = False
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` events of ``arn`` whose ids come after ``after`` (in the order
        asked; None: from the first, or with ``reverse`` the last). Decodes only the rows
        that hold them."""
        ...

    def ping(self) -> None:
        """Raise :class:`StoreError` unless the database answers and can take writes
        (SQLite: enough free disk space); for readiness probes."""
        ...

    def open_executions(self) -> list[ExecutionRecord]: ...
    def close(self) -> None: ...

    def cluster(self) -> ClusterOperations | None:
        """The operations that let several processes share this database (leases,
        wake-ups, deliveries), or None for a single-owner database: then the one process
        that opens it runs every execution in it, and recovery resumes them all."""
        ...


# The wake-ups ``ClusterOperations.listen`` reports: work to claim (new executions nobody
# owns, released ones) and calls delivered for an execution's owner.
WORK_CHANNEL = "sagaway_work"
DELIVERY_CHANNEL = "sagaway_delivery"

# A delivery as the owner reads it: (id, execution arn, kind, task token, payload).
Delivery = tuple[int, str, str, str | None, bytes]


class ClusterOperations(Protocol):
    """What a cluster member asks of a shared journal, besides the :class:`Journal` itself.

    Ownership is a lease per execution: ``owner`` is this member's identity (None: a client
    that journals executions unowned, for the workers to claim), ``lease_seconds`` how long
    a lease lasts without renewal. The journal's guarded step refuses a step from a member
    that lost the lease, so exactly one member advances an execution at a time."""

    owner: str | None
    lease_seconds: float

    def claim(self, limit: int = 500) -> list[ExecutionRecord]:
        """Take RUNNING executions nobody owns or whose owner's lease expired; each is
        taken by one claimer only, and none waits for another."""
        ...

    def reclaim(self, arns: list[str]) -> list[ExecutionRecord]:
        """Take back those of ``arns`` that this member still owns or nobody owns now."""
        ...

    def renew(self) -> None:
        """Extend the lease of every execution this member owns (and no other's)."""
        ...

    def owned(self) -> set[str]: ...

    def release(self) -> None:
        """Give up every execution this member owns and wake the others to claim them."""
        ...

    def listen(self, on_notify: Callable[[str], None], stop: threading.Event) -> None:
        """Block (in a thread) calling ``on_notify(channel)`` for each wake-up (new or
        released work; a delivery) until ``stop`` is set; once also after each connection,
        since a wake-up sent while nobody listened is lost."""
        ...

    def deliver(self, arn: str, kind: str, token: str | None, payload: bytes) -> bool:
        """Record a call (SendTaskSuccess, …, StopExecution) for ``arn``'s owner and wake
        it; False when that task already has an answer waiting."""
        ...

    def pending_deliveries(self) -> list[Delivery]:
        """The recorded calls for the RUNNING executions this member owns, oldest first."""
        ...

    def settle_deliveries(self, applied: dict[int, int]) -> set[int]:
        """Settle applied deliveries (id -> the owner's version when applied) whose effect
        is journaled (the execution's version passed it, or it ended): a task's answer is
        kept, marked settled (no longer pending, still refusing a second answer), until its
        execution ends; a stop or heartbeat is deleted. Deletes every delivery of an ended
        execution. Returns the ids of ``applied`` settled."""
        ...
