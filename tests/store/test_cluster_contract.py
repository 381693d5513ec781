"""The cluster operations of the store port (``ClusterOperations``): leases and deliveries.

Each adapter declares through the port whether its database can be shared: PostgreSQL can
(these operations, run here by several members on one database), a SQLite file cannot (one
owner; the engine then resumes every open execution itself, and starts no cluster).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from sagaway.engine.engine import Engine
from sagaway.store.ports import DELIVERY_CHANNEL, WORK_CHANNEL, ClusterOperations
from sagaway.store.postgres import PostgresJournal
from sagaway.store.sqlite import SqliteJournal
from tests.store.conftest import drop_schema, postgres_url
from tests.store.test_journal_contract import start, step

OK = b'{"output":"{}"}'


def test_each_adapter_declares_whether_its_database_is_shared(journal: Any) -> None:
    shared = journal.cluster()
    if journal.dialect == "sqlite":
        assert shared is None  # one owner: no leases to take
    else:
        assert shared is journal and shared.owner is None  # a client: members claim its work


def test_an_engine_on_a_single_owner_journal_runs_everything_itself(tmp_path: Path) -> None:
    journal = SqliteJournal(f"sqlite:///{tmp_path / 'one.db'}", writer_process=False)
    start(journal, "left-running")

    async def run() -> tuple[bool, Any]:
        engine = Engine(journal)
        await engine.start()
        claimed = engine.client_only, engine.cluster
        await engine.close()
        return claimed

    try:
        assert asyncio.run(run()) == (False, None)
    finally:
        journal.close()


class Members:
    """A client that starts executions and members that claim them, on one database."""

    def __init__(self, url: str, lease: float) -> None:
        self.url = url
        self.client = PostgresJournal(url)
        self.a = PostgresJournal(url, migrate=False, owner="a", lease_seconds=lease)
        self.b = PostgresJournal(url, migrate=False, owner="b", lease_seconds=lease)
        self.c = PostgresJournal(url, migrate=False, owner="c", lease_seconds=lease)

    def close(self) -> None:
        for journal in (self.client, self.a, self.b, self.c):
            journal.close()


def _members(lease: float) -> Iterator[Members]:
    url = postgres_url()
    members = Members(url, lease)
    try:
        yield members
    finally:
        members.close()
        drop_schema(url)


@pytest.fixture
def members() -> Iterator[Members]:
    yield from _members(lease=30.0)


@pytest.fixture
def short() -> Iterator[Members]:
    yield from _members(lease=1.5)


def arns(records: list[Any]) -> set[str]:
    return {r.arn for r in records}


def test_a_claim_takes_unowned_running_executions_once(members: Members) -> None:
    ops: ClusterOperations = members.a.cluster()
    x, y = start(members.client, "x"), start(members.client, "y")
    done = start(members.client, "done")
    assert members.client.commit([step(done, 1, 3, status="SUCCEEDED")]) == [True]
    assert arns(ops.claim()) == {x, y}  # ended executions are nobody's work
    assert members.b.claim() == []  # held under a live lease
    assert members.a.owned() == {x, y} and members.b.owned() == set()


def test_only_the_owner_journals_steps_of_a_claimed_execution(members: Members) -> None:
    x = start(members.client, "x")
    members.a.claim()
    assert members.client.commit([step(x, 1, 3)]) == [False]
    assert members.b.commit([step(x, 1, 3)]) == [False]
    assert members.a.commit([step(x, 1, 3)]) == [True]


def test_an_expired_lease_is_taken_over_and_the_old_owner_is_refused(short: Members) -> None:
    x = start(short.client, "x")
    assert arns(short.a.claim()) == {x}
    assert short.b.claim() == []
    time.sleep(short.a.lease_seconds + 0.3)  # a stopped renewing (paused, killed)
    (taken,) = short.b.claim()
    assert taken.arn == x and taken.version == 1  # resumed from its last journaled step
    assert short.a.commit([step(x, 1, 3)]) == [False]  # a wakes up late: refused
    assert short.b.commit([step(x, 1, 3)]) == [True]
    assert short.a.owned() == set() and short.b.owned() == {x}


def test_renewal_extends_the_owners_leases_only(short: Members) -> None:
    x = start(short.client, "x")
    short.a.claim()
    y = start(short.client, "y")
    short.b.claim()
    lease = short.a.lease_seconds
    time.sleep(lease * 0.6)
    short.a.renew()  # a's lease runs again from now; b's does not move
    time.sleep(lease * 0.6)
    assert arns(short.c.claim()) == {y}
    assert short.a.owned() == {x} and short.c.owned() == {y}


def test_reclaim_takes_back_only_what_nobody_else_holds(members: Members) -> None:
    x = start(members.client, "x")
    members.a.claim()
    assert members.b.reclaim([x]) == []  # a holds it
    assert arns(members.a.reclaim([x])) == {x}  # still a's: taken back
    members.a.release()
    assert arns(members.b.reclaim([x])) == {x}  # nobody's: anyone may


def test_release_hands_executions_over_and_wakes_the_others(members: Members) -> None:
    x = start(members.client, "x")
    members.a.claim()
    heard: list[str] = []
    stop = threading.Event()
    listener = threading.Thread(target=members.b.listen, args=(heard.append, stop))
    listener.start()
    try:
        _until(lambda: heard[:2] == [WORK_CHANNEL, DELIVERY_CHANNEL])  # announced on connect
        members.a.release()
        _until(lambda: len(heard) > 2)
        assert heard[2] == WORK_CHANNEL
    finally:
        stop.set()
        listener.join(5)
    assert members.a.owned() == set()
    assert arns(members.b.claim()) == {x}


def test_deliveries_reach_the_owner_once_per_answer(members: Members) -> None:
    x = start(members.client, "x")
    members.a.claim()
    assert members.b.deliver(x, "SendTaskSuccess", "t1", OK) is True
    assert members.c.deliver(x, "SendTaskFailure", "t1", b"{}") is False  # t1 has its answer
    assert members.b.deliver(x, "StopExecution", None, b'{"error":"E"}') is True
    pending = members.a.pending_deliveries()
    assert [(arn, kind, token, payload) for _, arn, kind, token, payload in pending] == [
        (x, "SendTaskSuccess", "t1", OK), (x, "StopExecution", None, b'{"error":"E"}')]  # fmt: skip
    assert members.b.pending_deliveries() == []  # only the owner reads them


def test_a_delivery_is_settled_once_its_effect_is_journaled(members: Members) -> None:
    x = start(members.client, "x")
    members.a.claim()
    members.b.deliver(x, "SendTaskSuccess", "t1", OK)
    ((answer, *_),) = members.a.pending_deliveries()
    applied = {answer: 1}  # applied to the actor at version 1
    assert members.b.settle_deliveries(applied) == set()  # not b's to settle
    assert members.a.settle_deliveries(applied) == set()  # not journaled yet
    members.a.commit([step(x, 1, 3)])
    assert members.a.settle_deliveries(applied) == {answer}
    assert members.a.pending_deliveries() == []
    # Settled, the answer still refuses a second one while the execution runs: another
    # server may have read the task as waiting just before the first was journaled.
    assert members.c.deliver(x, "SendTaskSuccess", "t1", OK) is False
    assert members.c.deliver(x, "SendTaskFailure", "t1", b"{}") is False
    assert members.a.settle_deliveries(applied) == set()  # settled once


def test_a_settled_stop_or_heartbeat_is_deleted(members: Members) -> None:
    x = start(members.client, "x")
    members.a.claim()
    members.b.deliver(x, "SendTaskHeartbeat", "t1", b"{}")
    members.b.deliver(x, "StopExecution", None, b'{"error":"E"}')
    applied = {delivery_id: 1 for delivery_id, *_ in members.a.pending_deliveries()}
    members.a.commit([step(x, 1, 3)])
    assert members.a.settle_deliveries(applied) == set(applied)
    assert members.a.pending_deliveries() == []
    assert _rows(members, x) == 0


def test_deliveries_of_an_ended_execution_are_dropped(members: Members) -> None:
    x = start(members.client, "x")
    members.a.claim()
    assert members.b.deliver(x, "SendTaskSuccess", "t1", OK) is True
    members.a.commit([step(x, 1, 3, status="SUCCEEDED")])  # ended before it was applied
    assert members.a.pending_deliveries() == []
    assert members.a.settle_deliveries({}) == set()
    # The row is gone: the unique answer per task no longer refuses another.
    assert members.b.deliver(x, "SendTaskSuccess", "t1", OK) is True


def _rows(members: Members, arn: str) -> int:
    """The delivery rows (pending or settled) of ``arn``."""
    with psycopg.connect(members.url) as conn:
        row = conn.execute("SELECT count(*) FROM deliveries WHERE execution_arn = %s", (arn,))
        (count,) = row.fetchone() or (0,)
    return int(count)


def _until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)
