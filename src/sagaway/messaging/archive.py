"""The bus's archive: every event put on the bus, kept for replay."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from sagaway.messaging.sqlite import connect, transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS archive (
    event_id TEXT PRIMARY KEY,
    archived REAL NOT NULL,
    detail_type TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS archive_by_time ON archive (archived);
"""


class Archive:
    def __init__(self, url: str) -> None:
        self.url = url
        self._conn = connect(url)
        self._conn.executescript(SCHEMA)
        self._lock = threading.Lock()

    def add(self, events: list[dict[str, Any]]) -> None:
        now = time.time()
        rows = [(e["id"], now, str(e.get("detail-type", "")), json.dumps(e)) for e in events]
        with self._lock, transaction(self._conn) as conn:
            # A redelivered event keeps its first archive time: replay sends it once.
            conn.executemany("INSERT OR IGNORE INTO archive VALUES (?, ?, ?, ?)", rows)

    def between(self, since: float, until: float) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT body FROM archive WHERE archived >= ? AND archived < ? ORDER BY archived",
                (since, until),
            ).fetchall()
        return [json.loads(body) for (body,) in rows]

    def count(self, detail_type: str | None = None) -> int:
        with self._lock:
            row = self._conn.execute(
                "SELECT count(*) FROM archive WHERE ? IS NULL OR detail_type = ?",
                (detail_type, detail_type),
            ).fetchone()
        return int(row[0])

    def close(self) -> None:
        self._conn.close()
