"""The shop's incident hook: Alertmanager notifications (version 4 webhook bodies) open one
incident per firing alert and resolve it; `sagaway incidents` lists them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shop.incidents import BadNotification, Incidents
from tests.cli.cli_kit import sagaway


def notification(status: str, *alerts: tuple[str, str]) -> dict[str, Any]:
    return {"version": "4", "status": status, "receiver": "shop-incidents", "alerts": [
        {"status": status, "fingerprint": fingerprint,
         "labels": {"alertname": "SagawayDeadLetters", "queue": queue, "severity": "page"},
         "annotations": {"summary": f"1 message(s) parked in dead-letter queue {queue}"}}
        for fingerprint, queue in alerts]}  # fmt: skip


def test_one_incident_per_firing_alert_until_it_resolves(tmp_path: Path) -> None:
    incidents = Incidents(f"sqlite:///{tmp_path / 'incidents.db'}")
    book, pay = ("f1", "BookShipment-dlq"), ("f2", "AuthorizePayment-dlq")
    assert incidents.receive(notification("firing", book, pay)) == (2, 0)
    assert incidents.receive(notification("firing", book)) == (0, 0)  # a repeat notification
    assert incidents.receive(notification("resolved", book)) == (0, 1)
    assert incidents.receive(notification("resolved", book)) == (0, 0)
    assert incidents.receive(notification("firing", book)) == (1, 0)  # fires again: new one
    listed = [(i.id, i.labels["queue"], i.resolved is None) for i in incidents.list()]
    assert listed == [(1, "BookShipment-dlq", False), (2, "AuthorizePayment-dlq", True),
                      (3, "BookShipment-dlq", True)]  # fmt: skip
    assert [i.id for i in incidents.list(open_only=True)] == [2, 3]
    with pytest.raises(BadNotification):
        incidents.receive({"alerts": [{"status": "firing"}]})  # no fingerprint


def test_sagaway_incidents_lists_them(tmp_path: Path) -> None:
    incidents = Incidents(f"sqlite:///{tmp_path / 'incidents.db'}")
    incidents.receive(notification("firing", ("f1", "BookShipment-dlq")))
    done = sagaway("incidents", "--workdir", tmp_path)
    assert done.code == 0, done.err
    first, total = done.out.splitlines()
    assert first.split("\t")[:4] == ["1", "OPEN", "SagawayDeadLetters",
                                     "queue=BookShipment-dlq,severity=page"]  # fmt: skip
    assert total == "1 incident(s)"
    assert sagaway("incidents", "--workdir", tmp_path, "--json").json()[0]["status"] == "OPEN"
    missing = sagaway("incidents", "--workdir", tmp_path / "nowhere")
    assert missing.code == 2 and "no incidents database" in missing.err
