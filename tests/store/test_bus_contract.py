"""The bus's stores (archive, inbox, dead-letter queues) behind one port, the same contract
on a SQLite file and on PostgreSQL; on PostgreSQL, the members of a cluster share them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sagaway.messaging import CallableTarget, Rule, make_event
from sagaway.messaging.put_events import ServerBus
from sagaway.messaging.stores import BusStores, open_bus_stores
from tests.store.conftest import drop_schema, postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def bus_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bus.db'}"
        return
    url = postgres_url()
    yield url
    drop_schema(url)


@pytest.fixture
def stores(bus_url: str) -> Iterator[BusStores]:
    opened = open_bus_stores(bus_url)
    yield opened
    opened.close()


def test_the_archive_keeps_each_event_once_in_time_order(stores: BusStores) -> None:
    first = [make_event("s", "A", {"n": 1}, event_id="e1"), make_event("s", "B", {}, event_id="e2")]
    stores.archive.add(first)
    stores.archive.add([first[0]])  # redelivered: archived once
    assert stores.archive.count() == 2 and stores.archive.count("A") == 1
    assert [e["id"] for e in stores.archive.between(0, 1e12)] == ["e1", "e2"]
    assert stores.archive.between(0, 1) == []
    assert stores.archive.between(0, 1e12)[0]["detail"] == {"n": 1}


def test_the_inbox_says_first_time_once_per_consumer_until_forgotten(stores: BusStores) -> None:
    inbox = stores.inbox
    assert inbox.first_time("rule/a", "e1") is True
    assert inbox.first_time("rule/a", "e1") is False
    assert inbox.first_time("rule/b", "e1") is True
    inbox.forget("rule/a", "e1")
    assert inbox.first_time("rule/a", "e1") is True


def test_dead_letters_park_once_per_message_and_list_by_queue(stores: BusStores) -> None:
    dlq = stores.dead_letters
    failure = {"error": "ConnectionError", "cause": "down"}
    assert dlq.put("notify-dlq", {"id": "e1"}, failure, "m1") is True
    assert dlq.put("notify-dlq", {"id": "e1"}, failure, "m1") is False
    assert dlq.put("audit-dlq", {"id": "e2"}, failure, "m2") is True
    assert dlq.depth() == {"notify-dlq": 1, "audit-dlq": 1}
    (letter,) = dlq.list("notify-dlq")
    assert (letter.message_id, letter.body, letter.error, letter.cause) == (
        "m1", {"id": "e1"}, "ConnectionError", "down")  # fmt: skip
    assert dlq.get(letter.id) == letter and dlq.get(letter.id + 1000) is None
    assert [x.queue for x in dlq.list()] == ["notify-dlq", "audit-dlq"]


def test_two_members_share_one_bus_on_postgresql() -> None:
    """Two servers' buses on one database: a de-duplicating rule receives an event once
    whichever member hands it on, and a dead letter one member parks the other sees."""
    url = postgres_url()
    got: list[str] = []

    def down(event: dict[str, Any]) -> None:
        raise ConnectionError("down")

    async def run() -> list[int]:
        members = [ServerBus(url), ServerBus(url)]
        for member in members:
            member.bus.retry_base = 0.001
            member.bus.put_rule(Rule("once", {"source": ["s"]},
                                     [CallableTarget("c", lambda e: got.append(e["id"]))],
                                     dedupe=True))  # fmt: skip
            member.bus.put_rule(Rule("hook", {"source": ["s"]}, [CallableTarget("h", down)],
                                     max_attempts=1))  # fmt: skip
        event = make_event("s", "X", {}, event_id="e1")
        await asyncio.gather(*(m.bus.put_events([event]) for m in members))
        assert members[0].bus.dead_letter is not None
        depth = [len(m.bus.dead_letter.list("hook-dlq")) for m in members if m.bus.dead_letter]
        for member in members:
            await member.stop()
        return depth

    try:
        assert asyncio.run(run()) == [1, 1]  # parked once, seen by both
        assert got == ["e1"]
    finally:
        drop_schema(url)
