"""The shop's console pages in a browser: an order parked in NEEDS_REVIEW, its dead letter
redriven, the order followed to CONFIRMED, its page and the audit log."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shop.config import ShopConfig
from shop.system import ShopRuntime
from tests.api.conftest import free_port
from tests.console.browser_kit import browser, page
from tests.shop.test_redrive import park

__all__ = ["browser", "page"]  # fixtures


def park_aside(workdir: Path, step: str) -> None:
    """Park order o-1 at ``step``, on a thread with its own event loop (Playwright's sync
    API keeps one running on the test's thread)."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            park(workdir, step)
        except BaseException as exc:
            failure.append(exc)

    parking = threading.Thread(target=run)
    parking.start()
    parking.join(90)
    assert not failure, failure


@contextmanager
def shop_engine(workdir: Path) -> Iterator[tuple[str, ShopRuntime]]:
    """The shop's engine process with its API and console, in a thread of its own loop;
    the console's one-time sign-in URL."""
    port = free_port()
    runtime = ShopRuntime(ShopConfig(workdir=workdir), api_port=port)
    started, stop = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    async def main() -> None:
        try:
            await runtime.start()
        except BaseException as exc:
            failure.append(exc)
            started.set()
            return
        started.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        await runtime.stop()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    assert started.wait(30) and not failure, failure
    assert runtime.console_link is not None
    try:
        yield runtime.console_link, runtime
    finally:
        stop.set()
        thread.join(30)


def test_an_operator_redrives_a_parked_order_and_watches_it_confirm(
    page: Any, tmp_path: Path
) -> None:
    park_aside(tmp_path, "AuthorizePayment")
    with shop_engine(tmp_path) as (link, runtime):
        page.goto(link)
        base = link.split("/console/")[0]
        parked = page.request.get(base + "/console/order?id=o-1").text()
        assert "NEEDS_REVIEW" in parked and "hoodie" in parked and "AuthorizePayment-dlq" in parked
        assert re.search(r"inventory</td><td>[^<]+ · RESERVED", parked), "stock held while parked"
        assert page.request.get(base + "/console/order?id=nope").status == 404
        page.click("text=Dead letters")
        letter = page.locator('tr[data-letter="1"]')
        text = letter.text_content()
        assert "AuthorizePayment-dlq" in text and "waiting" in text
        page.check('input[name=letter][value="1"]')
        page.click("#redrive-selected")
        confirmed = 'tr[data-letter="1"] .order-status:text("CONFIRMED")'
        page.wait_for_selector(confirmed, timeout=20_000)
        assert "o-1-redrive-1" in page.locator('tr[data-letter="1"]').text_content()
        page.click('tr[data-letter="1"] a:text("o-1")')
        assert "CONFIRMED" in page.locator("h1").text_content()
        timeline = page.locator("table.timeline").text_content()
        assert "o-1-redrive-1" in timeline and "ExecutionSucceeded" in timeline
        assert re.search(r"payments</td><td>[^<]+: 40.0", page.content()), "the charge"
        page.goto(base + "/console/audit")
        assert "RedriveDeadLetter" in page.locator("table.audit").text_content()
        assert runtime.shop.orders.get("o-1")["status"] == "CONFIRMED"  # type: ignore[index]
