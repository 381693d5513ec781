"""``sagaway demo``: a flash sale on the whole shop, one engine crash midway, then the audit.

The intake runs here (real HTTP on loopback); the engine, the services and the bus run in a
worker subprocess that is killed with SIGKILL once about a third of the orders are done, and
started again: it resumes every open saga from the journal and the outbox from its last row.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sagaway.api import CREDENTIALS_ENV, Credential, generate_credential
from sagaway.observability.setup import process_tracer_provider
from shop.audit import FINAL, Audit, run_audit
from shop.catalog import PRICES
from shop.config import SERVICES, THIRD_PARTIES, ShopConfig
from shop.incidents import Incidents
from shop.intake import IntakeSettings, create_app, dev_token
from shop.operator import redrive
from shop.report import print_report
from shop.secrets import EnvSecrets
from shop.system import COURIER_KEY, GATEWAY_KEY, Shop

CATALOG = PRICES


@dataclass(slots=True)
class DemoOptions:
    orders: int = 2000
    workdir: Path = Path("sagaway-demo")
    seed: int = 7
    crash: bool = True
    serve: bool = False
    port: int = 8084
    spike: int = 50
    redrive: bool = True
    api_port: int = 8083  # the Step Functions API, served by the engine process with --serve
    # The cluster demo (shop/cluster_demo.py): every database in schemas of this PostgreSQL
    # database, ``workers`` engine processes and ``intakes`` intake processes.
    db: str | None = None
    workers: int = 1
    intakes: int = 1
    db_restart_command: str | None = None  # restarts PostgreSQL midway (else skipped)


def demo_config(options: DemoOptions) -> ShopConfig:
    return ShopConfig(
        workdir=options.workdir, seed=options.seed, transient_rate=0.04, poison_rate=0.002,
        gateway_latency=(0.001, 0.006), gateway_error_rate=0.02, gateway_timeout_rate=0.02,
        courier_latency=(0.001, 0.006), courier_timeout_rate=0.03, courier_outage=0.03,
    )  # fmt: skip


MARKER = ".sagaway-demo"  # says the demo made this folder, so it may clear its own files


class WorkdirRefused(Exception):
    """The working directory holds files the demo did not make; the message says so."""


def demo_files(workdir: Path) -> list[Path]:
    """Every file a demo run makes: its databases (with their WAL and journal files), the
    engine's log and readiness file (not its lock: a running engine may hold it)."""
    names = [*(f"{name}.db" for name in (*SERVICES, *THIRD_PARTIES)), "sagaway.db", "bus.db"]
    found = [workdir / (name + suffix) for name in names for suffix in ("", "-wal", "-shm",
             "-journal")]  # fmt: skip
    found += [workdir / name for name in ("engine.log", "worker.ready")]
    # The cluster demo's logs and readiness files, one per process.
    return found + sorted(workdir.glob("worker-*.*")) + sorted(workdir.glob("intake-*.*"))


def prepare_workdir(workdir: Path) -> None:
    """Clear what an earlier demo left in ``workdir``, and only that; refuse a folder that
    has other files and was not made by the demo (a user's own databases live there)."""
    if workdir.exists() and any(workdir.iterdir()) and not (workdir / MARKER).is_file():
        raise WorkdirRefused(f"{workdir} is not empty and was not made by sagaway demo: "
                             "give --workdir a new or empty folder")  # fmt: skip
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARKER).write_text("made by sagaway demo: it clears its own files here\n")
    for path in demo_files(workdir):
        path.unlink(missing_ok=True)


def provide_third_party_keys(environ: MutableMapping[str, str]) -> None:
    """Fresh random API keys for the simulated gateway and courier, given to this process and
    the engine process through the environment provider (:mod:`shop.secrets`). A Vault or
    secrets folder set for a real shop is left out: the demo's third parties accept only the
    keys made here."""
    for name in ("VAULT_ADDR", "VAULT_TOKEN", "SHOP_SECRETS_DIR"):
        environ.pop(name, None)
    for name in (GATEWAY_KEY, COURIER_KEY):
        environ[EnvSecrets().variable(name)] = secrets.token_urlsafe(32)


