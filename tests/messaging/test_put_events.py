"""PutEvents on the server's bus: EventBridge's checks per entry, the outbox, idempotent ids."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from sagaway.messaging import CallableTarget, EventBus, Rule
from sagaway.messaging.put_events import PutEventsError, ServerBus, bus_url_beside
from sagaway.messaging.sqlite import connect

GOOD = {"Source": "shop.orders", "DetailType": "OrderConfirmed", "Detail": {"orderId": "o-1"}}


@pytest.fixture
def server_bus(tmp_path: Path) -> Any:
    bus = ServerBus(f"sqlite:///{tmp_path / 'bus.db'}")
    yield bus
    asyncio.run(bus.stop())


def _outbox(bus: ServerBus) -> list[dict[str, Any]]:
    conn = connect(bus.url)
    try:
        rows = conn.execute("SELECT body FROM event_outbox ORDER BY seq").fetchall()
    finally:
        conn.close()
    return [json.loads(body) for (body,) in rows]


def test_good_entries_become_events_in_eventbridge_envelope(server_bus: ServerBus) -> None:
    text_detail = {**GOOD, "Detail": '{"orderId": "o-2"}', "Resources": ["arn:x"],
                   "EventBusName": "arn:aws:events:us-east-1:111111111111:event-bus/default",
                   "Time": "2026-01-02T03:04:05Z"}  # fmt: skip
    response = server_bus.put_events([GOOD, text_detail], "exec#token")
    assert response["FailedEntryCount"] == 0
    ids = [entry["EventId"] for entry in response["Entries"]]
    events = _outbox(server_bus)
    assert [e["id"] for e in events] == ids
    assert events[0]["source"] == "shop.orders" and events[0]["detail-type"] == "OrderConfirmed"
    assert [e["detail"] for e in events] == [{"orderId": "o-1"}, {"orderId": "o-2"}]
    assert events[1]["resources"] == ["arn:x"] and events[1]["time"] == "2026-01-02T03:04:05Z"


def test_bad_entries_fail_alone_with_eventbridge_codes(server_bus: ServerBus) -> None:
    entries = [
        GOOD,
        {**GOOD, "Detail": '"jsonstring"'},
        {**GOOD, "Detail": "[1, 2]"},
        {k: v for k, v in GOOD.items() if k != "Source"},
        {k: v for k, v in GOOD.items() if k != "DetailType"},
        {k: v for k, v in GOOD.items() if k != "Detail"},
        {**GOOD, "EventBusName": "nope"},
        {**GOOD, "Detail": {}},  # an empty object is a Detail
    ]
    response = server_bus.put_events(entries, "k")
    results = response["Entries"]
    assert response["FailedEntryCount"] == 6
    assert "EventId" in results[0] and "EventId" in results[7]
    assert results[1] == results[2] == {"ErrorCode": "MalformedDetail",
                                        "ErrorMessage": "Detail is malformed."}  # fmt: skip
    assert results[3] == {"ErrorCode": "InvalidArgument", "ErrorMessage":
                          "Parameter Source is not valid. Reason: Source is a required argument."}  # fmt: skip  # noqa: E501
    assert "DetailType is a required argument" in results[4]["ErrorMessage"]
    assert "Detail is a required argument" in results[5]["ErrorMessage"]
    assert results[6]["ErrorCode"] == "ResourceNotFoundException"
    assert len(_outbox(server_bus)) == 2  # the good ones are published all the same


@pytest.mark.parametrize("entries", [None, [], [GOOD] * 11, ["text"]])
def test_a_bad_call_is_refused_whole(server_bus: ServerBus, entries: Any) -> None:
    with pytest.raises(PutEventsError):
        server_bus.put_events(entries, "k")
    assert _outbox(server_bus) == []


def test_the_same_key_publishes_once(server_bus: ServerBus) -> None:
    # A Task re-invoked after a crash calls again with its idempotency key.
    first = server_bus.put_events([GOOD, GOOD], "exec#attempt-1")
    again = server_bus.put_events([GOOD, GOOD], "exec#attempt-1")
    other = server_bus.put_events([GOOD], "exec#attempt-2")
    assert first == again and first["Entries"][0] != first["Entries"][1]
    assert len(_outbox(server_bus)) == 3 and other["Entries"][0] not in first["Entries"]


def test_the_relay_hands_events_to_the_rules_and_archive(tmp_path: Path) -> None:
    got: list[dict[str, Any]] = []
    bus = EventBus("orders")
    bus.put_rule(Rule("confirmed", {"detail-type": ["OrderConfirmed"]},
                      [CallableTarget("collect", got.append)]))  # fmt: skip
    server_bus = ServerBus(f"sqlite:///{tmp_path / 'bus.db'}", bus)

    async def scenario() -> dict[str, Any]:
        server_bus.start()
        named = {**GOOD, "EventBusName": "orders"}  # its own name and "default" both reach it
        response = await asyncio.to_thread(server_bus.put_events, [GOOD, named], "k")
        for _ in range(200):
            if len(got) == 2:
                break
            await asyncio.sleep(0.01)
        await server_bus.stop()
        return response

    response = asyncio.run(scenario())
    assert [e["id"] for e in got] == [e["EventId"] for e in response["Entries"]]


def test_default_bus_database_is_beside_the_journal_or_is_the_clusters_database() -> None:
    assert bus_url_beside("sqlite:///data/sagaway.db") == "sqlite:///data/sagaway-events.db"
    assert bus_url_beside("sqlite:////abs/j.sqlite") == "sqlite:////abs/j-events.sqlite"
    assert bus_url_beside("journal") == "sqlite:///journal-events.db"
    assert bus_url_beside("postgresql://h/db") == "postgresql://h/db"  # shared by members
    assert bus_url_beside("sqlite:///:memory:") == "sqlite:///sagaway-events.db"
