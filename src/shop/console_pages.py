"""The shop's pages in the operator console: dead letters (depth per step's queue, the
parked messages, redrive) and one order (its record, money, stock and points movements,
its executions, one timeline of everything that happened to it).

Redriving here does what ``sagaway dlq redrive`` does: mark the letter and announce it on
the orders outbox in one transaction; the running engine's rule then starts the execution
that resumes the saga, and the page follows it to its end.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from sagaway.console import Console, ConsoleExtension, ExtensionPage
from sagaway.console.path import details_of, timestamp
from sagaway.console.sessions import Session
from sagaway.console.settings import OPERATOR
from sagaway.store.ports import AuditEntry, ExecutionQuery
from shop.outbox import DeadLetters
from shop.saga import STATE_MACHINE_ARN, resume_name
from shop.system import Shop


class ShopPages:
    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        self.dlq = DeadLetters(shop.config.url("orders"))

    def extension(self) -> ConsoleExtension:
        return ConsoleExtension(
            pages=(
                ExtensionPage("/dead-letters", self.dead_letters),
                ExtensionPage("/dead-letters/redrive", self.redrive, OPERATOR, ("POST",)),
                ExtensionPage("/order", self.order),
            ),
            nav=(("/dead-letters", "Dead letters"),),
            templates=("shop", "console_templates"),
        )

    # -- dead letters ----------------------------------------------------------------------
    def _letters(self, console: Console) -> dict[str, Any]:
        journal = console.api.engine.journal
        rows = []
        for letter in reversed(self.dlq.list(include_redriven=True)[-500:]):
            order_id = _order_of(letter.body)
            row: dict[str, Any] = {"letter": letter, "order": order_id}
            if letter.redriven is not None:
                resumed = journal.find_execution(STATE_MACHINE_ARN, resume_name(letter.body))
                row["execution"] = resumed
                record = self.shop.orders.get(order_id)
                row["order_status"] = record["status"] if record else ""
            rows.append(row)
        return {"depth": self.dlq.depth(), "rows": rows, "now": time.time()}

    async def dead_letters(self, console: Console, request: Request, session: Session) -> Response:
        found = await console.off_loop(self._letters, console)
        running = any(r.get("execution") is not None and r["execution"].status == "RUNNING"
                      for r in found["rows"])  # fmt: skip
        # a redriven letter whose execution has not started yet: keep looking for a while
        recent = any(r.get("execution") is None and r["letter"].redriven is not None
                     and found["now"] - r["letter"].redriven < 30
                     for r in found["rows"])  # fmt: skip
        return console.render(request, "dead_letters.html", session, **found,
                              refresh=running or recent,
                              done=request.query_params.get("done"))  # fmt: skip

    async def redrive(self, console: Console, request: Request, session: Session) -> Response:
        form = await request.form()
        queue = form.get("queue")
        if isinstance(queue, str) and queue:
            ids = [d.id for d in await console.off_loop(self.dlq.list, queue)]
        else:
            ids = [int(v) for v in form.getlist("letter") if isinstance(v, str) and v.isdigit()]
        outcomes = [await console.off_loop(self._redrive_one, console, session, i) for i in ids]
        done = f"{outcomes.count('ok')} of {len(ids)} redriven"
        return RedirectResponse(f"/console/dead-letters?{urlencode({'done': done})}", 303)

    def _redrive_one(self, console: Console, session: Session, letter_id: int) -> str:
        try:
            letter = self.dlq.redrive(letter_id)
            outcome, target = "ok", f"{letter.queue}#{letter_id}"
        except (KeyError, ValueError) as exc:
            outcome, target = f"refused: {exc}", f"dead letter #{letter_id}"
        api = console.api
        entry = AuditEntry(api.engine.clock.now(), session.user, "RedriveDeadLetter", target,
                           "{}", outcome)  # fmt: skip
        api.engine.journal.record_audit(entry)
        return outcome

    # -- one order -------------------------------------------------------------------------
    def _order(self, console: Console, order_id: str) -> dict[str, Any] | None:
        record = self.shop.orders.get(order_id)
        if record is None:
            return None
        journal = console.api.engine.journal
        executions = journal.execution_summaries(ExecutionQuery(name_prefix=order_id, limit=50))
        executions = [e for e in executions if e.name == order_id
                      or e.name.startswith(order_id + "-redrive-")]  # fmt: skip
        timeline: list[tuple[float, str, str, str]] = []
        for key, label in (("submitted", "order submitted"), ("confirmed", "order confirmed"),
                           ("finished", "order finished")):  # fmt: skip
            if record.get(key):
                status = record["status"] if key == "finished" else ""
                timeline.append((record[key], "order", label, status))
        for summary in executions:
            for event in journal.history(summary.arn):
                kind = str(event.get("type", ""))
                shown = kind.endswith(("StateEntered", "Failed", "TimedOut"))
                if shown or kind.startswith("Execution"):
                    info = details_of(event)
                    what = str(info.get("name") or info.get("error") or "")
                    timeline.append((timestamp(event) or 0.0, summary.name, kind, what))
        timeline.sort(key=lambda entry: entry[0])
        letters = [d for d in self.dlq.list(include_redriven=True) if _order_of(d.body) == order_id]
        return {"record": record, "executions": executions, "timeline": timeline,
                "letters": letters, "movements": self._movements(order_id)}  # fmt: skip

    def _movements(self, order_id: str) -> dict[str, list[tuple[Any, ...]]]:
        s = self.shop
        return {
            "payments": s.payments.db.query(
                "SELECT charge_id, amount, status FROM payments WHERE order_id = ?", (order_id,)),
            "stock": s.inventory.db.query(
                "SELECT items, status FROM reservations WHERE order_id = ?", (order_id,)),
            "points": s.loyalty.db.query(
                "SELECT kind, customer_id, points FROM ledger WHERE order_id = ?", (order_id,)),
        }  # fmt: skip

    async def order(self, console: Console, request: Request, session: Session) -> Response:
        order_id = request.query_params.get("id", "").strip()
        found = await console.off_loop(self._order, console, order_id) if order_id else None
        if found is None:
            return console.render(request, "error.html", session, 404,
                                  message=f"No order {order_id!r}")  # fmt: skip
        running = any(e.status == "RUNNING" for e in found["executions"])
        return console.render(request, "order.html", session, **found, refresh=running)


def _order_of(message: Any) -> str:
    """The order id in a dead-lettered saga message."""
    document = message.get("document", {}) if isinstance(message, dict) else {}
    return str(document.get("order", {}).get("orderId", ""))
