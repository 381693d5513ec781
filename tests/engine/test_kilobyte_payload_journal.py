"""Documents of a few KiB on a real SQLite journal. By default their texts stay inline in
the history; with the inline limit lowered (as it was measured, docs/benchmarks.md) they
are kept once per execution as plain (uncompressed) payload rows. Either way every reader
sees the same, whichever limits wrote the journal. Also: each step sends only the payload
rows not written yet, and an execution's kilobyte columns are compressed.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from sagaway.interpreter.texts import MEMO
from sagaway.store import payloads as P
from sagaway.store.rows import WrittenPayloads
from sagaway.store.sqlite_writer import StepRows
from tests.engine.conftest import Node, run
from tests.engine.test_large_payload_journal import (
    STEPS,
    handlers,
    journal_histories,
    order,
    payload_bodies,
)

# 1.5 KiB of random hex: above the inline limit, below the compression limit.
KILOBYTE_BLOB = os.urandom(768).hex()


def kilobyte_order() -> dict[str, Any]:
    return {**order(), "blob": KILOBYTE_BLOB}


@contextmanager
def inline_limits(limit: int) -> Iterator[None]:
    """The payload store's inline limit and the text memo's ``min_kept`` set to ``limit``."""
    saved = P.INLINE_LIMIT, MEMO.min_kept
    P.INLINE_LIMIT = MEMO.min_kept = limit
    MEMO.clear()
    try:
        yield
    finally:
        P.INLINE_LIMIT, MEMO.min_kept = saved
        MEMO.clear()


def rows_of(path: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return list(db.execute(query))


def test_kilobyte_documents_are_plain_payload_rows_and_read_back_byte_for_byte(
    tmp_path: Path,
) -> None:
    with inline_limits(1024):
        arn, history, pages, texts = journal_histories(
            Node(tmp_path / "rows.db", handlers()), kilobyte_order()
        )
    _, inline, inline_pages, inline_texts = journal_histories(
        Node(tmp_path / "inline.db", handlers()), kilobyte_order()
    )
    assert history == pages == inline == inline_pages
    assert texts == inline_texts
    bodies = payload_bodies(tmp_path / "rows.db")
    # The input and each step's output, once each, as their UTF-8 text (no zstd frame, no
    # parts row: the blob is below the member size), keyed by the SHA-256 of that body.
    assert len(bodies) == 1 + len(STEPS)
    assert all(b[:1] == b"{" and KILOBYTE_BLOB.encode() in b for b in bodies)
    for digest, body in rows_of(tmp_path / "rows.db", "SELECT digest, body FROM payloads"):
        assert digest == hashlib.sha256(body).hexdigest()[:32]
    # History rows refer to them instead of holding the blob, and so do snapshots.
    stored = rows_of(tmp_path / "rows.db", "SELECT events FROM history")
    assert not any(KILOBYTE_BLOB.encode() in bytes(events) for (events,) in stored)
    ((state,),) = rows_of(tmp_path / "rows.db", "SELECT state FROM executions")
    assert b"payloadRefs" in state and KILOBYTE_BLOB.encode() not in state
    assert payload_bodies(tmp_path / "inline.db") == []  # the default: inline
    assert arn


def reread(path: Path) -> tuple[bytes, dict[str, Any]]:
    """The history and DescribeExecution texts of the one execution in ``path``, read by
    a new engine (nothing kept from the writing)."""
    MEMO.clear()
    node = Node(path, handlers())

    async def read() -> tuple[bytes, dict[str, Any]]:
        await node.open()
        assert node.journal is not None
        (record,) = node.journal.list_executions()
        history = node.journal.history(record.arn)
        full = node.journal.get_execution(record.arn)
        await node.close()
        assert full is not None
        events = [{k: v for k, v in e.items() if k != "timestamp"} for e in history]
        return orjson.dumps(events), {"input": full.input, "output": full.output}

    return run(read())


def test_journals_read_the_same_whatever_inline_limit_wrote_them(tmp_path: Path) -> None:
    inline, rows = tmp_path / "inline.db", tmp_path / "rows.db"
    _, inline_history, _, inline_texts = journal_histories(
        Node(inline, handlers()), kilobyte_order()
    )
    with inline_limits(1024):
        _, rows_history, _, rows_texts = journal_histories(Node(rows, handlers()), kilobyte_order())
        assert reread(inline) == (inline_history, inline_texts)  # inline, read with 1 KiB
    assert reread(rows) == (rows_history, rows_texts)  # plain rows, read with the default
    assert inline_history == rows_history


def test_kilobyte_execution_columns_are_compressed_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    _, _, _, texts = journal_histories(Node(path, handlers()), kilobyte_order())
    ((definition, input_, output),) = rows_of(
        path, "SELECT definition, input, output FROM executions"
    )
    # The input and the output (over 1 KiB) are zstd frames; the definition (758 characters)
    # stays text ...
    assert isinstance(definition, str) and len(definition) < P.COLUMN_LIMIT
    assert all(isinstance(v, bytes) and P.decompress(v) != v for v in (input_, output))
    # ... that DescribeExecution reads back as the texts given.
    assert P.decompress(input_).decode() == texts["input"]
    assert P.decompress(output).decode() == texts["output"]


def step(arn: str, *digests: str) -> StepRows:
    return StepRows(None, (), None, [], [(arn, d, b"{}") for d in digests])


def test_payload_rows_already_written_are_not_sent_again() -> None:
    written = WrittenPayloads()
    first = [step("a", "d1", "d2"), step("b", "d1")]
    assert [written.unwritten(s) for s in first] == first  # nothing written yet
    written.note(first, [True, False])  # b's step was refused: its row is not there
    again = [written.unwritten(s) for s in [step("a", "d1", "d3"), step("b", "d1")]]
    assert [row[1] for row in again[0].payloads] == ["d3"]
    assert [row[1] for row in again[1].payloads] == ["d1"]  # per execution, as keyed


def test_written_payloads_forget_everything_beyond_their_limit() -> None:
    written = WrittenPayloads(limit=2)
    written.note([step("a", "d1", "d2", "d3")], [True])
    assert written.unwritten(step("a", "d1")).payloads == []
    written.note([step("a", "d4")], [True])  # over the limit: all forgotten first
    # So sent again: a no-op INSERT OR IGNORE, never a missing row.
    assert written.unwritten(step("a", "d1")).payloads == [("a", "d1", b"{}")]
    assert written.unwritten(step("a", "d4")).payloads == []
