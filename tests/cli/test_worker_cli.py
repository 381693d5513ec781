"""``sagaway worker --http-allow-host``: the same escape hatch ``serve`` has, for the hosts
a cluster's http:invoke Tasks may reach on a private network."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from sagaway.cli.worker import _Setup, worker_router
from sagaway.engine.http_destinations import DestinationRefused, HttpDestinations
from sagaway.interpreter.limits import Limits
from sagaway.messaging.put_events import ServerBus
from tests.cli.cli_kit import sagaway


def test_help_lists_the_option() -> None:
    done = sagaway("worker", "--help")
    assert done.code == 0
    assert "--http-allow-host" in done.out


def _http(tmp_path: Path, allow: tuple[str, ...]) -> HttpDestinations:
    setup = _Setup(f"sqlite:///{tmp_path / 'j.db'}", None, CollectorRegistry(), Limits(), allow)
    router = worker_router(ServerBus(f"sqlite:///{tmp_path / 'bus.db'}"), setup)
    assert router.http is not None and not router.activities
    return router.http


def test_an_allowed_host_is_reached_and_others_stay_refused(tmp_path: Path) -> None:
    http = _http(tmp_path, ("LocalHost",))
    destination = asyncio.run(http.check("http://localhost:9/ping"))
    assert destination.url == "http://localhost:9/ping"
    with pytest.raises(DestinationRefused, match="loopback"):
        asyncio.run(http.check("http://127.0.0.1:9/ping"))


def test_by_default_a_worker_allows_no_private_host(tmp_path: Path) -> None:
    with pytest.raises(DestinationRefused, match="loopback"):
        asyncio.run(_http(tmp_path, ()).check("http://localhost:9/ping"))
