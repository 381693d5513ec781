"""Real `sagaway serve` and `sagaway worker` processes on one PostgreSQL schema, for the
cluster tests of the API (the ``cluster`` fixture is in conftest.py)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from tests.api.conftest import client, free_port

FUNCTIONS = str(Path(__file__).with_name("serve_functions.py"))


class Cluster:
    """The processes of one test, stopped (and their logs shown on failure) at the end."""

    def __init__(self, url: str, logs: Path) -> None:
        self.url = url
        self.logs = logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.ports: dict[str, int] = {}  # each server's port (its API and probes)

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        common = ["--db", self.url, "--functions", FUNCTIONS, "--name", name]
        with (self.logs / f"{name}.log").open("wb") as log:  # the child keeps its own copy
            command = [sys.executable, "-m", "sagaway", *args, *common]
            proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=self.logs)
        self.procs[name] = proc
        return proc

    def worker(self, name: str, health_port: int | None = None) -> None:
        probes = [] if health_port is None else ["--health-port", str(health_port)]
        self._spawn(name, ["worker", "--lease-seconds", "2", *probes])

    def server(self, name: str) -> Any:
        port = self.ports[name] = free_port()
        bus = f"sqlite:///{self.logs / (name + '-events.db')}"
        args = ["serve", "--port", str(port), "--lease-seconds", "2", "--bus", bus]
        proc = self._spawn(name, args)
        sfn = client(f"http://127.0.0.1:{port}")
        eventually(lambda: answers(sfn), 30, lambda: self.log(name, proc))
        return sfn

    def stop(self, name: str) -> None:
        """SIGTERM, as a service manager stops it: uvicorn shuts the app down (the engine
        releases its executions), then ends by the signal it got."""
        proc = self.procs[name]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM), self.log(name, proc)

    def log(self, name: str, proc: subprocess.Popen[bytes]) -> str:
        state = "running" if proc.poll() is None else f"exited {proc.returncode}"
        return f"{name} ({state}): {(self.logs / f'{name}.log').read_text()[-2000:]}"

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def answers(sfn: Any) -> bool:
    try:
        sfn.list_state_machines()
    except Exception:
        return False
    return True


def eventually(check: Callable[[], bool], timeout: float, why: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(why())
        time.sleep(0.05)


def running(url: str, owner: str | None) -> int:
    """How many RUNNING executions ``owner`` has (None: how many nobody has)."""
    with psycopg.connect(url) as conn:
        query = ("SELECT count(*) FROM executions WHERE status = 'RUNNING'"
                 " AND owner IS NOT DISTINCT FROM %s")  # fmt: skip
        (count,) = conn.execute(query, (owner,)).fetchone() or (0,)
    return int(count)


def owners(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute("SELECT name, owner FROM executions").fetchall())
