"""A journal written before the payload store, upgraded: every history reads back exactly as
it was written, its large texts now stored once per execution and compressed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from sagaway.store.sqlite import SqliteJournal
from tests.store.conftest import (
    drop_schema,
    migrations_before,
    postgres_at,
    postgres_url,
    sqlite_at,
)

ARN = "arn:aws:states:us-east-1:111111111111:execution:orders:big"
SM = "arn:aws:states:us-east-1:111111111111:stateMachine:orders"


def old_rows() -> tuple[tuple[Any, ...], list[tuple[str, int, bytes]], list[list[dict[str, Any]]]]:
    """An execution row and its history rows, as the journal wrote them before: each step's
    events with their texts inline, the state snapshot as plain JSON."""
    text = orjson.dumps({"blob": "".join(chr(97 + i % 26) for i in range(64 * 1024))}).decode()
    steps = [
        [{"id": 1, "type": "ExecutionStarted",
          "executionStartedEventDetails": {"input": text, "roleArn": "r"}},
         {"id": 2, "type": "TaskStateEntered",
          "stateEnteredEventDetails": {"name": "A", "input": text}}],
        [{"id": 3, "type": "TaskStateExited",
          "stateExitedEventDetails": {"name": "A", "output": text}},
         {"id": 4, "type": "ExecutionSucceeded",
          "executionSucceededEventDetails": {"output": text}}],
    ]  # fmt: skip
    state = orjson.dumps({"frames": {}, "input": text})
    execution = (ARN, SM, "big", "SUCCEEDED", text, 1.0, "{}", "STANDARD", 2.0, text, None,
                 None, 2, state, 0)  # fmt: skip
    history = [(ARN, s[0]["id"], orjson.dumps(s)) for s in steps]
    return execution, history, steps


def test_sqlite_upgrade_moves_payloads_and_keeps_histories(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    execution, history, steps = old_rows()
    old = sqlite_at(path, migrations_before("sqlite", "payloads"))
    old.execute(f"INSERT INTO executions VALUES ({', '.join('?' * 15)})", execution)
    old.executemany("INSERT INTO history VALUES (?, ?, ?)", history)
    old.commit()
    old.close()
    journal = SqliteJournal(f"sqlite:///{path}")  # migrates on open
    try:
        assert journal.history(ARN) == steps[0] + steps[1]
        assert journal.get_execution(ARN).state == execution[13]
        moved = journal._reader().execute("SELECT sum(length(events)) FROM history").fetchone()[0]
        count = journal._reader().execute("SELECT count(*) FROM payloads").fetchone()[0]
    finally:
        journal.close()
    assert count == 1
    assert moved < 2048


def test_postgresql_upgrade_moves_payloads_and_keeps_histories() -> None:
    import psycopg

    from sagaway.store.postgres import PostgresJournal

    execution, history, steps = old_rows()
    url = postgres_url()
    try:
        with psycopg.connect(url) as conn:
            postgres_at(conn, migrations_before("postgresql", "payloads"))
            conn.execute(
                "INSERT INTO executions (arn, state_machine_arn, name, status, input, start_date,"
                " definition, machine_type, stop_date, output, error, cause, version, state,"
                f" redrive_count) VALUES ({', '.join(['%s'] * 15)})",
                execution,
            )
            conn.cursor().executemany("INSERT INTO history VALUES (%s, %s, %s)", history)
        journal = PostgresJournal(url)
        try:
            assert journal.history(ARN) == steps[0] + steps[1]
            assert journal.get_execution(ARN).state == execution[13]
            count = journal._reader().execute("SELECT count(*) FROM payloads").fetchone()[0]
        finally:
            journal.close()
        assert count == 1
    finally:
        drop_schema(url)


def test_payloads_stored_under_the_earlier_digest_still_read(tmp_path: Path) -> None:
    """Rows written before digests were SHA-256 of the compressed text (BLAKE2b-128 of the
    text itself) keep their keys: a digest is only a key, nothing recomputes it."""
    import hashlib

    from sagaway.store import payloads as P

    _, _, steps = old_rows()
    text = steps[0][0]["executionStartedEventDetails"]["input"]
    old_key = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
    refs = [{**e, "executionStartedEventDetails": {"input": {"sagawayPayload": old_key},
                                                   "roleArn": "r"}}
            if e["type"] == "ExecutionStarted" else e for e in steps[0][:1]]  # fmt: skip
    journal = SqliteJournal(f"sqlite:///{tmp_path / 'j.db'}")
    try:
        with journal._transaction() as conn:
            conn.execute(
                "INSERT INTO payloads VALUES (?, ?, ?)",
                (ARN, old_key, P.compress(text.encode())),
            )
            conn.execute("INSERT INTO history VALUES (?, ?, ?)", (ARN, 1, orjson.dumps(refs)))
        assert journal.history(ARN) == steps[0][:1]
        assert journal.payload_texts(ARN, {old_key}) == {old_key: text}
    finally:
        journal.close()
