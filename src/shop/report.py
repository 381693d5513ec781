"""The demo's closing report: outcomes, submit-to-confirmed percentiles, the audit."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from shop.audit import Audit
from shop.system import Shop


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def print_report(
    console: Console,
    shop: Shop,
    audit: Audit,
    accepted: int,
    refused: int,
    complete: bool,
    before: Audit | None = None,
) -> None:
    """``before``: the audit taken after the sale, when the operator's redrive followed."""
    outcomes = Table(title="Orders")
    outcomes.add_column("outcome")
    if before is not None:
        outcomes.add_column("after the sale", justify="right")
    outcomes.add_column("after the redrive" if before is not None else "orders", justify="right")
    for status in ("CONFIRMED", "CANCELLED_COMPENSATED", "NEEDS_REVIEW"):
        counts = [a.counts.get(status, 0) for a in (before, audit) if a is not None]
        outcomes.add_row(status, *map(str, counts))
    totals = [f"{accepted} / {refused}"] * (2 if before is not None else 1)
    outcomes.add_row("accepted by intake / refused", *totals)
    console.print(outcomes)
    if before is not None:
        broken = [c.name for c in before.checks if not c.ok]
        console.print("audit after the sale (parked orders held apart): "
                      + ("ok" if not broken else "BROKEN: " + ", ".join(broken)))  # fmt: skip
    rows = shop.orders.db.query(
        "SELECT confirmed - submitted FROM orders WHERE status = 'CONFIRMED' AND confirmed IS NOT NULL"  # noqa: E501
    )
    latencies = [float(r[0]) for r in rows]
    console.print(
        f"submit-to-confirmed: p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms"
    )
    depth = shop.orders.db.query(
        "SELECT queue, count(*) FROM dead_letters WHERE redriven IS NULL GROUP BY queue"
    )
    if depth:
        console.print("dead-letter queues: " + ", ".join(f"{q} {n}" for q, n in depth))
    checks = Table(title="Invariant audit (DESIGN.md section 6)")
    for column in ("invariant", "result", "detail"):
        checks.add_column(column)
    for check in audit.checks:
        checks.add_row(
            check.name, "[green]ok[/green]" if check.ok else "[red]BROKEN[/red]", check.detail
        )
    console.print(checks)
    if not complete:
        console.print("[red]not every order reached a final status in time[/red]")
    console.print("[bold green]audit passed[/bold green]" if audit.ok and complete
                  else "[bold red]audit FAILED[/bold red]")  # fmt: skip
