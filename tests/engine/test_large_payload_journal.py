"""A saga with a 64 KiB document on a real SQLite journal: each distinct value is rendered,
hashed and compressed once, snapshots refer to the payload store instead of embedding the
document, and what every reader sees is exactly what it was without any of that."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from sagaway.engine.journal_steps import read_state
from sagaway.interpreter.texts import MEMO
from sagaway.store import payloads as P
from tests.engine.conftest import Node, definition, run, task, until

STEPS = ["CreateOrder", "ReserveInventory", "AuthorizePayment", "BookShipment"]
# Random hex: the journal compresses, and a repeated letter would hide what is stored.
BLOB = os.urandom(32 * 1024).hex()


def saga() -> str:
    states = {
        name: task(name, ResultPath=f"$.{name}", **({"Next": STEPS[i + 1]} if i + 1 < 4 else {}))
        for i, name in enumerate(STEPS)
    }
    return definition(states)


def order() -> dict[str, Any]:
    return {"orderId": "o-1", "total": 40, "items": ["book"], "blob": BLOB}


def step_handler(name: str) -> Any:
    async def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"step": name, "orderId": event["orderId"]}

    return handler


def handlers() -> dict[str, Any]:
    return {name: step_handler(name) for name in STEPS}


async def one_saga(node: Node, name: str = "o-1", document: dict[str, Any] | None = None) -> str:
    engine = await node.open()
    machine = engine.create_state_machine("orders", saga())
    text = json.dumps(order() if document is None else document)
    arn = (await engine.start_execution(machine.arn, name, text)).arn
    assert await engine.wait_status(arn) == "SUCCEEDED"
    return arn


def without_timestamps(history: list[dict[str, Any]]) -> bytes:
    return orjson.dumps([{k: v for k, v in e.items() if k != "timestamp"} for e in history])


@contextmanager
def memos_off() -> Iterator[None]:
    """Nothing kept: every text rendered, hashed and compressed where it is used, and every
    snapshot whole (what the journal did before)."""
    budgets = MEMO.budget, P.MEMO.budget
    MEMO.budget = P.MEMO.budget = 0
    MEMO.clear()
    try:
        yield
    finally:
        MEMO.budget, P.MEMO.budget = budgets


def test_each_distinct_value_is_rendered_hashed_and_stored_once(tmp_path: Path) -> None:
    node = Node(tmp_path / "j.db", handlers())
    rendered, packed = MEMO.rendered, P.MEMO.packed

    async def scenario() -> str:
        arn = await one_saga(node)
        assert node.journal is not None
        reader = node.journal._reader()
        count = "SELECT count(*) FROM payloads WHERE execution_arn = ?"
        (stored,) = reader.execute(count, (arn,)).fetchone()
        (state,) = reader.execute("SELECT state FROM executions WHERE arn = ?", (arn,)).fetchone()
        await node.close()
        # The document's large member once, and a small parts row for the input and for each
        # step's output (each the member's text plus a few fields around it).
        assert stored == 1 + 1 + len(STEPS)
        assert b"payloadRefs" in state and len(state) < P.COMPRESS_LIMIT
        return arn

    run(scenario())
    # The input and each state's output, although each is in three or more events and in
    # every snapshot, and the large string they share (rendered once, spliced into each).
    assert MEMO.rendered - rendered == 1 + 1 + len(STEPS)
    # Compressed: the shared string once per execution (each document's parts row holds only
    # its skeleton), and the execution row's input (the client's own text) and output
    # columns, kept whole.
    assert P.MEMO.packed - packed == 3


def test_history_is_byte_for_byte_what_it_is_without_the_memos(tmp_path: Path) -> None:
    fast, slow = Node(tmp_path / "fast.db", handlers()), Node(tmp_path / "slow.db", handlers())

    async def histories(node: Node) -> tuple[bytes, bytes, dict[str, Any]]:
        arn = await one_saga(node)
        assert node.journal is not None and node.engine is not None
        history = node.journal.history(arn)
        pages: list[dict[str, Any]] = []
        after = None
        while True:  # paged reads put the texts back too
            page = node.journal.history_page(arn, 3, after)
            if not page:
                break
            pages.extend(page)
            after = page[-1]["id"]
        record = node.journal.get_execution(arn)
        await node.close()
        assert record is not None
        described = {"input": record.input, "output": record.output}
        return without_timestamps(history), without_timestamps(pages), described

    got = run(histories(fast))
    with memos_off():
        expected = run(histories(slow))
    assert got == expected
    events = orjson.loads(got[0])
    texts = [d[k] for e in events for d in e.values() if isinstance(d, dict) for k in d
             if k in ("input", "output")]  # fmt: skip
    assert sum(BLOB in t for t in texts) == 2 + 3 * len(STEPS)


def test_a_handler_that_changes_its_input_changes_nothing_else(tmp_path: Path) -> None:
    def meddle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        event["blob"] = "changed"
        event["items"].append("pen")
        return {"ok": True}

    node = Node(tmp_path / "j.db", {**handlers(), "CreateOrder": meddle})

    async def scenario() -> None:
        arn = await one_saga(node)
        assert node.journal is not None
        history = node.journal.history(arn)
        record = node.journal.get_execution(arn)
        await node.close()
        assert record is not None and record.output is not None
        output = json.loads(record.output)
        assert output["blob"] == BLOB and output["items"] == ["book"]
        entered = [e for e in history if e["type"] == "TaskStateEntered"]
        for event in entered:
            value = json.loads(event["stateEnteredEventDetails"]["input"])
            assert value["blob"] == BLOB and value["items"] == ["book"]

    run(scenario())


def test_an_execution_resumes_from_a_snapshot_that_refers_to_payloads(tmp_path: Path) -> None:
    release = threading.Event()

    def blocked(event: dict[str, Any], context: Any) -> dict[str, Any]:
        release.wait(30)
        return {"step": "AuthorizePayment", "orderId": event["orderId"]}

    path = tmp_path / "j.db"
    node = Node(path, {**handlers(), "AuthorizePayment": blocked})

    async def first_run() -> str:
        engine = await node.open()
        machine = engine.create_state_machine("orders", saga())
        arn = (await engine.start_execution(machine.arn, "o-1", json.dumps(order()))).arn
        assert node.journal is not None
        journal = node.journal

        def waiting_on_payment() -> bool:
            return any(
                e["type"] == "TaskStateEntered"
                and e["stateEnteredEventDetails"]["name"] == "AuthorizePayment"
                for e in journal.history(arn)
            )

        await until(waiting_on_payment)
        state = journal.get_execution(arn).state  # type: ignore[union-attr]
        assert state is not None and b"payloadRefs" in state and BLOB.encode() not in state
        release.set()
        await asyncio.sleep(0)
        await node.close()  # a restart: the Task is invoked again from the snapshot
        return arn

    arn = run(first_run())
    MEMO.clear()  # a new process knows no texts
    again = Node(path, handlers())

    async def second_run() -> dict[str, Any]:
        engine = await again.open()
        record = await engine.wait(arn)
        await again.close()
        assert record is not None and record.status == "SUCCEEDED" and record.output
        return dict(json.loads(record.output))

    output = run(second_run())
    assert output["blob"] == BLOB
    assert [k for k in output if k in STEPS] == STEPS


def test_on_postgresql_snapshots_refer_to_payloads_that_read_back_whole() -> None:
    from sagaway.engine.engine import Engine
    from sagaway.resources.lambda_functions import FunctionRegistry
    from sagaway.store.open import open_journal
    from tests.store.conftest import drop_schema, postgres_url

    url = postgres_url()

    async def scenario() -> None:
        registry = FunctionRegistry()
        for name, handler in handlers().items():
            registry.register(name, handler)
        journal: Any = open_journal(url, owner="payload-test")  # a worker: it runs them
        try:
            async with Engine(journal, registry) as engine:
                machine = engine.create_state_machine("orders", saga())
                start = await engine.start_execution(machine.arn, "o-1", json.dumps(order()))
                assert await engine.wait_status(start.arn) == "SUCCEEDED"
            record = journal.get_execution(start.arn)
            assert record is not None and record.state is not None
            assert b"payloadRefs" in record.state and BLOB.encode() not in record.state
            state = read_state(journal, record)  # what recovery and the console load
            assert state.execution["Input"] == order()
            assert json.loads(record.output or "")["blob"] == BLOB
            history = journal.history(start.arn)
            texts = [d[k] for e in history for d in e.values() if isinstance(d, dict)
                     for k in d if k in ("input", "output")]  # fmt: skip
            assert sum(BLOB in t for t in texts) == 2 + 3 * len(STEPS)
        finally:
            journal.close()

    try:
        run(scenario())
    finally:
        drop_schema(url)


@contextmanager
def members_off() -> Iterator[None]:
    """Documents rendered and stored whole, as the journal did before large members."""
    MEMO.members = False
    MEMO.clear()
    try:
        yield
    finally:
        MEMO.members = True
        MEMO.clear()


def journal_histories(
    node: Node, document: dict[str, Any] | None = None
) -> tuple[str, bytes, bytes, dict[str, Any]]:
    """One saga's history read whole and in pages of 3, and its DescribeExecution texts."""

    async def scenario() -> tuple[str, bytes, bytes, dict[str, Any]]:
        arn = await one_saga(node, document=document)
        assert node.journal is not None
        history, pages = node.journal.history(arn), []
        after = None
        while page := node.journal.history_page(arn, 3, after):
            pages.extend(page)
            after = page[-1]["id"]
        record = node.journal.get_execution(arn)
        await node.close()
        assert record is not None
        texts = {"input": record.input, "output": record.output}
        return arn, without_timestamps(history), without_timestamps(pages), texts

    return run(scenario())


