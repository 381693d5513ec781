"""The bus's stores (archive, inbox, dead-letter queues) behind one port, the same contract
on a SQLite file and on PostgreSQL; on PostgreSQL, the members of a cluster share them."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sagaway.messaging import CallableTarget, DeadLetter, EventBus, Rule, make_event
from sagaway.messaging.put_events import ServerBus
from sagaway.messaging.stores import BusStores, is_postgres, open_bus_stores
from sagaway.store.postgres import PostgresJournal
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


def test_an_inbox_claim_is_held_until_completed_or_taken_over_once_expired(
    stores: BusStores,
) -> None:
    inbox, e1, e2 = stores.inbox, make_event("s", "X", {"n": 1}, event_id="e1"), make_event(
        "s", "X", {}, event_id="e2")  # fmt: skip
    assert inbox.claim("rule/a", e1, "p1", 60) is True
    assert inbox.claim("rule/a", e1, "p2", 60) is False  # held: not expired
    assert inbox.claim("rule/b", e1, "p2", 60) is True  # per consumer
    assert inbox.expired(60) == []
    time.sleep(0.05)
    assert inbox.expired(0.01) == [("rule/a", "e1", e1), ("rule/b", "e1", e1)]
    assert inbox.expired(0.01, consumers=["rule/b", "rule/c"]) == [("rule/b", "e1", e1)]
    assert inbox.expired(0.01, consumers=[]) == []
    assert inbox.claim("rule/a", e1, "p2", 0.01) is True  # taken over once expired ...
    assert inbox.claim("rule/a", e1, "p3", 0.01) is False  # ... by one owner
    inbox.complete([("rule/a", "e1"), ("rule/b", "e1")])
    time.sleep(0.05)
    assert inbox.expired(0.01) == []
    assert inbox.claim("rule/a", e1, "p4", 0.0) is False  # completed is final
    assert inbox.claim("rule/a", e2, "p1", 60) is True
    inbox.forget("rule/a", "e2")  # parked: a redelivery is handled again
    assert inbox.claim("rule/a", e2, "p1", 60) is True


def test_an_inbox_made_before_claims_keeps_its_marks_as_completed(bus_url: str) -> None:
    old = "CREATE TABLE {0} (consumer TEXT NOT NULL, event_id TEXT NOT NULL, received {1}" \
          " NOT NULL, PRIMARY KEY (consumer, event_id))"  # fmt: skip
    if is_postgres(bus_url):
        import psycopg

        with psycopg.connect(bus_url, autocommit=True) as conn:
            conn.execute(old.format("bus_inbox", "DOUBLE PRECISION"))
            conn.execute("INSERT INTO bus_inbox VALUES ('rule/a', 'e1', 1.0)")
    else:
        conn = sqlite3.connect(bus_url.removeprefix("sqlite:///"))
        with conn:
            conn.execute(old.format("inbox", "REAL"))
            conn.execute("INSERT INTO inbox VALUES ('rule/a', 'e1', 1.0)")
        conn.close()
    stores = open_bus_stores(bus_url)
    try:
        assert stores.inbox.expired(0.0) == []
        assert stores.inbox.claim("rule/a", make_event("s", "X", {}, event_id="e1"), "p", 0.0) \
            is False  # fmt: skip
        assert stores.inbox.claim("rule/a", make_event("s", "X", {}, event_id="e2"), "p", 60)
    finally:
        stores.close()


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


def test_the_ledger_counts_each_event_once_and_outcomes_only_move_forward(
    stores: BusStores,
) -> None:
    ledger = stores.ledger
    ledger.received("b", [("e1", ["r/t", "s/t"]), ("e2", [])])
    ledger.received("b", [("e1", ["r/t", "s/t"]), ("e2", [])])  # handed on again
    ledger.received("other", [("e1", [])])  # another bus keeps its own account
    pending = ledger.accounting("b")
    assert (pending.published, pending.matched, pending.unmatched) == (2, 1, 1)
    assert [(t.rule, t.target, t.matched, t.pending) for t in pending.targets] == [
        ("r", "t", 1, 1), ("s", "t", 1, 1)]  # fmt: skip
    assert not pending.balanced
    ledger.settled("b", [("e1", "r/t", "delivered"), ("e1", "s/t", "dead-lettered")])
    ledger.settled("b", [("e1", "r/t", "dead-lettered")])  # delivered is final
    ledger.received("b", [("e1", ["r/t"])], replay=True)  # a replay publishes nothing new
    done = ledger.accounting("b")
    assert done.balanced and done.published == 2
    assert (done.rule("r").delivered, done.rule("s").dead_lettered) == (1, 1)
    ledger.settled("b", [("e1", "s/t", "delivered")])  # a later attempt got it through
    assert ledger.accounting("b").rule("s").delivered == 1
    assert ledger.buses() == ["b", "other"]


def test_the_bus_accounts_for_every_event_through_failures_and_redelivery(
    stores: BusStores,
) -> None:
    """published = matched + unmatched; per rule target matched = delivered + dead-lettered,
    with a target that keeps failing, a de-duplicating rule, the same events handed on
    again by a relay that died before removing them, and a replay from the archive."""
    got: dict[str, list[str]] = {"plain": [], "once": []}

    def down(event: dict[str, Any]) -> None:
        raise ConnectionError("down")

    def bus() -> EventBus:
        made = EventBus("orders", archive=stores.archive, inbox=stores.inbox,
                        dead_letter=stores.dead_letters, ledger=stores.ledger,
                        retry_base=0.001)  # fmt: skip
        made.put_rule(
            Rule(
                "plain",
                {"source": ["shop"]},
                [CallableTarget("t", lambda e: got["plain"].append(e["id"]))],
            )
        )
        made.put_rule(
            Rule(
                "once",
                {"detail-type": ["Paid"]},
                [CallableTarget("t", lambda e: got["once"].append(e["id"]))],
                dedupe=True,
            )
        )
        made.put_rule(Rule("hook", {"detail-type": ["Paid"]}, [CallableTarget("h", down)],
                           max_attempts=2, dedupe=True))  # fmt: skip
        return made

    events = [make_event("shop", "Paid", {}, event_id="p1"),
              make_event("shop", "Placed", {}, event_id="p2"),
              make_event("other", "Noise", {}, event_id="n1")]  # fmt: skip

    async def run() -> None:
        await bus().put_events(events)
        await bus().put_events(events)  # a restarted relay hands them on again
        replayer = bus()
        assert await replayer.replay(0, 1e12) == 3

    asyncio.run(run())
    account = bus().accounting()
    assert (account.published, account.matched, account.unmatched) == (3, 2, 1)
    assert account.balanced
    assert (account.rule("plain").matched, account.rule("plain").delivered) == (2, 2)
    assert (account.rule("once").matched, account.rule("once").delivered) == (1, 1)
    hook = account.rule("hook")
    assert (hook.matched, hook.delivered, hook.dead_lettered) == (1, 0, 1)
    assert got["once"] == ["p1"]  # the inbox let it through once
    assert len(got["plain"]) == 6  # no inbox: each hand-on delivers, counted once
    (letter,) = stores.dead_letters.list("hook-dlq")
    assert letter.body["id"] == "p1" and letter.message_id == "hook/h#p1"


def test_a_bus_without_stores_still_parks_what_it_cannot_deliver() -> None:
    def down(event: dict[str, Any]) -> None:
        raise ConnectionError("down")

    bus = EventBus("lone", retry_base=0.001)
    bus.put_rule(Rule("hook", {"source": ["s"]}, [CallableTarget("h", down)], max_attempts=1))
    asyncio.run(bus.put_events([make_event("s", "X", {}, event_id="e1")]))
    assert [letter.queue for letter in bus.dead_letter.list()] == ["hook-dlq"]
    assert bus.accounting().rule("hook").dead_lettered == 1
    bus.close()


def test_a_dead_letter_is_redriven_once_with_its_event_on_the_outbox(bus_url: str) -> None:
    """Redrive marks the message and writes a DeadLetterRedriven event in one transaction:
    the bus database's outbox on SQLite, the journal's on PostgreSQL (both relayed)."""
    journal = PostgresJournal(bus_url) if is_postgres(bus_url) else None
    heard: list[dict[str, Any]] = []

    async def run() -> DeadLetter:
        server = ServerBus(bus_url, journal=journal)
        server.bus.put_rule(Rule("redriven", {"detail-type": ["DeadLetterRedriven"]},
                                 [CallableTarget("c", heard.append)]))  # fmt: skip
        dlq = server.bus.dead_letter
        dlq.put("pay-dlq", {"order": 1}, {"error": "E", "cause": "c"}, "m1")
        (letter,) = dlq.list()
        await asyncio.to_thread(dlq.redrive, letter.id, {"order": 1, "fixed": True})
        with pytest.raises(ValueError):
            dlq.redrive(letter.id)
        with pytest.raises(KeyError):
            dlq.redrive(letter.id + 1000)
        assert dlq.list() == [] and dlq.depth() == {}
        server.start()
        for _ in range(400):
            if heard:
                break
            await asyncio.sleep(0.025)
        await server.stop()
        return letter

    try:
        asyncio.run(run())
    finally:
        if journal is not None:
            journal.close()
    (event,) = heard
    assert event["source"] == "sagaway.dlq" and event["id"] == "m1-redrive-1"
    assert event["detail"] == {"queue": "pay-dlq", "messageId": "m1", "redriveCount": 1,
                               "message": {"order": 1, "fixed": True}}  # fmt: skip
    stores = open_bus_stores(bus_url)
    try:
        (letter,) = stores.dead_letters.list(include_redriven=True)
        assert letter.redriven is not None and letter.redrive_count == 1
        assert letter.body == {"order": 1, "fixed": True}
    finally:
        stores.close()


def test_a_claim_left_open_is_redelivered_or_parked_by_another_bus(stores: BusStores) -> None:
    """Claims a dead bus left open: the sweep of a bus with the rules delivers one, parks
    the other (its target keeps failing) and forgets its claim; a bus without the rule
    leaves the claim alone. The ledger ends balanced."""
    got: list[str] = []

    def down(event: dict[str, Any]) -> None:
        raise ConnectionError("down")

    def bus(with_rules: bool) -> EventBus:
        made = EventBus("b", inbox=stores.inbox, dead_letter=stores.dead_letters,
                        ledger=stores.ledger, retry_base=0.001, claim_timeout=0.01)  # fmt: skip
        if with_rules:
            made.put_rule(Rule("once", {"source": ["s"]},
                               [CallableTarget("t", lambda e: got.append(e["id"]))],
                               dedupe=True))  # fmt: skip
            made.put_rule(Rule("hook", {"source": ["s"]}, [CallableTarget("h", down)],
                               dedupe=True, max_attempts=1))  # fmt: skip
        return made

    event = make_event("s", "X", {}, event_id="e1")
    stores.ledger.received("b", [("e1", ["once/t", "hook/h"])])  # what the dead bus did
    assert stores.inbox.claim("once/t", event, "dead", 60)
    assert stores.inbox.claim("hook/h", event, "dead", 60)
    time.sleep(0.05)
    assert asyncio.run(bus(False).redeliver_expired()) == 0
    assert asyncio.run(bus(True).redeliver_expired()) == 2
    assert got == ["e1"] and stores.inbox.expired(0.0) == []
    (letter,) = stores.dead_letters.list("hook-dlq")
    assert letter.message_id == "hook/h#e1"
    account = stores.ledger.accounting("b")
    assert account.balanced and (account.rule("once").delivered,
                                 account.rule("hook").dead_lettered) == (1, 1)  # fmt: skip
    assert asyncio.run(bus(True).redeliver_expired()) == 0  # nothing left open
