"""Issue 5: ``sagaway dlq redrive`` resumes a parked order end to end. An order is parked by a
step whose downstream stays down until its retries run out; the fault is fixed; the operator
redrives with the real CLI (a subprocess), with no engine running (the CLI runs the resumed
saga itself) or with one running (its rule does); then the order's outcome, its dead letter
and the invariants of DESIGN.md section 6 are checked from the databases."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from sagaway import DeadLetterQueue
from shop.audit import run_audit
from shop.config import ShopConfig
from shop.system import ShopRuntime
from tests.shop.kit import CARD, order, status


def dead_letters(workdir: Path) -> list[tuple[int, str, bool]]:
    dlq = DeadLetterQueue(ShopConfig(workdir=workdir).url("orders"))
    try:
        return [(d.id, d.queue, d.redriven is not None) for d in dlq.list(include_redriven=True)]
    finally:
        dlq.close()


async def _park(workdir: Path, step: str) -> str:
    runtime = ShopRuntime(ShopConfig(workdir=workdir, outages=(step,)))
    runtime.shop.inventory.restock({"hoodie": 10})
    runtime.shop.loyalty.open_accounts({"c1": 100})
    await runtime.start()
    try:
        runtime.shop.orders.submit("test", "o-1", order("o-1"))
        started = None
        for _ in range(600):  # the relay delivers OrderSubmitted and the rule starts it
            started = runtime.journal.find_execution(runtime.machine_arn, "o-1")
            if started is not None:
                break
            await asyncio.sleep(0.05)
        assert started is not None
        ended = await runtime.engine.wait(started.arn, 60)
        assert ended is not None and ended.error == "NeedsReview"
    finally:
        await runtime.stop()
    return status(runtime, "o-1")


def park(workdir: Path, step: str) -> None:
    assert asyncio.run(_park(workdir, step)) == "NEEDS_REVIEW"
    assert dead_letters(workdir) == [(1, f"{step}-dlq", False)]


@pytest.fixture(scope="module")
def parked_at_payment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A shop with o-1 parked at AuthorizePayment, made once for the tests that start from
    there (parking takes its retries' intervals, seconds of real time); each test works on
    a copy of its databases (``start_parked``), this folder is never changed."""
    folder = tmp_path_factory.mktemp("parked-AuthorizePayment")
    with pytest.MonkeyPatch.context() as env:  # the autouse keys come later, per test
        env.setenv("SHOP_GATEWAY_API_KEY", "test-gateway-key")
        env.setenv("SHOP_COURIER_API_KEY", "test-courier-key")
        park(folder, "AuthorizePayment")
    return folder


def start_parked(request: pytest.FixtureRequest, workdir: Path, step: str) -> None:
    """o-1 parked at ``step`` in ``workdir``: a copy of the shared shop for AuthorizePayment,
    else a shop parked here. Copied with SQLite's backup (a consistent snapshot of each
    database, whatever connections of the parking runtime are still open on it)."""
    if step != "AuthorizePayment":
        park(workdir, step)
        return
    template: Path = request.getfixturevalue("parked_at_payment")
    for path in template.glob("*.db"):
        with closing(sqlite3.connect(path)) as source, \
                closing(sqlite3.connect(workdir / path.name)) as copy:  # fmt: skip
            source.backup(copy)
    assert dead_letters(workdir) == [(1, f"{step}-dlq", False)]


