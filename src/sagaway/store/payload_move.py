"""Moving a journal written before the payload store into it (the ``payloads`` migration).

Runs inside the migration's transaction, for either dialect (``mark`` is the driver's
parameter marker): each history row that holds large texts is rewritten with references
and its texts go to ``payloads``; each state snapshot is compressed. Rows are read one
execution at a time, so a large journal is never held in memory at once.
"""

from __future__ import annotations

from typing import Any

import orjson

from sagaway.store import payloads as P


def move_journal(conn: Any, mark: str) -> None:
    cursor = conn.cursor()
    arns = [arn for (arn,) in cursor.execute("SELECT arn FROM executions").fetchall()]
    for arn in arns:
        _move_history(cursor, mark, arn)
        _compress_state(cursor, mark, arn)


def _move_history(cursor: Any, mark: str, arn: str) -> None:
    rows = cursor.execute(
        f"SELECT first_event_id, events FROM history WHERE execution_arn = {mark}", (arn,)
    ).fetchall()
    for first, blob in rows:
        events, payloads = P.externalize(arn, orjson.loads(bytes(blob)))
        if not payloads:
            continue
        cursor.executemany(
            f"INSERT INTO payloads (execution_arn, digest, body) VALUES ({mark}, {mark}, {mark})"
            " ON CONFLICT DO NOTHING",
            payloads,
        )
        cursor.execute(
            f"UPDATE history SET events = {mark}"
            f" WHERE execution_arn = {mark} AND first_event_id = {mark}",
            (orjson.dumps(events), arn, first),
        )


def _compress_state(cursor: Any, mark: str, arn: str) -> None:
    (state,) = cursor.execute(f"SELECT state FROM executions WHERE arn = {mark}", (arn,)).fetchone()
    if state is None:
        return
    state = bytes(state)
    packed = P.maybe_compress(P.decompress(state))
    if packed != state:
        cursor.execute(f"UPDATE executions SET state = {mark} WHERE arn = {mark}", (packed, arn))
