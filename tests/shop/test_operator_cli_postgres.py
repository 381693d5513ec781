"""The operator's commands on a shop on PostgreSQL (``--shop-db URL [--shop-schema BASE]``):
``sagaway dlq list|show|redrive`` and ``sagaway incidents`` run as a user runs them (a
subprocess), against a shop whose order was parked by a real runtime; the redrive is resumed by
a running cluster member through the bus. Errors (bad URL, server away, no shop) are one line
and exit 2."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shop.config import ShopConfig
from shop.incidents import Incidents
from shop.services.orders import OrdersService
from shop.sql import search_path
from shop.system import Shop, ShopRuntime
from tests.cli.cli_kit import sagaway
from tests.shop.conftest import drop_shop_schemas
from tests.shop.kit import order
from tests.store.conftest import PG_URL, postgres_url


@pytest.fixture
def config(tmp_path: Path) -> Iterator[ShopConfig]:
    db = postgres_url()
    yield ShopConfig(workdir=tmp_path, db=db)
    drop_shop_schemas(db)


async def _park(config: ShopConfig, order_id: str) -> None:
    """One order parked at SendConfirmation (its downstream is down), as in test_redrive."""
    parked = ShopConfig(config.workdir, db=config.db, outages=("SendConfirmation",))
    runtime = ShopRuntime(parked, member="parker")
    runtime.shop.inventory.restock({"hoodie": 10})
    runtime.shop.loyalty.open_accounts({"c1": 100})
    await runtime.start()
    try:
        runtime.shop.orders.submit("test", order_id, order(order_id))
        for _ in range(600):
            record = runtime.shop.orders.get(order_id)
            if record and record["status"] == "NEEDS_REVIEW":
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{order_id} was not parked")
    finally:
        await runtime.stop()
        runtime.shop.close()


class Member:
    """A cluster member (the operator's fix applied: no faults) running in a thread."""

    def __init__(self, config: ShopConfig) -> None:
        self.runtime = ShopRuntime(config.without_faults(), member="worker-1")
        self.loop = asyncio.new_event_loop()
        self.stopping = asyncio.Event()
        self.started = threading.Event()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._run(),))

    async def _run(self) -> None:
        await self.runtime.start()
        self.started.set()
        await self.stopping.wait()
        await self.runtime.stop()
        self.runtime.shop.close()

    def __enter__(self) -> Member:
        self.thread.start()
        assert self.started.wait(30)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(30)
        self.loop.close()


def _status(config: ShopConfig, order_id: str) -> str:
    orders = OrdersService(config.url("orders"))
    try:
        record = orders.get(order_id)
        return "" if record is None else str(record["status"])
    finally:
        orders.db.close()


def test_a_parked_order_is_listed_shown_and_redriven_to_a_running_member(
    config: ShopConfig,
) -> None:
    asyncio.run(_park(config, "o-1"))
    listed = sagaway("dlq", "list", "--shop-db", config.db)
    assert listed.code == 0, listed.err
    lines = listed.out.splitlines()
    assert lines[-1] == "1 message(s)" and "\tSendConfirmation-dlq\t" in lines[0]
    letter_id = lines[0].split("\t")[0]
    shown = sagaway("dlq", "show", letter_id, "--shop-db", config.db)
    assert shown.code == 0, shown.err
    assert shown.json()["body"]["document"]["order"]["orderId"] == "o-1"
    with Member(config):
        done = sagaway("dlq", "redrive", letter_id, "--no-wait", "--shop-db", config.db)
        assert done.code == 0, done.err
        assert done.out.strip() == f"{letter_id}\tSendConfirmation-dlq\tredriven"
        deadline = time.monotonic() + 60  # the member's rule resumes it through the bus
        while _status(config, "o-1") == "NEEDS_REVIEW" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _status(config, "o-1") == "CONFIRMED"
    again = sagaway("dlq", "list", "--all", "--shop-db", config.db)
    assert again.out.splitlines()[-1] == "1 message(s)" and "(redriven)" in again.out
    assert sagaway("dlq", "list", "--shop-db", config.db).out.strip() == "0 message(s)"


def test_redrive_waits_for_the_resumed_saga_with_a_member_running(config: ShopConfig) -> None:
    asyncio.run(_park(config, "o-2"))
    # The URL without its schema plus --shop-schema names the same shop (the demo's way).
    base = search_path(config.db)
    assert base
    plain = ["--shop-db", PG_URL, "--shop-schema", base]
    with Member(config):
        done = sagaway("dlq", "redrive", "--all", "--timeout", "60", *plain)
    assert done.code == 0, done.err
    fields = done.out.strip().split("\t")
    assert fields[1:3] == ["SendConfirmation-dlq", "o-2"]
    assert fields[-2:] == ["SUCCEEDED", "CONFIRMED"]
    assert _status(config, "o-2") == "CONFIRMED"


def test_incidents_are_listed_from_postgres(config: ShopConfig) -> None:
    Shop(config).close()  # a shop exists in the schema: its stores are made
    empty = sagaway("incidents", "--shop-db", config.db)
    assert (empty.code, empty.out.strip()) == (0, "0 incident(s)")
    store = Incidents(config.url("incidents"))
    alert = {"status": "firing", "fingerprint": "f1", "labels": {"alertname": "DlqGrowing",
             "queue": "SendConfirmation-dlq"}, "startsAt": "2026-01-01T00:00:00Z"}  # fmt: skip
    store.receive({"alerts": [alert]})
    store.close()
    found = sagaway("incidents", "--open", "--shop-db", config.db)
    assert found.code == 0, found.err
    first, last = found.out.splitlines()[0], found.out.splitlines()[-1]
    assert "\tOPEN\tDlqGrowing\tqueue=SendConfirmation-dlq\t" in first and last == "1 incident(s)"
    as_json = sagaway("incidents", "--json", "--shop-db", config.db).json()
    assert [i["alertname"] for i in as_json] == ["DlqGrowing"]


def test_errors_are_one_line_and_exit_2(config: ShopConfig) -> None:
    cases = {
        ("dlq", "list", "--shop-db", "sqlite:///orders.db"): "takes a postgresql:// URL",
        ("dlq", "list", "--shop-db", "postgresql://127.0.0.1:1/x"): "cannot reach",
        (
            "dlq",
            "show",
            "1",
            "--shop-db",
            PG_URL + ("&" if "?" in PG_URL else "?") + "bogus=1",
        ): "cannot reach",
        ("dlq", "redrive", "1", "--shop-db", config.db): "no shop in schema",
        ("incidents", "--shop-db", PG_URL, "--shop-schema", "nosuchshop"): "no shop in schema",
        ("dlq", "list", "--shop-db", config.db, "--workdir", "x"): "replaces --db and --workdir",
        ("dlq", "list", "--shop-schema", "x"): "goes with --shop-db",
    }
    for args, message in cases.items():
        done = sagaway(*args)
        assert done.code == 2, (args, done.out, done.err)
        assert message in done.err and len(done.err.strip().splitlines()) == 1, (args, done.err)
