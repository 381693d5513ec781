"""``sagaway events accounting`` reads the bus's ledger: one line per bus and per rule
target, JSON with ``--json``, exit 1 while some event is not accounted for."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

from sagaway.messaging import Archive, CallableTarget, EventBus, Inbox, Rule, make_event
from tests.cli.cli_kit import sagaway


def down(event: dict[str, Any]) -> None:
    raise ConnectionError("down")


def test_accounting_shows_every_event_delivered_or_dead_lettered(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app-events.db'}"
    bus = EventBus("shop", archive=Archive(url), inbox=Inbox(url), retry_base=0.001)
    bus.put_rule(Rule("notify", {"source": ["shop"]}, [CallableTarget("ok", lambda e: None)]))
    bus.put_rule(Rule("hook", {"detail-type": ["Paid"]}, [CallableTarget("web", down)],
                      max_attempts=1))  # fmt: skip
    events = [make_event("shop", "Paid", {}, event_id="e1"),
              make_event("shop", "Placed", {}, event_id="e2"),
              make_event("else", "Noise", {}, event_id="e3")]  # fmt: skip
    asyncio.run(bus.put_events(events))
    bus.close()
    done = sagaway("events", "accounting", "--db", f"sqlite:///{tmp_path / 'app.db'}")
    assert done.code == 0, done.err
    assert done.out.splitlines() == [
        "bus shop: published 3 = matched 2 + unmatched 1 (balanced)",
        "  hook/web: matched 1 = delivered 0 + dead-lettered 1 + pending 0",
        "  notify/ok: matched 2 = delivered 2 + dead-lettered 0 + pending 0",
    ]
    (account,) = sagaway("events", "accounting", "--bus-db", url, "--json").json()["targets"][:1]
    assert account == {"rule": "hook", "target": "web", "matched": 1, "delivered": 0,
                       "deadLettered": 1, "pending": 0}  # fmt: skip


def test_an_event_not_accounted_for_is_exit_1(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bus.db'}"
    bus = EventBus("shop", archive=Archive(url))
    bus.ledger.received("shop", [("e1", ["rule/target"])])  # routed, never settled
    bus.close()
    done = sagaway("events", "accounting", "--bus-db", url, "--bus", "shop")
    assert done.code == 1
    assert "NOT balanced" in done.out and "pending 1" in done.out


def test_a_missing_bus_database_is_exit_2(tmp_path: Path) -> None:
    done = sagaway("events", "accounting", "--bus-db", f"sqlite:///{tmp_path / 'no.db'}")
    assert done.code == 2 and done.err.startswith("error: no bus database at")
    assert list(tmp_path.iterdir()) == []


def test_an_unreachable_postgresql_bus_is_one_line_and_exit_2() -> None:
    with socket.socket() as sock:  # a port nothing listens on once the socket is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = sagaway("events", "accounting", "--db", f"postgresql://postgres@127.0.0.1:{port}/x")
    assert done.code == 2 and done.err.startswith("error: cannot read the bus at postgresql://")
    assert "Traceback" not in done.err


def test_accounting_reads_a_clusters_bus_on_postgresql() -> None:
    from sagaway.messaging.stores import open_bus_stores
    from tests.store.conftest import drop_schema, postgres_url

    url = postgres_url()
    stores = open_bus_stores(url)
    try:
        stores.ledger.received("default", [("e1", ["r/t"]), ("e2", [])])
        stores.ledger.settled("default", [("e1", "r/t", "delivered")])
        done = sagaway("events", "accounting", "--db", url, "--json")
        assert done.code == 0, done.err
        assert done.json() == {"bus": "default", "published": 2, "matched": 1, "unmatched": 1,
                               "balanced": True, "targets": [
                                   {"rule": "r", "target": "t", "matched": 1, "delivered": 1,
                                    "deadLettered": 0, "pending": 0}]}  # fmt: skip
    finally:
        stores.close()
        drop_schema(url)