def payload_bodies(path: Path) -> list[bytes]:
    import sqlite3

    with sqlite3.connect(path) as db:
        return [bytes(body) for (body,) in db.execute("SELECT body FROM payloads")]


def test_history_is_byte_for_byte_the_same_with_and_without_member_references(
    tmp_path: Path,
) -> None:
    _, *with_members = journal_histories(Node(tmp_path / "on.db", handlers()))
    with members_off():
        _, *whole = journal_histories(Node(tmp_path / "off.db", handlers()))
    assert with_members == whole
    on, off = payload_bodies(tmp_path / "on.db"), payload_bodies(tmp_path / "off.db")
    # With members: the 64 KiB string is one row, every document a small parts row.
    assert sum(body.startswith(P.PARTS_MAGIC) for body in on) == 1 + len(STEPS)
    assert not any(body.startswith(P.PARTS_MAGIC) for body in off)
    assert sum(map(len, on)) * 3 < sum(map(len, off))


def test_the_large_member_is_compressed_and_stored_once_per_execution(tmp_path: Path) -> None:
    packed = P.MEMO.packed
    arn, *_ = journal_histories(Node(tmp_path / "j.db", handlers()))
    member = P.compress(json.dumps(BLOB).encode())
    bodies = payload_bodies(tmp_path / "j.db")
    assert bodies.count(member) == 1
    # Every other row is a parts row far smaller than the member: none holds it again.
    assert all(b.startswith(P.PARTS_MAGIC) and len(b) < 1024 for b in bodies if b != member)
    # Compressed: the member, the client's input text and the execution's output column.
    assert P.MEMO.packed - packed == 3
    assert arn


