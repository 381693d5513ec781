"""The bus's store port: what the bus keeps (archive, inbox, dead-letter queues), and the
adapter for a URL: SQLite files (the embedded default) or the cluster's PostgreSQL database.
Both adapters pass one contract suite (``tests/store/test_bus_contract.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sagaway.messaging.dlq import DeadLetter


class ArchiveStore(Protocol):
    def add(self, events: list[dict[str, Any]]) -> None: ...
    def between(self, since: float, until: float) -> list[dict[str, Any]]: ...
    def count(self, detail_type: str | None = None) -> int: ...
    def close(self) -> None: ...


class InboxStore(Protocol):
    def first_time(self, consumer: str, event_id: str) -> bool:
        """Record the event for the consumer; True only the first time."""
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
    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class BusStores:
    archive: ArchiveStore
    inbox: InboxStore
    dead_letters: DeadLetterStore

    def close(self) -> None:
        for store in (self.archive, self.inbox, self.dead_letters):
            store.close()


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def open_bus_stores(url: str) -> BusStores:
    """The bus's stores at ``url``: a SQLite file, or PostgreSQL (shared by a cluster)."""
    if is_postgres(url):
        from sagaway.messaging import postgres

        return BusStores(postgres.PostgresArchive(url), postgres.PostgresInbox(url),
                         postgres.PostgresDeadLetterQueue(url))  # fmt: skip
    from sagaway.messaging.archive import Archive
    from sagaway.messaging.dlq import DeadLetterQueue
    from sagaway.messaging.inbox import Inbox

    return BusStores(Archive(url), Inbox(url), DeadLetterQueue(url))
