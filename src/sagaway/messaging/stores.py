"""The bus's store port: what the bus keeps (archive, inbox, dead-letter queues, the ledger
that accounts for every event), and the adapter for a URL: SQLite files (the embedded
default) or the cluster's PostgreSQL database. Both adapters pass one contract suite
(``tests/store/test_bus_contract.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sagaway.messaging.dlq import DeadLetter
from sagaway.messaging.ledger import BusAccounting, Outcome, Received


class ArchiveStore(Protocol):
    url: str  # where it is kept: the bus's other stores default to the same database

    def add(self, events: list[dict[str, Any]]) -> None: ...
    def between(self, since: float, until: float) -> list[dict[str, Any]]: ...
    def count(self, detail_type: str | None = None) -> int: ...
    def close(self) -> None: ...


class InboxStore(Protocol):
    """Marks per (consumer, event id): a claim (owner, time, the event) completed once the
    consumer has the event, or forgotten when it was parked (:mod:`~sagaway.messaging.inbox`)."""

    url: str

    def claim(self, consumer: str, event: dict[str, Any], owner: str, timeout: float) -> bool:
        """True when the caller now holds the event: never marked before, or its claim left
        open (not completed) for more than ``timeout`` seconds."""
        ...

    def complete(self, marks: list[tuple[str, str]]) -> None:
        """The consumers have these ``(consumer, event id)``: the marks are final."""
        ...

    def expired(
        self, timeout: float, limit: int = 100, consumers: list[str] | None = None
    ) -> list[tuple[str, str, Any]]:
        """``(consumer, event id, event)`` of claims open for more than ``timeout`` s (of
        ``consumers`` only, when given), oldest first."""
        ...

    def first_time(self, consumer: str, event_id: str) -> bool:
        """Record the event for the consumer, completed at once; True only the first time."""
        ...

    def forget(self, consumer: str, event_id: str) -> None: ...
    def close(self) -> None: ...


class DeadLetterStore(Protocol):
    def put(self, queue: str, body: Any, failure: dict[str, str], message_id: str) -> bool:
        """Park a message; False if that message id is parked already."""
        ...

    def list(
        self, queue: str | None = None, *, include_redriven: bool = False
    ) -> list[DeadLetter]: ...
    def get(self, letter_id: int) -> DeadLetter | None: ...
    def depth(self) -> dict[str, int]: ...

    def redrive(self, letter_id: int, body: Any = None) -> DeadLetter:
        """Mark the message redriven (optionally with an edited body) and announce it with a
        ``DeadLetterRedriven`` event in the same transaction; KeyError for an unknown id,
        ValueError for a message redriven already."""
        ...

    def close(self) -> None: ...


class LedgerStore(Protocol):
    """What became of each event a bus received (:mod:`sagaway.messaging.ledger`)."""

    def received(self, bus: str, events: Sequence[Received], *, replay: bool = False) -> None: ...
    def settled(self, bus: str, outcomes: Sequence[Outcome]) -> None: ...
    def accounting(self, bus: str) -> BusAccounting: ...
    def buses(self) -> list[str]: ...
    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class BusStores:
    archive: ArchiveStore
    inbox: InboxStore
    dead_letters: DeadLetterStore
    ledger: LedgerStore

    def close(self) -> None:
        for store in (self.archive, self.inbox, self.dead_letters, self.ledger):
            store.close()


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def open_bus_stores(url: str) -> BusStores:
    """The bus's stores at ``url``: a SQLite file, or PostgreSQL (shared by a cluster)."""
    if is_postgres(url):
        from sagaway.messaging import postgres

        db = postgres.shared_connection(url)
        return BusStores(postgres.PostgresArchive(url, db), postgres.PostgresInbox(url, db),
                         postgres.PostgresDeadLetterQueue(url, db),
                         postgres.PostgresLedger(url, db))  # fmt: skip
    from sagaway.messaging.archive import Archive
    from sagaway.messaging.inbox import Inbox

    return BusStores(Archive(url), Inbox(url), open_dead_letters(url), open_ledger(url))


def open_dead_letters(url: str) -> DeadLetterStore:
    """The dead-letter queues at ``url`` (a SQLite file, ``:memory:``, or PostgreSQL)."""
    if is_postgres(url):
        from sagaway.messaging.postgres import PostgresDeadLetterQueue

        return PostgresDeadLetterQueue(url)
    from sagaway.messaging.dlq import DeadLetterQueue

    return DeadLetterQueue(url)


def open_ledger(url: str) -> LedgerStore:
    """The bus ledger at ``url`` (a SQLite file, ``:memory:``, or PostgreSQL)."""
    if is_postgres(url):
        from sagaway.messaging.postgres import PostgresLedger

        return PostgresLedger(url)
    from sagaway.messaging.ledger import Ledger

    return Ledger(url)