def test_user_text_that_looks_like_a_reference_or_sentinel_is_returned_intact(
    tmp_path: Path,
) -> None:
    from sagaway.interpreter.texts import _SENTINEL

    # Sentinels of members a document does not have (it has one): the skeleton is used, and
    # holds them as they are (one that collides is rendered whole: tests/interpreter).
    traps = {
        "sentinel": _SENTINEL + "7-",
        "quoted": '"' + _SENTINEL + "8-",
        "magic": P.PARTS_MAGIC.decode() + '["x",[[0,"abc"]]]',
        "ref": {"sagawayPayload": "0" * 32},
        _SENTINEL + "9-": "a key",
    }
    trapped = {**order(), "traps": traps}
    _, history, pages, texts = journal_histories(Node(tmp_path / "j.db", handlers()), trapped)
    with members_off():
        _, whole, _, _ = journal_histories(Node(tmp_path / "w.db", handlers()), trapped)
    assert history == pages == whole
    assert any(b.startswith(P.PARTS_MAGIC) for b in payload_bodies(tmp_path / "j.db"))
    output = json.loads(texts["output"] or "null")
    assert output["traps"] == traps and output["blob"] == BLOB


def test_documents_stored_whole_before_still_read(tmp_path: Path) -> None:
    """A journal written before large members (whole documents) reads the same."""
    path = tmp_path / "j.db"
    with members_off():
        _, written, _, _ = journal_histories(Node(path, handlers()))
    assert not any(b.startswith(P.PARTS_MAGIC) for b in payload_bodies(path))
    MEMO.clear()
    reopened = Node(path, handlers())

    async def read() -> bytes:
        await reopened.open()
        assert reopened.journal is not None
        (arn,) = [r.arn for r in reopened.journal.list_executions()]
        history = reopened.journal.history(arn)
        await reopened.close()
        return without_timestamps(history)

    assert run(read()) == written
