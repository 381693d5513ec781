"""Incidents opened by alerts: the stand-in for the seed's ITSM tool.

Alertmanager's webhook receiver POSTs groups of alerts, each with a ``fingerprint`` (stable
per label set) and a ``status``. A firing alert opens one incident unless one is already
open for its fingerprint (Alertmanager repeats notifications); a resolved alert resolves the
open one. An alert that fires again after being resolved opens a new incident.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from shop.sql import Database, SqlConnection

SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT NOT NULL,
    alertname TEXT NOT NULL,
    summary TEXT NOT NULL,
    labels TEXT NOT NULL,
    opened REAL NOT NULL,
    resolved REAL
);
CREATE UNIQUE INDEX IF NOT EXISTS one_open_incident_per_alert
    ON incidents (fingerprint) WHERE resolved IS NULL;
"""


class BadNotification(ValueError):
    """The body is not an Alertmanager webhook notification (version 4)."""


@dataclass(frozen=True, slots=True)
class Incident:
    id: int
    fingerprint: str
    alertname: str
    summary: str
    labels: dict[str, str]
    opened: float
    resolved: float | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "fingerprint": self.fingerprint, "alertname": self.alertname,
                "summary": self.summary, "labels": self.labels, "opened": self.opened,
                "resolved": self.resolved, "status": "OPEN" if self.resolved is None
                else "RESOLVED"}  # fmt: skip


class Incidents:
    def __init__(self, url: str) -> None:
        self.url = url
        self._db = Database(url, SCHEMA)

    def close(self) -> None:
        self._db.close()

    def receive(self, notification: Any) -> tuple[int, int]:
        """Apply one webhook notification; (incidents opened, incidents resolved)."""
        alerts = notification.get("alerts") if isinstance(notification, dict) else None
        if not isinstance(alerts, list) or not all(
            isinstance(a, dict) and isinstance(a.get("fingerprint"), str) for a in alerts
        ):
            raise BadNotification("expected an Alertmanager notification with alerts[]")
        opened = resolved = 0
        now = time.time()
        with self._db.transaction() as conn:
            for alert in alerts:
                if alert.get("status") == "resolved":
                    resolved += conn.execute(
                        "UPDATE incidents SET resolved = ? WHERE fingerprint = ? "
                        "AND resolved IS NULL", (now, alert["fingerprint"])).rowcount  # fmt: skip
                else:
                    opened += _open(conn, alert, now)
        return opened, resolved

    def list(self, *, open_only: bool = False) -> list[Incident]:
        where = " WHERE resolved IS NULL" if open_only else ""
        rows = self._db.query(
            "SELECT id, fingerprint, alertname, summary, labels, opened, resolved "
            f"FROM incidents{where} ORDER BY id"
        )
        return [Incident(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6]) for r in rows]


def _open(conn: SqlConnection, alert: dict[str, Any], now: float) -> int:
    labels = {str(k): str(v) for k, v in (alert.get("labels") or {}).items()}
    annotations = alert.get("annotations") or {}
    summary = str(annotations.get("summary") or annotations.get("description") or "")
    # Checked first rather than left to the unique index: a refused insert would still use
    # up an id, and incident numbers are what operators quote.
    cursor = conn.execute(
        "INSERT INTO incidents (fingerprint, alertname, summary, labels, opened) "
        "SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM incidents "
        "WHERE fingerprint = ? AND resolved IS NULL)",
        (alert["fingerprint"], labels.get("alertname", ""), summary,
         json.dumps(labels, sort_keys=True), now, alert["fingerprint"]),
    )  # fmt: skip
    return cursor.rowcount
