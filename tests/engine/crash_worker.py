"""A process the kill -9 test runs, kills and runs again: one Engine on a journal file.

``python -m tests.engine.crash_worker JOURNAL EFFECTS COUNT [PAYLOAD_BYTES]`` resumes the
open executions of JOURNAL, starts orders 0..COUNT-1 under deterministic names (a name
already in the journal is a no-op: name uniqueness makes the start idempotent), waits until
every one has ended, prints ``done`` and exits 0. Killed at any moment, it is simply run
again. With PAYLOAD_BYTES, each order carries a text of that size through every state
(large payloads take the journal's payload store).

The handlers stand for services that de-duplicate on the idempotency key: each call is
counted in the EFFECTS database, and the effect (the row) is written once per key. The test
compares the effects and the journal with those of a run that was never killed.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import sys
import threading
import time
from typing import Any

from sagaway.engine.engine import Engine, ExecutionAlreadyExists
from sagaway.resources.lambda_functions import FunctionRegistry
from sagaway.store.sqlite import SqliteJournal

MACHINE_NAME = "CrashSaga"


def _fn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:111111111111:function:{name}"


def _task(name: str, **fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": _fn(name), **fields}


# Every kind of outstanding work a crash can interrupt: Tasks (async and threaded), a retry
# interval and a Wait (durable timers), Map iterations and Parallel branches in flight,
# and a Catch leading to a compensation for the orders whose payment is declined.
DEFINITION: dict[str, Any] = {
    "StartAt": "Reserve",
    "States": {
        "Reserve": _task(
            "reserve",
            ResultPath="$.reservation",
            Retry=[{"ErrorEquals": ["FlakyError"], "IntervalSeconds": 1, "MaxAttempts": 2}],
            Next="Pick",
        ),
        "Pick": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 2,
            "ItemProcessor": {
                "StartAt": "PickItem",
                "States": {"PickItem": _task("pick", End=True)},
            },
            "ResultPath": "$.picked",
            "Next": "Charge",
        },
        "Charge": _task(
            "charge",
            ResultPath="$.payment",
            Catch=[{"ErrorEquals": ["CardDeclined"], "ResultPath": "$.error", "Next": "Release"}],
            Next="Settle",
        ),
        "Settle": {"Type": "Wait", "Seconds": 1, "Next": "Ship"},
        "Ship": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Book", "States": {"Book": _task("book", End=True)}},
                {"StartAt": "Notify", "States": {"Notify": _task("notify", End=True)}},
            ],
            "ResultPath": "$.shipping",
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
        "Release": _task("release", ResultPath="$.released", Next="Declined"),
        "Declined": {"Type": "Fail", "Error": "OrderFailed", "Cause": "payment declined"},
    },
}


def order(n: int, payload: int = 0) -> dict[str, Any]:
    body = {"orderId": f"o-{n}", "n": n, "items": [f"sku-{n % 5}", f"sku-{n % 3}"], "total": n}
    if payload:  # distinct per order, and random hex: compression gains 2x at most
        body["blob"] = random.Random(n).randbytes(payload // 2).hex()
    return body


def execution_name(n: int) -> str:
    return f"order-{n:05d}"


class FlakyError(Exception):
    pass


class CardDeclined(Exception):
    pass


EFFECTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS effects (
    key TEXT PRIMARY KEY, fn TEXT NOT NULL, result TEXT NOT NULL, calls INTEGER NOT NULL
)
"""
# The service's de-duplication: the first call with a key writes the effect, later calls
# with that key only count themselves. One statement, so it is atomic on its own.
RECORD = (
    "INSERT INTO effects (key, fn, result, calls) VALUES (?, ?, ?, 1)"
    " ON CONFLICT (key) DO UPDATE SET calls = calls + 1"
)


class Effects:
    """The services' database; one connection per thread (sync handlers run in a pool)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._conn().execute(EFFECTS_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            # A SIGKILL (not a power cut) keeps what reached the OS: no fsync needed here.
            conn.execute("PRAGMA synchronous=OFF")
            self._local.conn = conn
        return conn

    def record(self, key: str, fn: str, result: Any) -> Any:
        self._conn().execute(RECORD, (key, fn, json.dumps(result, sort_keys=True)))
        return result


def registry(effects: Effects) -> FunctionRegistry:
    """The saga's handlers: deterministic in the order and the attempt, so a killed run and
    an unkilled one produce the same results and the same keys."""

    async def reserve(event: Any, context: Any) -> Any:
        if event["n"] % 3 == 0 and context.idempotency_key.endswith("#0"):
            raise FlakyError("inventory service busy")  # first attempt only: Retry succeeds
        result = effects.record(context.idempotency_key, "reserve", {"held": event["items"]})
        await asyncio.sleep(0.01)  # a kill here leaves the effect done but not journaled
        return result

    def pick(event: Any, context: Any) -> Any:
        result = effects.record(context.idempotency_key, "pick", {"bin": event})
        time.sleep(0.002)
        return result

    async def charge(event: Any, context: Any) -> Any:
        if event["n"] % 7 == 0:
            raise CardDeclined(f"card of {event['orderId']} declined")
        result = effects.record(context.idempotency_key, "charge", {"charged": event["total"]})
        await asyncio.sleep(0.005)
        return result

    def book(event: Any, context: Any) -> Any:
        return effects.record(context.idempotency_key, "book", {"parcel": event["orderId"]})

    async def notify(event: Any, context: Any) -> Any:
        return effects.record(context.idempotency_key, "notify", {"mailed": event["orderId"]})

    def release(event: Any, context: Any) -> Any:
        return effects.record(context.idempotency_key, "release", {"released": event["items"]})

    functions = FunctionRegistry()
    for handler in (reserve, pick, charge, book, notify, release):
        functions.register(handler.__name__, handler)
    return functions


async def start(engine: Engine, machine_arn: str, n: int, payload: int) -> str:
    name = execution_name(n)
    try:
        record = await engine.start_execution(machine_arn, name, json.dumps(order(n, payload)))
    except ExecutionAlreadyExists as taken:  # ended in an earlier life of this process
        return str(taken)
    return record.arn


async def run(journal_path: str, effects_path: str, count: int, payload: int = 0) -> None:
    journal = SqliteJournal(journal_path)
    engine = Engine(journal, registry(Effects(effects_path)))
    open_records = journal.open_executions()
    # Executions this life finds waiting on a timer (a Wait or a Retry interval).
    timed = sum(1 for r in open_records if r.state and json.loads(r.state)["timers"])
    await engine.start()
    # Recovery runs in the background; this process is also the client that starts the
    # run again, so let it resume the open executions first, as a restarted service would
    # before its clients reconnect (a kill still lands anywhere in it).
    await engine.recovery.finished()
    print(f"resumed {len(open_records)} {timed}", flush=True)
    machine = journal.get_state_machine(
        f"arn:aws:states:us-east-1:111111111111:stateMachine:{MACHINE_NAME}"
    )
    if machine is None:
        machine = engine.create_state_machine(MACHINE_NAME, json.dumps(DEFINITION))
    arns = await asyncio.gather(*(start(engine, machine.arn, n, payload) for n in range(count)))
    print("started", flush=True)
    await asyncio.gather(*(engine.wait_status(arn) for arn in arns))
    await engine.close()
    journal.close()
    print("done", flush=True)


if __name__ == "__main__":
    payload = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    asyncio.run(run(sys.argv[1], sys.argv[2], int(sys.argv[3]), payload))
