"""A simulated card payment gateway (a third party we fake on purpose), behaving like a real
one: every call carries an idempotency key; the same key with the same request answers the
stored response without doing anything again; the same key with a different request is a
conflict. It keeps its own books (its own database), so the audit reads money from here.

Configurable latency, error rate (fails before doing anything) and timeout rate (does the
operation, then the answer is lost: the ambiguous case idempotency keys exist for).

Like a real gateway it is configured with the API key it issued and refuses any call that
presents no key or another one (401) before doing anything."""

from __future__ import annotations

import hmac
import json
import random
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from shop.errors import GatewayTimeout, PaymentDeclined, ServiceUnavailable, Unauthorized
from shop.sql import SharedDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS charges (
    id TEXT PRIMARY KEY, reference TEXT NOT NULL, amount REAL NOT NULL, card TEXT NOT NULL,
    status TEXT NOT NULL, captured REAL NOT NULL DEFAULT 0, refunded REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS cards (
    token TEXT PRIMARY KEY, number TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS operations (
    key TEXT PRIMARY KEY, op TEXT NOT NULL, request TEXT NOT NULL, response TEXT NOT NULL,
    charge_id TEXT, at REAL NOT NULL
);
"""
DECLINED_CARDS = {"4000000000000002"}


@dataclass(slots=True)
class ThirdPartyBehaviour:
    latency: tuple[float, float] = (0.0, 0.0)
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    seed: int | None = None


class IdempotencyConflict(Exception):
    pass


def check_api_key(expected: str, presented: str | None, who: str) -> None:
    """A third party's 401 for a missing or wrong key; the message never holds either key."""
    if not presented:
        raise Unauthorized(f"{who}: 401 Unauthorized (no API key given)")
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        raise Unauthorized(f"{who}: 401 Unauthorized (the API key is not valid)")


class PaymentGateway:
    def __init__(
        self, url: str, behaviour: ThirdPartyBehaviour | None = None, *, api_key: str
    ) -> None:
        self._api_key = api_key  # the key it issued to the shop
        self.behaviour = behaviour or ThirdPartyBehaviour()
        self._rng = random.Random(self.behaviour.seed)
        self._lock = threading.Lock()  # the random draws
        self._db = SharedDatabase(url, SCHEMA)
        self._conn = self._db.conn

    def close(self) -> None:
        self._db.close()

    def tokenize(self, number: str, *, api_key: str | None) -> str:
        """The gateway's token for a card number (the same number, the same token, so that
        a retried order is the same order). The number stays in the gateway's vault: the
        shop keeps only the token and the last four digits."""
        check_api_key(self._api_key, api_key, "gateway tokenize")
        with self._db.transaction() as conn:
            conn.lock(f"card:{number}")  # intakes of a cluster tokenize at once
            row = conn.execute("SELECT token FROM cards WHERE number = ?", (number,)).fetchone()
            if row is not None:
                return str(row[0])
            token = "tok_" + uuid.uuid4().hex
            conn.execute("INSERT INTO cards VALUES (?, ?)", (token, number))
            return token

    def authorize(
        self, key: str, reference: str, amount: float, card_token: str, *, api_key: str | None
    ) -> dict[str, Any]:
        request = {"reference": reference, "amount": amount, "card": card_token}
        return self._call(key, "authorize", request, api_key)

    def capture(self, key: str, charge_id: str, *, api_key: str | None) -> dict[str, Any]:
        return self._call(key, "capture", {"charge": charge_id}, api_key)

    def void(self, key: str, charge_id: str, *, api_key: str | None) -> dict[str, Any]:
        return self._call(key, "void", {"charge": charge_id}, api_key)

    def refund(self, key: str, charge_id: str, *, api_key: str | None) -> dict[str, Any]:
        return self._call(key, "refund", {"charge": charge_id}, api_key)

    def lookup(self, key: str, *, api_key: str | None) -> dict[str, Any] | None:
        """The charge an earlier call with ``key`` made, if the gateway ever saw it."""
        check_api_key(self._api_key, api_key, "gateway lookup")
        with self._db.session() as conn:
            row = conn.execute(
                "SELECT c.id, c.status, c.amount FROM operations o"
                " JOIN charges c ON c.id = o.charge_id WHERE o.key = ?",
                (key,),
            ).fetchone()
        return None if row is None else {"id": row[0], "status": row[1], "amount": row[2]}

    def _call(
        self, key: str, op: str, request: dict[str, Any], api_key: str | None
    ) -> dict[str, Any]:
        check_api_key(self._api_key, api_key, f"gateway {op}")
        b = self.behaviour
        with self._lock:
            roll, delay = self._rng.random(), self._rng.uniform(*b.latency)
        if delay:
            time.sleep(delay)
        if roll < b.error_rate:
            raise ServiceUnavailable(f"gateway {op}: 503 Service Unavailable")
        response = self._apply(key, op, request)
        if roll < b.error_rate + b.timeout_rate:
            raise GatewayTimeout(f"gateway {op}: no answer within the client timeout")
        if response.get("declined"):
            raise PaymentDeclined(response["declined"])
        return response

    def _apply(self, key: str, op: str, request: dict[str, Any]) -> dict[str, Any]:
        with self._db.transaction() as conn:
            conn.lock(f"gateway:{key}")  # engine workers of a cluster may call at once
            row = conn.execute(
                "SELECT op, request, response FROM operations WHERE key = ?", (key,)
            ).fetchone()
            if row is not None:
                if row[0] != op or json.loads(row[1]) != request:
                    raise IdempotencyConflict(f"key {key} was used for a different request")
                stored: dict[str, Any] = json.loads(row[2])
                return stored
            charge_id, response = _OPS[op](conn, request)
            assert isinstance(response, dict)
            conn.execute(
                "INSERT INTO operations VALUES (?, ?, ?, ?, ?, ?)",
                (key, op, json.dumps(request), json.dumps(response), charge_id, time.time()),
            )
            return response


def _authorize(conn: Any, req: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    row = conn.execute("SELECT number FROM cards WHERE token = ?", (req["card"],)).fetchone()
    if row is None or row[0] in DECLINED_CARDS:
        return None, {"declined": f"card declined for {req['reference']}"}
    charge_id = "ch_" + uuid.uuid4().hex[:16]
    conn.execute(
        "INSERT INTO charges (id, reference, amount, card, status) VALUES (?, ?, ?, ?, ?)",
        (charge_id, req["reference"], req["amount"], row[0][-4:], "AUTHORIZED"),
    )
    return charge_id, {"charge": charge_id, "status": "AUTHORIZED"}


def _transition(op: str) -> Any:
    def apply(conn: Any, req: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
        row = conn.execute(
            "SELECT status, amount FROM charges WHERE id = ? FOR UPDATE", (req["charge"],)
        )
        status, amount = row.fetchone()
        new, column = {"capture": ("CAPTURED", "captured"), "void": ("VOIDED", None),
                       "refund": ("REFUNDED", "refunded")}[op]  # fmt: skip
        allowed = {"capture": "AUTHORIZED", "void": "AUTHORIZED", "refund": "CAPTURED"}[op]
        if status != allowed:
            return req["charge"], {"charge": req["charge"], "status": status, "noop": True}
        sets = f"status = ?{f', {column} = {column} + ?' if column else ''}"
        args = (new, amount) if column else (new,)
        conn.execute(f"UPDATE charges SET {sets} WHERE id = ?", (*args, req["charge"]))
        return req["charge"], {"charge": req["charge"], "status": new}

    return apply


_OPS = {"authorize": _authorize, "capture": _transition("capture"),
        "void": _transition("void"), "refund": _transition("refund")}  # fmt: skip
