"""``sagaway demo --db postgresql://…``: the flash sale on the shop run as a cluster.

Every database (the engine's journal and the bus, each service, the simulated gateway and
courier) is a schema of the one PostgreSQL database; ``--workers`` engine processes
(``python -m shop.worker``) share the journal by lease, ``--intakes`` intake processes
(``python -m shop.intake_process``) take the orders, which the load generator spreads over
them. Once a third of the orders are final one worker is SIGKILLed (a new one starts: the
others take its executions over when its lease runs out); once half are, PostgreSQL itself
is restarted with ``--db-restart-command``. Then every order must be final, the audit of
DESIGN.md section 6 must hold, and the bus must account for every event. Throughput is
measured before the first fault: orders that reached a final status per second between the
start of the spike and the SIGKILL.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sagaway.procstat import cpu_seconds
from shop.audit import FINAL, Audit, run_audit
from shop.bus_accounting import BusAccount, bus_account
from shop.config import SERVICES, THIRD_PARTIES, ShopConfig
from shop.demo import (
    DemoOptions,
    Sale,
    Worker,
    config_json,
    demo_config,
    provide_third_party_keys,
    start_process,
    stock_the_shop,
    stop_process,
    submit_all,
)
from shop.operator import redrive
from shop.report import print_report
from shop.sql import schema_url
from shop.system import Shop

SCHEMA = "shopdemo"  # the journal and the bus; each service in shopdemo_<name>
DATABASES = (*SERVICES, *THIRD_PARTIES, "incidents")
LEASE_SECONDS = 5.0  # a killed worker's executions move to the others after this long
WAIT_SECONDS = 600.0  # every order final by then, or the demo says it was not


def schemas() -> list[str]:
    return [SCHEMA, *(f"{SCHEMA}_{name}" for name in DATABASES)]


def cluster_db(db: str) -> str:
    """``ShopConfig.db`` for the demo: the journal and the bus in the schema ``shopdemo``,
    each service in ``shopdemo_<name>`` (so every member shares one bus)."""
    return schema_url(db, SCHEMA)


def reset_schemas(db: str) -> None:
    """Drop what an earlier demo left in ``db`` (its own schemas only) and make them anew."""
    with psycopg.connect(db, autocommit=True, connect_timeout=5) as conn:
        for schema in schemas():
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.execute(f"CREATE SCHEMA {schema}")


@dataclass(slots=True)
class Process:
    """A child process that writes ``ready`` once it serves (an intake)."""

    name: str
    args: list[str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        ready = self.log.with_suffix(".ready")
        ready.unlink(missing_ok=True)
        args = [*self.args, "--ready-file", str(ready)]
        self.proc = start_process(args, self.log, ready, self.name, 60)

    def stop(self) -> None:
        stop_process(self.proc)


@dataclass(slots=True)
class Timeline:
    """When the faults happened (``time.time()``, the clock of the orders' timestamps)."""

    killed: float | None = None
    # CPU seconds of the workers and of the intakes at the spike's start and at the first
    # fault: the faultless window's CPU per order (less noisy than orders/s on a busy host).
    cpu_at_spike: tuple[float, float] | None = None
    cpu_at_fault: tuple[float, float] | None = None
    db_restarted: float | None = None  # when the restart command was started
    db_restart_seconds: float = 0.0


@dataclass(slots=True)
class ClusterRun:
    options: DemoOptions
    config: ShopConfig
    console: Console
    workers: list[Worker] = field(default_factory=list)
    intakes: list[Process] = field(default_factory=list)
    sale: Sale = field(default_factory=Sale)
    timeline: Timeline = field(default_factory=Timeline)
    # A restarted worker gets a new name (worker-1.2 after worker-1.1): the dead one's leases
    # must run out, not be renewed by a process that never resumes its executions.
    generations: dict[int, int] = field(default_factory=dict)
    intake_cpu: float = 0.0  # CPU seconds the intakes spent on the whole sale

    def worker(self, index: int) -> Worker:
        self.generations[index] = generation = self.generations.get(index, 0) + 1
        name = f"worker-{index + 1}.{generation}"
        extra = ("--name", name)
        log = self.config.workdir / f"{name}.log"
        return Worker(self.config, log, name=name, extra=extra)

    def intake(self, index: int) -> Process:
        name = f"intake-{index + 1}"
        port = self.options.port + index  # intake i on 127.0.0.1:(--port + i)
        args = [sys.executable, "-m", "shop.intake_process", "--workdir",
                str(self.config.workdir), "--config", config_json(self.config), "--port",
                str(port), "--rate", "10000", "--dev-key"]  # fmt: skip
        return Process(name, args, self.config.workdir / f"{name}.log")

    def cpu(self) -> tuple[float, float]:
        """CPU seconds so far of the live workers and of the intakes."""

        def used(procs: list[subprocess.Popen[bytes] | None]) -> float:
            return sum(cpu_seconds(p.pid) for p in procs if p is not None)

        return used([w.proc for w in self.workers]), used([i.proc for i in self.intakes])

    def bases(self) -> list[str]:
        return [f"http://127.0.0.1:{p.args[p.args.index('--port') + 1]}" for p in self.intakes]

    def start_all(self) -> None:
        self.workers = [self.worker(i) for i in range(self.options.workers)]
        self.intakes = [self.intake(i) for i in range(self.options.intakes)]
        for worker in self.workers:
            worker.start()
        for intake in self.intakes:
            intake.start()

    def stop_all(self) -> None:
        for intake in self.intakes:
            intake.stop()
        for worker in self.workers:
            worker.stop()


# Sessions are pooled: at most 3 per service database and 4 per simulated third party, in
# each process, plus the journal's and the bus's. Measured peaks (ss, 1,500 orders): 37
# client connections for a worker, 15 for an intake.
CONNECTIONS_PER_WORKER = 40
CONNECTIONS_PER_INTAKE = 16
CONNECTIONS_SPARE = 20  # the demo itself, its operator phase, psql sessions


def connections_needed(options: DemoOptions) -> int:
    return (CONNECTIONS_PER_WORKER * options.workers + CONNECTIONS_PER_INTAKE * options.intakes
            + CONNECTIONS_SPARE)  # fmt: skip


def check_connections(db: str, options: DemoOptions) -> str | None:
    """Why the server cannot take the cluster's connections, or None. Refusing up front
    beats orders parked for "too many clients"."""
    with psycopg.connect(db, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute("SHOW max_connections").fetchone()
    have, need = int(row[0]) if row else 0, connections_needed(options)
    if have >= need:
        return None
    return (f"PostgreSQL's max_connections is {have}; {options.workers} worker(s) and "
            f"{options.intakes} intake(s) need about {need}: raise it (e.g. pg_conftool 15 "
            f"main set max_connections {need}, then restart PostgreSQL) or run fewer processes")  # fmt: skip  # noqa: E501


def cluster_config(options: DemoOptions) -> ShopConfig:
    assert options.db is not None
    config = demo_config(options)
    config.db = cluster_db(options.db)
    return config


def finished(config: ShopConfig) -> int | None:
    """Orders in a final status; None while the database cannot answer (restarting)."""
    marks = ",".join(f"'{s}'" for s in FINAL)
    try:
        with psycopg.connect(config.url("orders"), connect_timeout=2) as conn:
            row = conn.execute(f"SELECT count(*) FROM orders WHERE status IN ({marks})").fetchone()
    except psycopg.Error:
        return None
    return int(row[0]) if row else 0


def running_executions(config: ShopConfig) -> int | None:
    try:
        with psycopg.connect(config.journal_url, connect_timeout=2) as conn:
            query = "SELECT count(*) FROM executions WHERE status = 'RUNNING'"
            row = conn.execute(query).fetchone()
    except psycopg.Error:
        return None
    return int(row[0]) if row else 0


async def kill_a_worker(run: ClusterRun, done: int) -> None:
    victim = run.workers[0]
    run.timeline.cpu_at_fault = run.cpu()
    run.timeline.killed = time.time()
    await asyncio.to_thread(victim.kill)
    run.console.print(f"[red]SIGKILL to {victim.name} with {done} orders done[/red]")
    replacement = run.worker(0)
    await asyncio.to_thread(replacement.start)
    run.workers[0] = replacement
    run.console.print(f"[green]{replacement.name} started; {victim.name}'s executions "
                      f"move once its lease ({LEASE_SECONDS:g} s) runs out[/green]")  # fmt: skip


def reachable(config: ShopConfig) -> bool:
    try:
        with psycopg.connect(config.url("orders"), connect_timeout=1) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


async def server_gone(config: ShopConfig, restarting: asyncio.Task[object]) -> None:
    """Return once the server refuses connections (or the restart command is over)."""
    while not restarting.done() and await asyncio.to_thread(reachable, config):
        await asyncio.sleep(0.05)


def release_late_orders(run: ClusterRun) -> None:
    if run.sale.go_late is not None:
        run.sale.go_late.set()


async def restart_database(run: ClusterRun, done: int) -> None:
    command = run.options.db_restart_command
    assert command is not None
    run.timeline.db_restarted = time.time()
    run.console.print(f"[red]restarting PostgreSQL with {done} orders done: {command}[/red]")
    began = time.monotonic()
    args = shlex.split(command)
    restarting = asyncio.create_task(
        asyncio.to_thread(subprocess.run, args, capture_output=True, text=True, timeout=180)
    )
    await server_gone(run.config, restarting)
    run.console.print(f"PostgreSQL is down; the last {run.sale.late} orders go now")
    release_late_orders(run)  # they meet the outage: 503s, retried with their Idempotency-Key
    result = await restarting
    run.timeline.db_restart_seconds = time.monotonic() - began
    if result.returncode != 0:
        raise RuntimeError(f"{command} failed ({result.returncode}): {result.stderr.strip()}")
    run.console.print(f"[green]PostgreSQL is back after {run.timeline.db_restart_seconds:.1f} s; "
                      "every member reconnects by itself[/green]")  # fmt: skip


async def watch(run: ClusterRun, submitting: asyncio.Task[tuple[int, int]]) -> bool:
    """Progress until every accepted order is final, injecting the faults on the way."""
    options, timeline = run.options, run.timeline
    columns = (TextColumn("[bold]orders"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=run.console, transient=False) as progress:
        bar = progress.add_task("orders", total=options.orders)
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            if run.sale.spike_started is not None and timeline.cpu_at_spike is None:
                timeline.cpu_at_spike = run.cpu()
            done = await asyncio.to_thread(finished, run.config)
            if done is not None:
                progress.update(bar, completed=done)
                if options.crash and timeline.killed is None and done >= options.orders // 3:
                    await kill_a_worker(run, done)
                elif (options.db_restart_command and timeline.db_restarted is None
                      and (timeline.killed or not options.crash) and done >= options.orders // 2):  # fmt: skip  # noqa: E501
                    await restart_database(run, done)
                if submitting.done() and done >= len(run.sale.accepted):
                    return True
            await asyncio.sleep(0.25)
    return False


def unrelayed(config: ShopConfig) -> int | None:
    """Events committed to an outbox (the journal's: putEvents steps; the orders
    database's: the intake, parking, redrives) and not handed to the bus yet."""
    try:
        with psycopg.connect(config.journal_url, connect_timeout=2) as conn:
            row = conn.execute("SELECT count(*) FROM outbox").fetchone()
        with psycopg.connect(config.url("orders"), connect_timeout=2) as conn:
            query = "SELECT count(*) FROM event_outbox WHERE relayed = 0"
            other = conn.execute(query).fetchone()
    except psycopg.Error:
        return None
    return (int(row[0]) if row else 0) + (int(other[0]) if other else 0)


@dataclass(slots=True)
class Quiet:
    """What the bus had done once the system was quiet (or the wait gave up)."""

    account: BusAccount | None = None
    unrelayed: int | None = None  # events still in an outbox


async def quiesce(run: ClusterRun, timeout: float = 120.0) -> Quiet:
    """Wait until no saga runs, every outbox is relayed and the bus balances: an order is
    final before its saga's last step and its last event are through."""
    deadline = time.monotonic() + timeout
    quiet = Quiet()
    while time.monotonic() < deadline:
        if await asyncio.to_thread(running_executions, run.config) == 0:
            quiet.unrelayed = await asyncio.to_thread(unrelayed, run.config)
            try:
                quiet.account = await asyncio.to_thread(bus_account, run.config)
            except psycopg.Error:
                quiet.account = None
            if quiet.unrelayed == 0 and quiet.account is not None and quiet.account.balanced:
                return quiet
        await asyncio.sleep(0.5)
    return quiet


def faultless_rate(run: ClusterRun) -> tuple[int, float] | None:
    """Orders that reached a final status between the start of the spike and the first fault
    (without faults: the last order to become final), and that window's length in seconds."""
    begin = run.sale.spike_started
    end = run.timeline.killed or run.timeline.db_restarted
    with psycopg.connect(run.config.url("orders")) as conn:
        if end is None:  # no fault: until the last order was final (not the audit's end)
            row = conn.execute("SELECT max(finished) FROM orders").fetchone()
            end = float(row[0]) + 1e-6 if row and row[0] is not None else time.time()
        if begin is None or end <= begin:
            return None
        query = "SELECT count(*) FROM orders WHERE finished >= %s AND finished < %s"
        row = conn.execute(query, (begin, end)).fetchone()
    return (int(row[0]) if row else 0), end - begin


def check_every_order(run: ClusterRun, audit: Audit) -> None:
    """No order lost: every order an intake accepted (202) is in the orders table."""
    with psycopg.connect(run.config.url("orders")) as conn:
        known = {r[0] for r in conn.execute("SELECT order_id FROM orders").fetchall()}
    lost = run.sale.accepted - known
    audit.check("every accepted order is in the orders table", not lost,
                f"{len(run.sale.accepted)} accepted (202), {len(lost)} missing")  # fmt: skip


def check_sagas(run: ClusterRun, audit: Audit) -> None:
    """No saga stuck: none still RUNNING once the system is quiet."""
    running = running_executions(run.config)
    audit.check("no saga still running", running == 0,
                "database unreachable" if running is None else f"{running} running")  # fmt: skip


def check_bus(audit: Audit, quiet: Quiet) -> None:
    name = "bus: every event relayed, delivered or dead-lettered"
    account, left = quiet.account, quiet.unrelayed
    if account is None or left is None:
        audit.check(name, False, "the bus's ledger or the outboxes could not be read")
        return
    audit.check(name, account.balanced and left == 0,
                f"{account.describe()}; {left} left in the outboxes")  # fmt: skip


async def operator_phase(run: ClusterRun) -> Audit:
    """As on one machine: the workers restart with the injected faults off, then every
    parked order is redriven and its resumed saga seen through."""
    for worker in run.workers:
        await asyncio.to_thread(worker.stop)
    run.config = run.config.without_faults()
    run.workers = [run.worker(i) for i in range(run.options.workers)]
    for worker in run.workers:
        await asyncio.to_thread(worker.start)
    results = await redrive(run.config, None, timeout=180)
    again = sum(r.order_status == "NEEDS_REVIEW" for r in results)
    still = sum(r.execution_status == "RUNNING" for r in results)
    run.console.print(f"operator: faults off, redrove {len(results)} parked orders; "
                      f"{len(results) - again - still} resolved, {again} parked again, "
                      f"{still} still running")  # fmt: skip
    return await asyncio.to_thread(run_audit, run.config)


def print_cluster_figures(run: ClusterRun) -> None:
    console, options = run.console, run.options
    console.print(f"cluster: {options.workers} worker(s), {options.intakes} intake(s) on "
                  f"PostgreSQL; {run.sale.retries} requests retried")  # fmt: skip
    rate = faultless_rate(run)
    if rate is None:
        console.print("throughput: no faultless window to measure")
        return
    count, seconds = rate
    until = "the SIGKILL" if run.timeline.killed else "the last final order"
    if not run.timeline.killed and run.timeline.db_restarted:
        until = "the database restart"
    console.print(f"throughput before the faults (from the spike's start to {until}, "
                  f"{seconds:.1f} s): {count} orders reached a final status, "
                  f"{count / seconds:.0f} orders/s end to end (202 to final)")  # fmt: skip
    before, after = run.timeline.cpu_at_spike, run.timeline.cpu_at_fault or run.cpu()
    if before is not None and count:
        workers = (after[0] - before[0]) * 1000 / count
        intakes = run.intake_cpu * 1000 / max(1, len(run.sale.accepted))
        console.print(f"CPU of the workers in that window: {workers:.1f} ms per final order; "
                      f"of the intakes: {intakes:.1f} ms per accepted order (PostgreSQL's "
                      "not counted)")  # fmt: skip


async def run_cluster_demo(options: DemoOptions, console: Console) -> int:
    config = cluster_config(options)
    try:
        too_few = await asyncio.to_thread(check_connections, options.db or "", options)
    except psycopg.Error as exc:  # a wrong URL or a server that is not there: say so, once
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        console.print(f"[red]cannot reach PostgreSQL at {options.db}: {reason}[/red]")
        return 2
    if too_few is not None:
        console.print(f"[red]{too_few}[/red]")
        return 2
    provide_third_party_keys(os.environ)
    await asyncio.to_thread(reset_schemas, options.db or "")
    stock_the_shop(Shop(config), options)
    run = ClusterRun(options, config, console)
    if not options.db_restart_command:
        console.print("no --db-restart-command: the database restart is skipped")
    try:
        await asyncio.to_thread(run.start_all)
        console.print(f"{options.workers} worker(s) and {options.intakes} intake(s) on "
                      f"{', '.join(run.bases())}; flash sale of {options.orders} orders, "
                      f"{options.spike}x spike")  # fmt: skip
        if options.db_restart_command:
            # Late shoppers: the last 5% of the orders are sent during the restart.
            run.sale.late, run.sale.go_late = max(1, options.orders // 20), asyncio.Event()
        submitting = asyncio.create_task(submit_all(run.bases(), options, run.sale))
        complete = await watch(run, submitting)
        release_late_orders(run)  # the restart never came (the wait gave up)
        accepted, refused = await submitting
        run.intake_cpu = run.cpu()[1]
        quiet = await quiesce(run)
        audit = await asyncio.to_thread(run_audit, config)
        check_every_order(run, audit)
        check_sagas(run, audit)
        check_bus(audit, quiet)
        before = None
        if options.redrive and complete:
            before = audit
            audit = await operator_phase(run)
            quiet = await quiesce(run)
            check_every_order(run, audit)
            check_sagas(run, audit)
            check_bus(audit, quiet)
        print_report(console, Shop(run.config), audit, accepted, refused, complete, before)
        print_cluster_figures(run)
        return 0 if audit.ok and complete and (before is None or before.ok) else 1
    finally:
        await asyncio.to_thread(run.stop_all)