def prepare(config: ShopConfig, options: DemoOptions) -> None:
    prepare_workdir(config.workdir)
    stock_the_shop(Shop(config), options)


def stock_the_shop(shop: Shop, options: DemoOptions) -> None:
    n = options.orders
    # The hoodie is the viral item: it sells out, so some orders fail on stock and compensate.
    shop.inventory.restock({"hoodie": int(n * 0.35), "tee": n * 2, "cap": n * 2, "socks": n * 2})
    rng = random.Random(options.seed)
    shop.loyalty.open_accounts({f"c{i}": rng.choice([0, 50, 200, 500]) for i in range(n // 4 + 1)})


def make_order(rng: random.Random, n: int) -> dict[str, Any]:
    skus = rng.sample(sorted(CATALOG), rng.randint(1, 2))
    roll = rng.random()
    return {
        "customerId": f"c{rng.randrange(n // 4 + 1)}",
        "items": [{"sku": s, "qty": rng.randint(1, 2), "price": CATALOG[s]} for s in skus],
        "card": "4000000000000002" if roll < 0.03 else "4242424242424242",
        "address": "" if 0.03 <= roll < 0.04 else f"{rng.randint(1, 999)} Market St",
        "points": rng.choice([0, 0, 20, 50, 100]),
    }


def config_json(config: ShopConfig) -> str:
    """What a child process needs to build the same shop (``shop.worker --config``)."""
    cfg = {k: getattr(config, k) for k in ("seed", "transient_rate", "poison_rate",
           "gateway_latency", "gateway_error_rate", "gateway_timeout_rate", "courier_latency",
           "courier_timeout_rate", "courier_outage")}  # fmt: skip
    if config.db:  # the cluster's database; the one-machine demo keeps its files
        cfg["db"] = config.db
    return json.dumps(cfg)


class Worker:
    """The engine process. ``name`` and ``extra`` (more ``shop.worker`` arguments) make it
    one of a cluster's workers, with its own readiness file next to its log."""

    def __init__(
        self,
        config: ShopConfig,
        log: Path,
        api_port: int | None = None,
        api_credential: Credential | None = None,
        name: str | None = None,
        extra: tuple[str, ...] = (),
    ) -> None:
        self.config = config
        self.log = log
        self.api_port = api_port
        self.api_credential = api_credential
        self.name = name
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        ready = self.config.workdir / "worker.ready"
        if self.name is not None:
            ready = self.log.with_suffix(".ready")
        ready.unlink(missing_ok=True)
        args = [sys.executable, "-m", "shop.worker", "--workdir", str(self.config.workdir),
                "--config", config_json(self.config), "--ready-file", str(ready),
                *self.extra]  # fmt: skip
        env = dict(os.environ)
        if self.api_port is not None and self.api_credential is not None:
            args += ["--api-port", str(self.api_port)]
            # In the environment, not the arguments: other users can read a process's argv.
            key = self.api_credential
            env[CREDENTIALS_ENV] = f"{key.access_key_id} {key.secret_access_key} full"
        self.proc = start_process(args, self.log, ready, "the engine process", 30, env)

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)  # no goodbye: a real crash
        self.proc.wait()

    def stop(self) -> None:
        stop_process(self.proc)


def start_process(args: list[str], log: Path, ready: Path, name: str, timeout: float,
                  env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:  # fmt: skip
    """Start ``args`` with its output appended to ``log`` and wait until it creates
    ``ready`` (it was started with ``--ready-file``); RuntimeError if it exits first or
    takes longer than ``timeout`` seconds."""
    with log.open("ab") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start; see {log}")
        time.sleep(0.05)
    return proc


def stop_process(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, then SIGKILL if the process has not exited within 10 s."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass(slots=True)
class Sale:
    """What the load generator saw: ids of accepted orders, refusals, when the spike began
    (``time.time()``, the clock the orders table's timestamps use), retried requests."""

    accepted: set[str] = field(default_factory=set)
    refused: int = 0
    spike_started: float | None = None
    retries: int = 0
    # The last ``late`` orders wait for ``go_late`` (the cluster demo sets it once PostgreSQL
    # is down for its restart), then go at the trickle's rate: requests that meet the outage.
    late: int = 0
    go_late: asyncio.Event | None = None


RETRY_FOR = 120.0  # seconds a request is retried while the intake or its database is away


async def submit_all(
    base: str | list[str], options: DemoOptions, sale: Sale | None = None
) -> tuple[int, int]:
    """The flash sale: a trickle, then a 50x spike, spread round-robin over the intakes in
    ``base``. A request the intake could not answer (a 5xx, a dropped connection: its
    database restarting) is sent again with the same ``Idempotency-Key``, so it makes one
    order whatever happened to the first try. Returns (accepted, refused)."""
    bases = [base] if isinstance(base, str) else base
    sale = sale if sale is not None else Sale()
    rng = random.Random(options.seed)
    carts = [make_order(rng, options.orders) for _ in range(options.orders)]
    tokens: dict[str, str] = {}  # each customer signs in: the order is theirs
    trickle = max(1, options.orders // 20)
    base_rate = 20.0
    limit = asyncio.Semaphore(32)
    clients = [httpx.AsyncClient(base_url=b, timeout=30) for b in bases]
    try:

        async def post(n: int, cart: dict[str, Any]) -> None:
            async with limit:
                customer = cart["customerId"]
                token = tokens.setdefault(customer, dev_token(customer))
                headers = {"Idempotency-Key": f"cart-{n}", "Authorization": f"Bearer {token}"}
                r = await _post(clients[n % len(clients)], cart, headers, sale)
            if r is not None and r.status_code == 202:
                sale.accepted.add(r.json()["orderId"])
            else:
                sale.refused += 1

        tasks = []
        first_late = len(carts) - sale.late if sale.go_late is not None else len(carts)
        for n, cart in enumerate(carts):
            if n == trickle:
                sale.spike_started = time.time()
            if n == first_late and sale.go_late is not None:
                await sale.go_late.wait()
            tasks.append(asyncio.create_task(post(n, cart)))
            slow = n < trickle or n >= first_late
            await asyncio.sleep(1 / base_rate if slow else 1 / (base_rate * options.spike))
        await asyncio.gather(*tasks)
    finally:
        for client in clients:
            await client.aclose()
    return len(sale.accepted), sale.refused


async def _post(
    client: httpx.AsyncClient, cart: dict[str, Any], headers: dict[str, str], sale: Sale
) -> httpx.Response | None:
    deadline = time.monotonic() + RETRY_FOR
    while True:
        try:
            r = await client.post("/orders", json=cart, headers=headers)
            if r.status_code < 500:
                return r
        except httpx.TransportError:
            r = None
        if time.monotonic() > deadline:
            return r
        sale.retries += 1
        await asyncio.sleep(0.5)


def finished_count(shop: Shop) -> int:
    marks = ",".join(f"'{s}'" for s in FINAL)
    return int(shop.orders.db.query(f"SELECT count(*) FROM orders WHERE status IN ({marks})")[0][0])


async def watch(shop: Shop, worker: Worker, options: DemoOptions, console: Console) -> bool:
    """Progress bar until every order is final; crash the engine once a third are done."""
    crashed = not options.crash
    columns = (TextColumn("[bold]orders"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task("orders", total=options.orders)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            done = await asyncio.to_thread(finished_count, shop)
            progress.update(bar, completed=done)
            if not crashed and done >= options.orders // 3:
                worker.kill()
                console.print(f"[red]SIGKILL to the engine process with {done} orders done[/red]")
                await asyncio.to_thread(worker.start)
                console.print(
                    "[green]engine restarted: resuming open sagas from the journal[/green]"
                )
                crashed = True
            if done >= options.orders:
                return True
            await asyncio.sleep(0.25)
    return False


async def operator_phase(worker: Worker, config: ShopConfig, console: Console) -> Audit:
    """What an operator does after the sale: fix the downstreams (the engine restarts with
    the injected faults off), redrive every parked order, wait for the resumed sagas."""
    await asyncio.to_thread(worker.stop)
    worker.config = config.without_faults()
    await asyncio.to_thread(worker.start)
    results = await redrive(config, None, timeout=180)
    again = sum(r.order_status == "NEEDS_REVIEW" for r in results)
    running = sum(r.execution_status == "RUNNING" for r in results)
    console.print(f"operator: faults off, redrove {len(results)} parked orders; "
                  f"{len(results) - again - running} resolved, {again} parked again, "
                  f"{running} still running")  # fmt: skip
    return await asyncio.to_thread(run_audit, config)


async def run_demo(options: DemoOptions, console: Console) -> int:
    if options.db is not None:
        from shop.cluster_demo import run_cluster_demo  # PostgreSQL: several processes

        return await run_cluster_demo(options, console)
    config = demo_config(options)
    provide_third_party_keys(os.environ)
    prepare(config, options)
    shop = Shop(config)
    api_port = options.api_port if options.serve else None
    api_key = generate_credential()
    worker = Worker(config, config.workdir / "engine.log", api_port, api_key)
    await asyncio.to_thread(worker.start)
    # The intake listens on loopback only, so the public dev key may sign its tokens.
    settings = IntakeSettings(rate=10_000, burst=10_000, total_rate=10_000,
                              total_burst=10_000, allow_dev_key=True)  # fmt: skip
    process_tracer_provider()  # the intake's spans, when OTEL_* asks for traces
    app = create_app(shop.orders, config.journal_url, settings, shop.tokenize,
                     Incidents(config.url("incidents")))  # fmt: skip
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=options.port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        base = f"http://127.0.0.1:{options.port}"
        console.print(
            f"intake on {base}; flash sale of {options.orders} orders, {options.spike}x spike"
        )
        submitting = asyncio.create_task(submit_all(base, options))
        complete = await watch(shop, worker, options, console)
        accepted, refused = await submitting
        audit = await asyncio.to_thread(run_audit, config)
        before = None
        if options.redrive and complete:
            before = audit
            audit = await operator_phase(worker, config, console)
        print_report(console, shop, audit, accepted, refused, complete, before)
        if options.serve:
            console.print(
                f"Step Functions API on http://127.0.0.1:{options.api_port}: reads are open, "
                "anything else must be signed (SigV4) with these credentials:"
            )
            console.print(f"AWS_ACCESS_KEY_ID={api_key.access_key_id}", soft_wrap=True)
            console.print(f"AWS_SECRET_ACCESS_KEY={api_key.secret_access_key}", soft_wrap=True)
            console.print(
                f"serving: POST {base}/orders, GET {base}/orders/ID, {base}/metrics; the Step "
                f"Functions API on http://127.0.0.1:{options.api_port} (Ctrl-C stops)"
            )
            console.print(_console_link(config.workdir / "engine.log"), soft_wrap=True)
            await serving
        return 0 if audit.ok and complete and (before is None or before.ok) else 1
    finally:
        server.should_exit = True
        await asyncio.gather(serving, return_exceptions=True)
        worker.stop()


def _console_link(log: Path) -> str:
    """The engine process's one-time console sign-in line (the last one it printed)."""
    lines = [line for line in log.read_text(errors="replace").splitlines()
             if line.startswith("console: sign in at ")]  # fmt: skip
    return lines[-1] if lines else f"the console's sign-in link is in {log}"
