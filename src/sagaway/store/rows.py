"""Records <-> database rows, shared by every dialect (the column order of the queries)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from sagaway.store import payloads as P
from sagaway.store.ports import ExecutionRecord, StateMachineRecord, StepRecord
from sagaway.store.sqlite_writer import StepRows

MACHINE_COLUMNS = (
    "arn, name, definition, type, role_arn, created, status, revision_id, description, extra"
)
EXECUTION_COLUMNS = (
    "arn, state_machine_arn, name, status, input, start_date, definition, machine_type, "
    "stop_date, output, error, cause, version, state, redrive_count"
)


def machine_row(r: StateMachineRecord) -> tuple[Any, ...]:
    return (r.arn, r.name, r.definition, r.type, r.role_arn, r.created, r.status, r.revision_id,
            r.description, orjson.dumps(r.extra))  # fmt: skip


def machine(row: tuple[Any, ...]) -> StateMachineRecord:
    arn, name, definition, kind, role, created, status, revision, description, extra = row
    return StateMachineRecord(
        arn, name, definition, kind, role, created, status, revision, description,
        orjson.loads(extra),
    )  # fmt: skip


def execution_row(r: ExecutionRecord) -> tuple[Any, ...]:
    return (r.arn, r.state_machine_arn, r.name, r.status, r.input, r.start_date, r.definition,
            r.machine_type, r.stop_date, r.output, r.error, r.cause, r.version,
            None if r.state is None else P.maybe_compress(r.state), r.redrive_count)  # fmt: skip


# Columns of an execution row holding JSON texts that SQLite may keep compressed.
_TEXTS = (4, 6, 9)  # input, definition, output


def execution(row: tuple[Any, ...]) -> ExecutionRecord:
    values = list(row)
    for i in _TEXTS:
        if isinstance(values[i], bytes):
            values[i] = P.decompress(values[i]).decode("utf-8", "surrogatepass")
    if values[13] is not None:
        values[13] = P.decompress(bytes(values[13]))
    return ExecutionRecord(*values)


def linked_state(step: StepRecord) -> tuple[bytes, list[P.PayloadRow]]:
    """The step's snapshot linked to the large values it left out, and the payload rows
    holding their texts, to write with the step (the step is left as it is: a batch
    written again after a failure links it again, from the memo)."""
    if not step.state_texts:
        return step.state, []
    return P.link_snapshot(step.execution_arn, step.state, step.state_texts)


def update_row(step: StepRecord, state: bytes | None = None) -> tuple[Any, ...]:
    """Parameters of the guarded UPDATE that applies a step to its execution row
    (``state``: the linked snapshot, if computed already)."""
    state = linked_state(step)[0] if state is None else state
    return (P.maybe_compress(state), step.status, step.output, step.error, step.cause,
            step.stop_date, step.execution_arn, step.expected_version)  # fmt: skip


def history_rows(step: StepRecord) -> tuple[tuple[str, int, bytes], list[P.PayloadRow]]:
    """The step's history row, its large texts replaced by references, and the payload
    rows those refer to (see store/payloads.py). The row's JSON is kept on the step too
    (``encoded_events``)."""
    events, payloads = P.externalize(step.execution_arn, step.events)
    step.encoded_events = encoded = orjson.dumps(events)
    return (step.execution_arn, step.events[0]["id"], encoded), payloads


# Event ids start at 1; a reverse page without a cursor starts below this bound.
LAST_EVENT = 2**62


def history_bound(after: int | None, reverse: bool) -> int:
    """The exclusive event id a history page starts from."""
    if after is not None:
        return after
    return LAST_EVENT if reverse else 0


def page_events(
    blobs: Iterable[bytes], limit: int, bound: int, reverse: bool
) -> list[dict[str, Any]]:
    """Up to ``limit`` events past ``bound`` from history rows given in page order; stops
    decoding as soon as the page is full."""
    out: list[dict[str, Any]] = []
    for blob in blobs:
        events: list[dict[str, Any]] = orjson.loads(blob)
        if reverse:
            events.reverse()
        for event in events:
            if (event["id"] < bound) if reverse else (event["id"] > bound):
                out.append(event)
                if len(out) == limit:
                    return out
    return out


def step_rows(step: StepRecord) -> StepRows:
    """Everything a step writes, as plain rows (what the SQLite writer process is sent)."""
    create = None if step.create is None else _packed(execution_row(step.create), _TEXTS)
    state, linked = linked_state(step)
    history, payloads = history_rows(step) if step.events else (None, [])
    update = _packed(update_row(step, state), (2,))
    return StepRows(create, update, history, step.outbox, _distinct(payloads + linked))


class WrittenPayloads:
    """The payload rows this journal has committed lately, by ``(execution arn, digest)``,
    so that a step does not send them again. Every snapshot refers to the execution's
    input and its current document, and each step used to carry their rows again (a no-op
    ``INSERT OR IGNORE`` in the database, after being built, pickled and piped to the
    writer process). Only rows of steps the database accepted are noted, and payload rows
    are never deleted, so a row left out is always there already. Bounded: past ``limit``
    keys all are forgotten at once, and a row forgotten is sent again (harmless). The
    commit thread alone uses it, one batch at a time."""

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        self._keys: set[tuple[str, str]] = set()

    def unwritten(self, step: StepRows) -> StepRows:
        if not step.payloads:
            return step
        keys = self._keys
        fresh = [row for row in step.payloads if (row[0], row[1]) not in keys]
        if len(fresh) == len(step.payloads):
            return step
        return step._replace(payloads=fresh)

    def note(self, steps: list[StepRows], flags: list[bool]) -> None:
        if len(self._keys) > self.limit:
            self._keys.clear()
        add = self._keys.add
        for step, ok in zip(steps, flags, strict=True):
            if ok:
                for row in step.payloads:
                    add((row[0], row[1]))


def _distinct(rows: list[P.PayloadRow]) -> list[P.PayloadRow]:
    """One row per digest: a snapshot refers to texts its events carry too."""
    if len(rows) < 2:
        return rows
    return list({row[1]: row for row in rows}.values())


def _packed(row: tuple[Any, ...], texts: tuple[int, ...]) -> tuple[Any, ...]:
    """The row with its large texts compressed, for SQLite: it rewrites a whole row at
    every UPDATE, so an uncompressed 64 KiB input would be written again at every step
    (PostgreSQL keeps large values aside and never rewrites those it is not given)."""
    values = list(row)
    for i in texts:
        text = values[i]
        if not isinstance(text, str) or len(text) < P.COLUMN_LIMIT:
            continue
        if len(text) >= P.COMPRESS_LIMIT:
            values[i] = P.MEMO.pack(text)[1]  # the output's text was stored with its event
        else:
            values[i] = P.COLUMNS.pack(text)[1]
    return tuple(values)
