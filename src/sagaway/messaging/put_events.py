"""EventBridge's PutEvents on a Sagaway bus (what ``arn:aws:states:::events:putEvents`` calls).

Entries are checked one by one, as EventBridge checks them: a bad entry fails alone (its
result carries ``ErrorCode`` and ``ErrorMessage``) and the good ones are published all the
same. Published means written to the bus's outbox, every entry of one call in one
transaction; the relay then hands them to the bus (archive, rules) at least once. Event ids
are derived from a key the caller gives (Sagaway: the Task's idempotency key), so a call
repeated after a crash writes the same rows again, which the outbox ignores: an entry is
published once however often its Task is invoked.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from sagaway.messaging.bus import EventBus
from sagaway.messaging.events import make_event
from sagaway.messaging.journal_relay import JournalRelay
from sagaway.messaging.outbox import OutboxRelay, Sweep, ensure_outbox, write_event
from sagaway.messaging.sqlite import connect, path_from_url, transaction
from sagaway.messaging.stores import BusStores, is_postgres, open_bus_stores
from sagaway.observability.context import stamp_event
from sagaway.store.ports import Journal

MAX_ENTRIES = 10  # AWS: 1 to 10 entries per call
MAX_SIZE = 256 * 1024  # AWS: the entries of one call, counted as EventBridge counts them
DEFAULT_BUS = "default"
_IDS = uuid.UUID("5a6a7761-7962-7573-8000-657665e7e700")  # namespace of derived event ids


class PutEventsError(ValueError):
    """The whole call is refused (EventBridge's ValidationException); nothing is published."""


def bus_url_beside(db_url: str) -> str:
    """The default bus database for a journal: ``x.db`` -> ``x-events.db`` beside it; a
    journal in PostgreSQL keeps the bus in its own database (one bus for the whole cluster);
    one in memory gets ``sagaway-events.db`` in the working directory."""
    if is_postgres(db_url):
        return db_url
    path = path_from_url(db_url)
    if ("://" in db_url and not db_url.startswith("sqlite:")) or path == ":memory:":
        return "sqlite:///sagaway-events.db"
    file = PurePosixPath(path)
    suffix = file.suffix or ".db"
    return f"sqlite:///{file.with_name(f'{file.stem}-events{suffix}')}"


def outbox(events: list[dict[str, Any]]) -> tuple[tuple[str, bytes], ...]:
    """The events as journal outbox rows ``(bus name, JSON body)``."""
    return tuple((DEFAULT_BUS, json.dumps(event).encode()) for event in events)


def _invalid(field: str, reason: str) -> dict[str, str]:
    message = f"Parameter {field} is not valid. Reason: {reason}"
    return {"ErrorCode": "InvalidArgument", "ErrorMessage": message}


def _required(field: str) -> dict[str, str]:
    return _invalid(field, f"{field} is a required argument.")


def _detail(value: Any) -> dict[str, Any] | None:
    """The Detail object. Step Functions sends an object as JSON text; text must hold a
    JSON object (``"\\"text\\""`` is MalformedDetail, as EventBridge answers)."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


def _time(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value).replace("Z", "+00:00")
    return datetime.fromisoformat(text).timestamp()


def _size(entry: dict[str, Any]) -> int:
    # EventBridge counts the UTF-8 bytes of Source, DetailType, Detail and Resources.
    parts = [entry.get("Source"), entry.get("DetailType"), entry.get("Detail")]
    resources = entry.get("Resources")
    parts += resources if isinstance(resources, list) else [resources]
    text = "".join(p if isinstance(p, str) else json.dumps(p) for p in parts if p is not None)
    return len(text.encode())


def check_entries(entries: Any) -> list[dict[str, Any]]:
    """The entries, or PutEventsError with the message EventBridge gives for the call."""
    if not isinstance(entries, list) or not entries:
        value = "null" if entries is None else json.dumps(entries)[:100]
        raise PutEventsError(f"1 validation error detected: Value {value} at 'entries' failed "
                             "to satisfy constraint: Member must have length greater than or "
                             "equal to 1")  # fmt: skip
    if len(entries) > MAX_ENTRIES:
        raise PutEventsError("1 validation error detected: Value at 'entries' failed to "
                             "satisfy constraint: Member must have length less than or equal "
                             f"to {MAX_ENTRIES}")  # fmt: skip
    if not all(isinstance(entry, dict) for entry in entries):
        raise PutEventsError("Each entry of Entries must be an object")
    if sum(_size(entry) for entry in entries) > MAX_SIZE:
        raise PutEventsError("Total size of the entries in the request is over the limit.")
    return entries


def to_event(entry: dict[str, Any], event_id: str, buses: set[str]) -> dict[str, Any]:
    """The entry as an event in EventBridge's envelope, or its PutEventsResultEntry error."""
    for field in ("Source", "DetailType", "Detail"):
        if entry.get(field) is None or entry[field] == "":  # an empty object is a Detail
            return _required(field)
    detail = _detail(entry["Detail"])
    if detail is None:
        return {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    resources = entry.get("Resources") or []
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        return _invalid("Resources", "Resources must be a list of strings.")
    name = str(entry.get("EventBusName") or DEFAULT_BUS).rsplit("/", 1)[-1]
    if name not in buses:
        error = "ResourceNotFoundException"
        return {"ErrorCode": error, "ErrorMessage": f"Event bus {name} does not exist."}
    try:
        moment = _time(entry["Time"]) if entry.get("Time") is not None else None
    except (TypeError, ValueError):
        return _invalid("Time", "Time must be a timestamp.")
    source, detail_type = str(entry["Source"]), str(entry["DetailType"])
    return make_event(source, detail_type, detail, event_id=event_id, time=moment,
                      resources=resources)  # fmt: skip


class ServerBus:
    """The bus of one server: an :class:`EventBus` (its rules, and an archive, inbox and
    default dead-letter queue in the bus database), the relays that feed it and, for a SQLite
    bus database, the outbox PutEvents outside a step writes to.

    ``bus`` lets the embedding code bring its own (with its rules); by default the bus is
    named ``default``, as an AWS account's, and a rule whose target keeps failing parks the
    event in the dead-letter queue ``<rule>-dlq`` of the bus database. Either way it also
    answers to ``default``. With a ``journal``, the events steps commit in its outbox are
    relayed to the bus (:class:`JournalRelay`). ``url`` is a SQLite file or the cluster's
    PostgreSQL database, where every member shares the bus's stores."""

    def __init__(self, url: str, bus: EventBus | None = None,
                 journal: Journal | None = None) -> None:  # fmt: skip
        self.url = url
        self._stores: BusStores | None = None
        if bus is None:
            self._stores = stores = open_bus_stores(url)
            bus = EventBus(DEFAULT_BUS, archive=stores.archive, inbox=stores.inbox,
                           dead_letter=stores.dead_letters, ledger=stores.ledger)  # fmt: skip
        self.bus = bus
        self.names = {DEFAULT_BUS, self.bus.name}
        self._lock = threading.Lock()
        # A PostgreSQL bus has no outbox of its own: its events come from the journal's.
        self._conn = None if is_postgres(url) else connect(url, durable=True)
        if self._conn is not None:  # FULL fsync: answered PutEvents survive a power loss
            ensure_outbox(self._conn)
        # One of the relays sweeps the inbox for claims a dead process left open.
        sweep: Sweep | None = self.bus.redeliver_expired
        self.journal_relay = None if journal is None else JournalRelay(
            journal, self.bus.put_events, park=self.bus.dead_letter.put, sweep=sweep)  # fmt: skip
        if self.journal_relay is not None:
            sweep = None
        self.relay = None if self._conn is None else OutboxRelay(url, self.bus.put_events,
                                                                 sweep=sweep)  # fmt: skip

    def prepare(self, entries: Any, key: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """PutEvents' response as EventBridge gives it, and the events of the good entries,
        for the caller to commit (the engine: in the journal's outbox, with its step)."""
        results: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for index, entry in enumerate(check_entries(entries)):
            event_id = str(uuid.uuid5(_IDS, f"{key}#{index}"))
            event = to_event(entry, event_id, self.names)
            if "ErrorCode" in event:
                results.append(event)
            else:
                events.append(stamp_event(event))  # the Task's trace rides with its events
                results.append({"EventId": event_id})
        return {"Entries": results, "FailedEntryCount": len(results) - len(events)}, events

    def write(self, events: list[dict[str, Any]]) -> None:
        """Commit events to the bus database's own outbox. Blocking: call from a thread."""
        if self._conn is None:
            raise PutEventsError("PutEvents outside a step needs a SQLite bus database")
        if events:
            with self._lock, transaction(self._conn) as conn:
                for event in events:
                    write_event(conn, event)

    def put_events(self, entries: Any, key: str) -> dict[str, Any]:
        """PutEvents outside any step: publish the good entries in one commit; the response
        as EventBridge gives it. Blocking (a SQLite commit): call it from a thread."""
        response, events = self.prepare(entries, key)
        self.write(events)
        return response

    def start(self) -> None:
        for relay in (self.relay, self.journal_relay):
            if relay is not None:
                relay.start()

    async def stop(self) -> None:
        for relay in (self.journal_relay, self.relay):
            if relay is not None:
                await relay.stop()
        if self._conn is not None:
            self._conn.close()
        if self._stores is not None:
            self._stores.close()
            self.bus.close()
