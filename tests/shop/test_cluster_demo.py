"""``sagaway demo --db`` end to end on a PostgreSQL cluster of the test's own: 200 orders, two
engine workers and two intakes (real processes), one worker SIGKILLed and PostgreSQL itself
restarted during the sale, while its last 10 orders are sent (so the intakes answer 503 and the
load generator's retries are exercised). Then every order is final, none is lost, the audit of
DESIGN.md section 6 holds and the bus accounts for every event; the audit is re-run here from the
databases the demo left behind. (The operator phase is left out to keep the test short:
parked orders count as final with their dead letter, as DESIGN.md section 6 says.)"""

from __future__ import annotations

import contextlib
import random
import re
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shop.audit import run_audit
from shop.bus_accounting import bus_account
from shop.cluster_demo import check_connections, cluster_db, connections_needed
from shop.config import ShopConfig
from shop.demo import DemoOptions
from tests.pg_cluster import PgCluster, own_cluster
from tests.store.conftest import drop_schema, postgres_url

ORDERS = 200


def free_ports(count: int) -> int:
    """A port p with p .. p+count-1 free. Drawn below the kernel's ephemeral range (32768 on
    Linux): a free ephemeral port's neighbour may be taken meanwhile by any outgoing
    connection (the workers' to PostgreSQL), and intake i binds --port + i."""
    rng = random.Random()
    while True:
        base = rng.randrange(20000, 32000)
        try:
            with contextlib.ExitStack() as stack:
                for port in range(base, base + count):
                    sock = stack.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base


@pytest.fixture
def pg() -> Iterator[PgCluster]:
    """Two workers and two intakes need more than the default 100 connections."""
    with own_cluster(max_connections="200") as cluster:
        yield cluster


def test_cluster_demo_survives_a_worker_kill_and_a_database_restart(
    pg: PgCluster, tmp_path: Path
) -> None:
    workdir = tmp_path / "demo"
    restart = shlex.join(pg.command("restart"))
    cmd = [sys.executable, "-m", "sagaway", "demo", "--orders", str(ORDERS), "--workdir",
           str(workdir), "--port", str(free_ports(2)), "--seed", "5", "--db", pg.url,
           "--workers", "2", "--intakes", "2", "--db-restart-command", restart,
           "--no-redrive"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out + _logs(workdir)
    assert "SIGKILL to worker-1" in out
    assert "PostgreSQL is back after" in out
    # The last orders were sent while the server was down: their intakes answered 503 and
    # the load generator retried them with the same Idempotency-Key (no second order: the
    # counts below are exactly ORDERS).
    assert "PostgreSQL is down; the last 10 orders go now" in out
    retried = re.search(r"(\d+) requests retried", out)
    assert retried is not None and int(retried.group(1)) > 0, out
    assert "orders/s end to end" in out
    assert "audit passed" in out
    config = ShopConfig(workdir=workdir, db=cluster_db(pg.url))
    audit = run_audit(config)
    assert audit.ok, audit.checks
    assert sum(audit.counts.values()) == ORDERS  # every order made it in, and is final
    assert audit.counts.get("CONFIRMED", 0) > 0 and audit.counts.get("CANCELLED_COMPENSATED", 0) > 0
    account = bus_account(config)
    # Every OrderSubmitted started its saga (the one rule target), or sits in its dead-letter
    # queue: none in flight, none lost; the outcome events match no rule here.
    assert account.published - account.unmatched == ORDERS, account
    assert account.routed == account.delivered + account.dead_lettered == ORDERS, account
    # An outcome event per order (OrderConfirmed, OrderFailed or OrderNeedsReview), each
    # counted once; an order parked after ConfirmOrder (at SendConfirmation) has two.
    parked = audit.counts.get("NEEDS_REVIEW", 0)
    assert ORDERS <= account.unmatched <= ORDERS + parked, account


def _logs(workdir: Path) -> str:
    return "".join(f"\n--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                   for p in sorted(workdir.glob("*.log")))  # fmt: skip


def test_cluster_options_need_a_postgresql_db(tmp_path: Path) -> None:
    base = [sys.executable, "-m", "sagaway", "demo", "--workdir", str(tmp_path / "d")]
    for extra in (["--workers", "2"], ["--intakes", "2"], ["--db-restart-command", "true"],
                  ["--db", "sqlite:///x.db"]):  # fmt: skip
        done = subprocess.run(base + extra, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, (extra, done.stdout, done.stderr)
        assert "--db" in done.stderr, extra


def test_an_unreachable_database_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on once the socket is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "sagaway", "demo", "--workdir", str(tmp_path / "d"),
           "--db", f"postgresql://postgres@127.0.0.1:{port}/shop", "--workers", "2"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "cannot reach PostgreSQL" in done.stdout and "Traceback" not in done.stdout + done.stderr


def test_a_server_with_too_few_connections_is_refused_up_front() -> None:
    url = postgres_url()
    try:
        many = DemoOptions(db=url, workers=1000, intakes=1000)
        refused = check_connections(url, many)
        assert refused is not None and "max_connections" in refused
        assert str(connections_needed(many)) in refused
        assert check_connections(url, DemoOptions(db=url, workers=0, intakes=0)) is None
    finally:
        drop_schema(url)
