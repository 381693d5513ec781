"""Events a step publishes ride in the journal's outbox, committed with the step, and reach
every rule once: also when the publishing process is SIGKILLed after the commit and before
its relay ran, on SQLite and on PostgreSQL. A target that keeps failing dead-letters."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sagaway.messaging import (
    CallableTarget,
    DeadLetterQueue,
    OutboxRelay,
    Rule,
    connect,
    make_event,
    transaction,
    write_event,
)
from sagaway.messaging.journal_relay import JournalRelay
from sagaway.messaging.ledger import BusAccounting
from sagaway.messaging.put_events import ServerBus
from sagaway.messaging.stores import is_postgres, open_bus_stores, open_ledger
from sagaway.store.open import open_journal
from sagaway.store.ports import Journal
from tests.store.conftest import drop_schema, postgres_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", "postgresql"])
def journal_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'journal.db'}"
        return
    url = postgres_url()
    yield url
    drop_schema(url)


def _publish_then_die(journal_url: str, bus_url: str, executions: int) -> None:
    child = subprocess.run(
        [sys.executable, "-m", "tests.messaging.publisher_process", journal_url, bus_url,
         str(executions)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert child.returncode == -9, child.stderr
    assert "committed" in child.stdout


async def _relay(journal: Journal, bus_url: str, want: int, rules: int = 2) -> dict[str, list[str]]:
    """Run a bus with ``rules`` collecting rules until each has ``want`` events (and a
    little longer, so a duplicate would show); what each rule received."""
    got: dict[str, list[str]] = {f"rule-{n}": [] for n in range(rules)}
    bus = ServerBus(bus_url, journal=journal)
    for name, ids in got.items():
        target = CallableTarget("collect", lambda e, ids=ids: ids.append(e["id"]))
        bus.bus.put_rule(Rule(name, {"detail-type": ["OrderConfirmed"]}, [target]))
    bus.start()
    deadline = time.monotonic() + 10
    while any(len(ids) < want for ids in got.values()) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)
    await bus.stop()
    return got


def test_a_crash_between_the_steps_commit_and_the_relay_delivers_once_per_rule(
    journal_url: str, tmp_path: Path
) -> None:
    bus_url = f"sqlite:///{tmp_path / 'bus.db'}"
    _publish_then_die(journal_url, bus_url, 3)
    journal = open_journal(journal_url)
    try:
        rows = journal.pending_outbox()
        assert len(rows) == 3  # committed with the steps, never relayed
        ids = sorted(json.loads(body)["id"] for _, _, body in rows)
        got = asyncio.run(_relay(journal, bus_url, 3))
        assert {name: sorted(seen) for name, seen in got.items()} == {
            "rule-0": ids, "rule-1": ids}  # fmt: skip
        assert journal.pending_outbox() == []
        again = asyncio.run(_relay(journal, bus_url, 0))  # a later start relays nothing
        assert again == {"rule-0": [], "rule-1": []}
        account = _accounting(bus_url)
        assert (account.published, account.matched, account.balanced) == (3, 3, True)
        assert [(t.rule, t.matched, t.delivered) for t in account.targets] == [
            ("rule-0", 3, 3), ("rule-1", 3, 3)]  # fmt: skip
    finally:
        journal.close()


def _accounting(bus_url: str, bus: str = "default") -> BusAccounting:
    ledger = open_ledger(bus_url)
    try:
        return ledger.accounting(bus)
    finally:
        ledger.close()


def test_a_relay_that_dies_before_removing_rows_still_delivers_once_to_deduping_rules(
    tmp_path: Path,
) -> None:
    journal_url, bus_url = f"sqlite:///{tmp_path / 'j.db'}", f"sqlite:///{tmp_path / 'bus.db'}"
    _publish_then_die(journal_url, bus_url, 2)
    journal = open_journal(journal_url)
    got: list[str] = []

    async def run() -> None:
        bus = ServerBus(bus_url, journal=journal)
        rule = Rule("once", {"source": ["shop.orders"]}, [CallableTarget("c", got.append)],
                    dedupe=True)  # fmt: skip
        bus.bus.put_rule(rule)
        # A relay that handed the rows on and died before removing them ...
        rows = journal.pending_outbox()
        await bus.bus.put_events([json.loads(body) for _, _, body in rows])
        # ... and the next one, which hands them on again.
        assert bus.journal_relay is not None and await bus.journal_relay.relay_once() == 2
        await bus.stop()

    try:
        asyncio.run(run())
        assert len(got) == 2 and len({e["id"] for e in got}) == 2
        assert journal.pending_outbox() == []
        account = _accounting(bus_url)  # handed on twice, counted once
        assert (account.published, account.rule("once").delivered, account.balanced) == (
            2, 2, True)  # fmt: skip
    finally:
        journal.close()


def test_a_target_that_keeps_failing_parks_the_event_in_the_default_dead_letter_queue(
    tmp_path: Path,
) -> None:
    bus_url = f"sqlite:///{tmp_path / 'bus.db'}"

    def down(event: dict[str, Any]) -> None:
        raise ConnectionError("webhook down")

    async def run() -> None:
        bus = ServerBus(bus_url)
        bus.bus.retry_base = 0.001
        bus.bus.put_rule(Rule("notify", {"source": ["s"]}, [CallableTarget("hook", down)],
                              max_attempts=2))  # fmt: skip
        entries = [{"Source": "s", "DetailType": "X", "Detail": "{}"}]
        response = await asyncio.to_thread(bus.put_events, entries, "key")
        assert response["FailedEntryCount"] == 0
        assert await bus.relay.relay_once() == 1
        await bus.stop()

    asyncio.run(run())
    dlq = DeadLetterQueue(bus_url)
    (letter,) = dlq.list()
    assert (letter.queue, letter.error, letter.cause) == ("notify-dlq", "ConnectionError",
                                                          "webhook down")  # fmt: skip
    assert letter.body["source"] == "s"
    dlq.close()


def test_cluster_members_relaying_one_postgresql_journal_deliver_each_event_once(
    tmp_path: Path,
) -> None:
    """Two members relay the same journal outbox at once, rules without de-duplication:
    one relay leads at a time, so each rule receives each event once."""
    url = postgres_url()
    try:
        _publish_then_die(url, url, 4)
        journals = [open_journal(url), open_journal(url)]
        got: list[str] = []

        async def run() -> None:
            buses = [ServerBus(url, journal=journal) for journal in journals]
            collect = CallableTarget("c", lambda e: got.append(e["id"]))
            for bus in buses:
                bus.bus.put_rule(Rule("all", {"source": ["shop.orders"]}, [collect]))
                bus.start()
            deadline = time.monotonic() + 10
            while len(got) < 4 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)
            for bus in buses:
                await bus.stop()

        try:
            asyncio.run(run())
            assert len(got) == 4 and len(set(got)) == 4
            assert journals[0].pending_outbox() == []
        finally:
            for journal in journals:
                journal.close()
    finally:
        drop_schema(url)


async def _relay_once(relay: JournalRelay) -> int:
    """One batch, once this relay leads (on PostgreSQL a dead relay's session may hold the
    lead a moment longer)."""
    deadline = time.monotonic() + 10
    while (moved := await relay.relay_once()) == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return moved


def _relay_then_die(journal_url: str, bus_url: str) -> str:
    """Run a relay whose de-duplicating rule's target SIGKILLs it: the event it claimed."""
    child = subprocess.run(
        [sys.executable, "-m", "tests.messaging.crashing_relay_process", journal_url, bus_url],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert child.returncode == -9, child.stdout + child.stderr
    return child.stdout.split()[1]  # "claimed <event id>"


def test_a_relay_killed_between_the_inbox_claim_and_the_delivery_loses_nothing(
    journal_url: str, tmp_path: Path
) -> None:
    """The killed relay left its claim open and the rows in the outbox. The next relay
    hands the rows on at once, while the claim is fresh: the claimed event is not
    delivered then, and the rows are removed. Once the claim expires the relay loop's
    sweep delivers it: each event delivered once, the ledger balanced."""
    bus_url = journal_url if is_postgres(journal_url) else f"sqlite:///{tmp_path / 'bus.db'}"
    _publish_then_die(journal_url, bus_url, 3)
    claimed = _relay_then_die(journal_url, bus_url)
    journal = open_journal(journal_url)
    got: list[str] = []

    async def run() -> None:
        bus = ServerBus(bus_url, journal=journal)
        bus.bus.claim_timeout = 1.0
        collect = CallableTarget("collect", lambda e: got.append(e["id"]))
        bus.bus.put_rule(Rule("once", {"source": ["shop.orders"]}, [collect], dedupe=True))
        assert bus.journal_relay is not None and await _relay_once(bus.journal_relay) == 3
        assert claimed not in got and journal.pending_outbox() == []
        assert _accounting(bus_url).rule("once").pending >= 1  # the claimed one, so far
        bus.start()
        deadline = time.monotonic() + 15
        while len(got) < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        await bus.stop()

    try:
        asyncio.run(run())
        assert claimed in got and len(got) == 3 and len(set(got)) == 3
        account = _accounting(bus_url)
        once = account.rule("once")
        assert (account.published, once.matched, once.delivered, once.pending) == (3, 3, 3, 0)
        assert account.balanced
        stores = open_bus_stores(bus_url)
        try:
            assert stores.inbox.expired(0.0) == []  # every claim completed
        finally:
            stores.close()
    finally:
        journal.close()


def _add_outbox_rows(journal_url: str, bodies: list[bytes]) -> None:
    """Rows written straight into the journal's outbox, as a buggy writer could."""
    rows = [("default", body) for body in bodies]
    if is_postgres(journal_url):
        import psycopg

        with psycopg.connect(journal_url, autocommit=True) as pg, pg.cursor() as cursor:
            cursor.executemany("INSERT INTO outbox (topic, body) VALUES (%s, %s)", rows)
        return
    conn = sqlite3.connect(journal_url.removeprefix("sqlite:///"))
    with conn:
        conn.executemany("INSERT INTO outbox (topic, body) VALUES (?, ?)", rows)
    conn.close()


def test_outbox_rows_the_bus_cannot_take_are_parked_and_the_rows_after_them_relayed(
    journal_url: str, tmp_path: Path
) -> None:
    bus_url = journal_url if is_postgres(journal_url) else f"sqlite:///{tmp_path / 'bus.db'}"
    journal = open_journal(journal_url)
    good = [make_event("shop.orders", "OrderConfirmed", {}, event_id=f"g{n}") for n in (1, 2)]
    bad = [b"{not json", b'{"id": "r1", "detail": {}}', b"\xff\xfe\x00", b"[1, 2]"]
    _add_outbox_rows(journal_url, [json.dumps(good[0]).encode(), *bad,
                                   json.dumps(good[1]).encode()])  # fmt: skip
    got: list[str] = []

    async def run() -> None:
        bus = ServerBus(bus_url, journal=journal)
        bus.bus.put_rule(Rule("all", {"source": ["shop.orders"]},
                              [CallableTarget("c", lambda e: got.append(e["id"]))]))  # fmt: skip
        assert bus.journal_relay is not None and await _relay_once(bus.journal_relay) == 6
        assert await bus.journal_relay.relay_once() == 0
        letters = bus.bus.dead_letter.list("outbox-dlq")
        assert [(x.error, x.body["text"]) for x in letters] == [
            ("UnreadableEvent", "{not json"), ("RefusedEvent", '{"id": "r1", "detail": {}}'),
            ("UnreadableEvent", "\ufffd\ufffd\x00"), ("RefusedEvent", "[1, 2]")]  # fmt: skip
        assert letters[1].cause == "the event's source is not a string"
        assert all(x.message_id.startswith("outbox#") for x in letters)
        await bus.stop()

    try:
        asyncio.run(run())
        assert got == ["g1", "g2"] and journal.pending_outbox() == []
        assert _accounting(bus_url).published == 2  # the parked rows never reached the bus
    finally:
        journal.close()


def test_a_bus_databases_outbox_parks_a_row_the_bus_cannot_take_in_its_own_queues(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'orders.db'}"
    got: list[str] = []

    async def publish(events: list[dict[str, Any]]) -> None:
        got.extend(e["id"] for e in events)

    relay = OutboxRelay(url, publish)
    conn = connect(url)
    with transaction(conn):
        conn.execute("INSERT INTO event_outbox (event_id, body) VALUES ('x', '{oops')")
        write_event(conn, make_event("s", "X", {}, event_id="e1"))
    conn.close()
    assert asyncio.run(relay.relay_once()) == 2 and got == ["e1"]
    assert relay.pending() == 0
    asyncio.run(relay.stop())
    dlq = DeadLetterQueue(url)
    (letter,) = dlq.list("outbox-dlq")
    assert (letter.error, letter.body["text"], letter.body["outbox"]) == (
        "UnreadableEvent", "{oops", "event_outbox")  # fmt: skip
    dlq.close()