def cli(*args: str) -> list[str]:
    cmd = [sys.executable, "-m", "sagaway", "dlq", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


def final_status(workdir: Path, order_id: str) -> str:
    record = ShopRuntime(ShopConfig(workdir=workdir)).shop.orders.get(order_id)
    assert record is not None
    return str(record["status"])


@pytest.mark.parametrize("step", ["AuthorizePayment", "SendConfirmation"])
def test_redrive_with_no_engine_running_confirms_the_order(
    request: pytest.FixtureRequest, tmp_path: Path, step: str
) -> None:
    start_parked(request, tmp_path, step)
    lines = cli("redrive", "1", "--workdir", str(tmp_path))
    assert lines == [f"1\t{step}-dlq\to-1\to-1-redrive-1\tSUCCEEDED\tCONFIRMED"]
    assert final_status(tmp_path, "o-1") == "CONFIRMED"
    assert dead_letters(tmp_path) == [(1, f"{step}-dlq", True)]
    audit = run_audit(ShopConfig(workdir=tmp_path))
    assert audit.ok, audit.checks
    assert audit.counts == {"CONFIRMED": 1}
    assert cli("list", "--workdir", str(tmp_path)) == ["0 message(s)"]


async def _redrive_under_a_running_engine(workdir: Path, **faults: object) -> list[str]:
    runtime = ShopRuntime(ShopConfig(workdir=workdir, **faults))  # type: ignore[arg-type]
    await runtime.start()
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "sagaway", "dlq", "redrive", "--all", "--workdir", str(workdir),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, out.decode() + err.decode()
        return out.decode().splitlines()
    finally:
        await runtime.stop()


def test_redrive_under_a_running_engine_that_fails_again_compensates(tmp_path: Path) -> None:
    park(tmp_path, "BookShipment")
    # The courier is still out: the resumed BookShipment times out for good (seed 001's case).
    lines = asyncio.run(_redrive_under_a_running_engine(tmp_path, courier_outage=1.0))
    assert lines == ["1\tBookShipment-dlq\to-1\to-1-redrive-1\tFAILED\tCANCELLED_COMPENSATED"]
    assert dead_letters(tmp_path) == [(1, "BookShipment-dlq", True)]
    audit = run_audit(ShopConfig(workdir=tmp_path))
    assert audit.ok, audit.checks
    assert audit.counts == {"CANCELLED_COMPENSATED": 1}


def test_a_saga_parked_again_gets_a_new_dead_letter_and_a_new_name(tmp_path: Path) -> None:
    park(tmp_path, "ReserveInventory")
    # Redriven while the downstream is still down: the resumed saga parks the order again.
    lines = asyncio.run(_redrive_under_a_running_engine(tmp_path, outages=("ReserveInventory",)))
    assert lines == ["1\tReserveInventory-dlq\to-1\to-1-redrive-1\tFAILED\tNEEDS_REVIEW"]
    assert dead_letters(tmp_path) == [(1, "ReserveInventory-dlq", True),
                                      (2, "ReserveInventory-dlq", False)]  # fmt: skip
    assert run_audit(ShopConfig(workdir=tmp_path)).ok
    lines = cli("redrive", "--all", "--workdir", str(tmp_path))
    assert lines == ["2\tReserveInventory-dlq\to-1\to-1-redrive-2\tSUCCEEDED\tCONFIRMED"]
    audit = run_audit(ShopConfig(workdir=tmp_path))
    assert audit.ok, audit.checks
    assert audit.counts == {"CONFIRMED": 1}


def test_intake_metrics_show_per_step_latency_and_errors(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """After a parked-then-redriven order, scrape the intake's /metrics over real HTTP."""
    import threading

    import httpx
    import uvicorn

    from shop.intake import IntakeSettings, create_app
    from shop.services.orders import OrdersService
    from shop.system import Shop

    start_parked(request, tmp_path, "AuthorizePayment")
    cli("redrive", "--all", "--workdir", str(tmp_path))
    config = ShopConfig(workdir=tmp_path)
    app = create_app(OrdersService(config.url("orders")), config.journal_url,
                     IntakeSettings(allow_dev_key=True), Shop(config).tokenize)  # fmt: skip
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.02)
    try:
        port = server.servers[0].sockets[0].getsockname()[1]
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    finally:
        server.should_exit = True
        thread.join(5)
    lines = text.splitlines()
    # AuthorizePayment failed 4 times in the original execution (1 try + 3 retries), then
    # succeeded once in the redriven one.
    assert 'shop_step_errors_total{error="ServiceUnavailable",step="AuthorizePayment"} 4.0' in lines
    assert 'shop_step_latency_seconds_count{step="AuthorizePayment"} 5.0' in lines
    assert 'shop_step_latency_seconds_count{step="SendConfirmation"} 1.0' in lines
    assert 'shop_dlq_depth{queue="AuthorizePayment-dlq"} 1.0' not in lines
    assert 'shop_orders{status="CONFIRMED"} 1.0' in lines


def test_dlq_show_never_shows_the_card_number(parked_at_payment: Path) -> None:
    # The order was started directly with a card number in its input (tests/shop/kit.py);
    # the dead letter and the order record keep only the gateway's token and last four.
    # The files checked are the ones the parking runtime wrote (``dlq show`` only reads).
    shown = "\n".join(cli("show", "1", "--workdir", str(parked_at_payment)))
    assert CARD not in shown and "4242" in shown and "tok_" in shown
    for name in ("orders.db", "orders.db-wal"):
        path = parked_at_payment / name
        assert not path.exists() or CARD.encode() not in path.read_bytes()
