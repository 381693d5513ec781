"""A PostgreSQL cluster of a test's own (``pg_createcluster`` on a free port, trust auth on
loopback), for tests that stop or restart the database under running processes: never the
shared server, which other tests use meanwhile. The ``pg`` fixture makes one with default
settings and drops it; ``own_cluster`` takes server settings."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

VERSION = "15"


class PgCluster:
    """``pg_ctlcluster`` on a cluster made for one test, trusted on loopback."""

    def __init__(self, **settings: str) -> None:
        """``settings``: server settings (``max_connections="400"``)."""
        self.settings = settings
        self.name = f"sagaway_{uuid.uuid4().hex[:8]}"
        self.port = _free_pg_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def create(self) -> None:
        options = [f"--pgoption={key}={value}" for key, value in self.settings.items()]
        self._run("pg_createcluster", VERSION, self.name, "--port", str(self.port), *options,
                  "--", "--auth=trust")  # fmt: skip
        self.ctl("start")

    def ctl(self, action: str) -> None:
        self._run(*self.command(action))

    def command(self, action: str) -> list[str]:
        """The command line that stops, starts or restarts this cluster (fast shutdown:
        connections are cut, as in a crash or fail-over)."""
        return ["pg_ctlcluster", VERSION, self.name, action, "-m", "fast"]

    def drop(self) -> None:
        subprocess.run(["pg_dropcluster", VERSION, self.name, "--stop"], capture_output=True)

    def _run(self, *command: str) -> None:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{command}: {done.stdout} {done.stderr}"


def _free_pg_port() -> int:
    for port in range(5400 + os.getpid() % 90, 5500):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError("no free port in 5400-5499 for a test PostgreSQL cluster")


@contextmanager
def own_cluster(**settings: str) -> Iterator[PgCluster]:
    """A cluster made for the caller and dropped afterwards; without ``pg_createcluster``
    the test skips, or fails under ``CI=true``."""
    if shutil.which("pg_createcluster") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pg_createcluster is required under CI (postgresql-common)")
        pytest.skip("pg_createcluster not installed")
    cluster = PgCluster(**settings)
    try:
        cluster.create()
        yield cluster
    finally:
        cluster.drop()


@pytest.fixture
def pg() -> Iterator[PgCluster]:
    with own_cluster() as cluster:
        yield cluster
