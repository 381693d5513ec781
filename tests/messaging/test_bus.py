"""Outbox → relay → bus → rules and targets; inbox de-dup; archive and replay; DLQ."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sagaway.messaging import (
    CallableTarget,
    DeadLetterQueue,
    EventBus,
    Inbox,
    OutboxRelay,
    Rule,
    WebhookTarget,
    connect,
    ensure_outbox,
    make_event,
    transaction,
    write_event,
)
from sagaway.messaging.archive import Archive
from sagaway.messaging.targets import SIGNATURE_HEADER, webhook_signature


def test_outbox_rows_commit_with_the_change_and_relay_in_order(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'svc.db'}"
    conn = connect(url)
    ensure_outbox(conn)
    conn.execute("CREATE TABLE things (id TEXT)")
    try:
        with transaction(conn):
            conn.execute("INSERT INTO things VALUES ('lost')")
            write_event(conn, make_event("svc", "ThingMade", {"id": "lost"}))
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    for n in range(3):
        with transaction(conn):
            conn.execute("INSERT INTO things VALUES (?)", (str(n),))
            write_event(conn, make_event("svc", "ThingMade", {"id": str(n)}))
    seen: list[str] = []

    async def publish(events: list[dict[str, Any]]) -> None:
        seen.extend(e["detail"]["id"] for e in events)

    relay = OutboxRelay(url, publish)
    assert asyncio.run(relay.relay_once()) == 3
    assert asyncio.run(relay.relay_once()) == 0
    assert seen == ["0", "1", "2"]


def test_rules_route_by_pattern_and_inbox_dedupes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bus.db'}"
    bus = EventBus(inbox=Inbox(url))
    got: list[str] = []
    bus.put_rule(Rule("big", {"detail": {"total": [{"numeric": [">=", 100]}]}},
                      [CallableTarget("collect", lambda e: got.append(e["id"]))], dedupe=True))  # fmt: skip  # noqa: E501
    small = make_event("shop", "OrderSubmitted", {"total": 5})
    big = make_event("shop", "OrderSubmitted", {"total": 500})
    asyncio.run(bus.put_events([small, big, big]))
    asyncio.run(bus.put_events([big]))  # a redelivery after a relay crash
    assert got == [big["id"]]


def test_failing_target_is_retried_then_dead_lettered(tmp_path: Path) -> None:
    dlq = DeadLetterQueue(f"sqlite:///{tmp_path / 'dlq.db'}")
    attempts: list[int] = []

    def flaky(event: dict[str, Any]) -> None:
        attempts.append(1)
        raise ConnectionError("down")

    bus = EventBus(retry_base=0.001)
    bus.put_rule(Rule("r", {"source": ["s"]}, [CallableTarget("t", flaky)], max_attempts=3,
                      dead_letter=dlq))  # fmt: skip
    asyncio.run(bus.put_events([make_event("s", "X", {})]))
    assert len(attempts) == 3
    (letter,) = dlq.list()
    assert (letter.queue, letter.error) == ("r-dlq", "ConnectionError")


def test_a_bus_built_with_an_archive_and_inbox_parks_dead_letters_beside_them(
    tmp_path: Path,
) -> None:
    """As the shop builds its bus: no queue named anywhere, yet nothing is only logged."""
    url = f"sqlite:///{tmp_path / 'bus.db'}"

    def down(event: dict[str, Any]) -> None:
        raise ConnectionError("down")

    bus = EventBus("shop", archive=Archive(url), inbox=Inbox(url), retry_base=0.001)
    bus.put_rule(Rule("r", {"source": ["s"]}, [CallableTarget("a", down),
                      CallableTarget("b", down)], max_attempts=1, dedupe=True))  # fmt: skip
    asyncio.run(bus.put_events([make_event("s", "X", {}, event_id="e1")]))
    bus.close()
    dlq = DeadLetterQueue(url)  # the bus database, read by another process
    assert sorted(x.message_id for x in dlq.list("r-dlq")) == ["r/a#e1", "r/b#e1"]
    dlq.close()


def test_archive_and_replay(tmp_path: Path) -> None:
    bus = EventBus(archive=Archive(f"sqlite:///{tmp_path / 'a.db'}"))
    got: list[str] = []
    bus.put_rule(
        Rule("all", {"source": ["s"]}, [CallableTarget("c", lambda e: got.append(e["id"]))])
    )
    events = [make_event("s", "X", {"n": n}) for n in range(3)]
    asyncio.run(bus.put_events(events))
    assert asyncio.run(bus.replay(0, 1e12)) == 3
    assert got == [e["id"] for e in events] * 2


def test_dead_letter_redrive_writes_an_outbox_event(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'orders.db'}"
    dlq = DeadLetterQueue(url)
    dlq.put("Step-dlq", {"step": "Step"}, {"error": "E", "cause": "c"}, "m-1")
    assert not dlq.put("Step-dlq", {"step": "Step"}, {"error": "E"}, "m-1")  # de-duplicated
    assert dlq.depth() == {"Step-dlq": 1}
    dlq.redrive(dlq.list()[0].id)
    assert dlq.depth() == {}
    seen: list[dict[str, Any]] = []

    async def publish(events: list[dict[str, Any]]) -> None:
        seen.extend(events)

    asyncio.run(OutboxRelay(url, publish).relay_once())
    assert seen[0]["detail-type"] == "DeadLetterRedriven"
    assert seen[0]["detail"]["message"] == {"step": "Step"}


def test_webhook_target_posts_over_http(tmp_path: Path) -> None:
    received: list[bytes] = []
    signatures: list[str] = []

    async def hook(request: Request) -> Response:
        received.append(await request.body())
        signatures.append(request.headers.get(SIGNATURE_HEADER, ""))
        return Response(status_code=204)

    server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/hook", hook, methods=["POST"])]),  # noqa: E501
                                           host="127.0.0.1", port=0, log_level="error"))  # fmt: skip  # noqa: E501
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    bus = EventBus()
    bus.put_rule(
        Rule("w", {"source": ["s"]}, [WebhookTarget("hook", f"http://127.0.0.1:{port}/hook")])
    )
    asyncio.run(bus.put_events([make_event("s", "X", {"n": 1})]))
    signed = WebhookTarget("signed", f"http://127.0.0.1:{port}/hook", signing_secret="whsec")
    asyncio.run(signed.deliver(make_event("s", "Y", {"n": 2})))
    server.should_exit = True
    thread.join(5)
    assert (len(received) == 2 and b'"n": 1' in received[0]) or b'"n":1' in received[0]
    assert signatures[0] == ""  # no secret, no signature
    stamp = int(signatures[1].split(",")[0].removeprefix("t="))
    assert abs(stamp - time.time()) < 60
    assert signatures[1] == webhook_signature("whsec", received[1], stamp)
    assert signatures[1] != webhook_signature("other", received[1], stamp)
