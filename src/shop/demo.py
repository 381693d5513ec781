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
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
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
from shop.system import Shop

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
    return found + [workdir / name for name in ("engine.log", "worker.ready")]


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


def prepare(config: ShopConfig, options: DemoOptions) -> None:
    prepare_workdir(config.workdir)
    shop = Shop(config)
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


class Worker:
    """The engine process."""

    def __init__(
        self,
        config: ShopConfig,
        log: Path,
        api_port: int | None = None,
        api_credential: Credential | None = None,
    ) -> None:
        self.config = config
        self.log = log
        self.api_port = api_port
        self.api_credential = api_credential
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        ready = self.config.workdir / "worker.ready"
        ready.unlink(missing_ok=True)
        cfg = {k: getattr(self.config, k) for k in ("seed", "transient_rate", "poison_rate",
               "gateway_latency", "gateway_error_rate", "gateway_timeout_rate", "courier_latency",
               "courier_timeout_rate", "courier_outage")}  # fmt: skip
        args = [sys.executable, "-m", "shop.worker", "--workdir", str(self.config.workdir),
                "--config", json.dumps(cfg), "--ready-file", str(ready)]  # fmt: skip
        env = dict(os.environ)
        if self.api_port is not None and self.api_credential is not None:
            args += ["--api-port", str(self.api_port)]
            # In the environment, not the arguments: other users can read a process's argv.
            key = self.api_credential
            env[CREDENTIALS_ENV] = f"{key.access_key_id} {key.secret_access_key} full"
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 30
        while not ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the engine process did not start; see {self.log}")
            time.sleep(0.05)

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)  # no goodbye: a real crash
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def submit_all(base: str, options: DemoOptions) -> tuple[int, int]:
    """The flash sale: a trickle, then a 50x spike. Returns (accepted, refused)."""
    rng = random.Random(options.seed)
    carts = [make_order(rng, options.orders) for _ in range(options.orders)]
    tokens: dict[str, str] = {}  # each customer signs in: the order is theirs
    trickle = max(1, options.orders // 20)
    base_rate = 20.0
    accepted = refused = 0
    limit = asyncio.Semaphore(32)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:

        async def post(n: int, cart: dict[str, Any]) -> None:
            nonlocal accepted, refused
            async with limit:
                customer = cart["customerId"]
                token = tokens.setdefault(customer, dev_token(customer))
                headers = {"Idempotency-Key": f"cart-{n}", "Authorization": f"Bearer {token}"}
                r = await client.post("/orders", json=cart, headers=headers)
            if r.status_code == 202:
                accepted += 1
            else:
                refused += 1

        tasks = []
        for n, cart in enumerate(carts):
            tasks.append(asyncio.create_task(post(n, cart)))
            await asyncio.sleep(1 / base_rate if n < trickle else 1 / (base_rate * options.spike))
        await asyncio.gather(*tasks)
    return accepted, refused


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
    config = demo_config(options)
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
    app = create_app(shop.orders, config.journal_url, settings, shop.gateway.tokenize,
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
