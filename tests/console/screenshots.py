"""Screenshots of each console page for docs/console.md:
``python -m tests.console.screenshots docs/console`` (needs Chromium, like the browser
tests). Runs the example order saga and the shop with a parked order, then visits each page."""

from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import Page, sync_playwright

from tests.console.browser_kit import ARGS, CHROMIUM
from tests.console.kit import WAIT_DEFINITION, ConsoleServer
from tests.console.test_shop_pages import shop_engine
from tests.shop.test_redrive import park


def _shoot(page: Page, out: Path, name: str, full: bool = True) -> None:
    page.wait_for_timeout(300)
    page.screenshot(path=str(out / f"{name}.png"), full_page=full)


def generic_pages(page: Page, out: Path, tmp: Path) -> None:
    with ConsoleServer(f"sqlite:///{tmp / 'journal.db'}") as server:
        saga = server.saga()
        for n, extra in enumerate([{}, {"address": "1 Main St"}, {"total": 5000}] * 3):
            name = f"order-{8840 + n}"
            server.run(saga, name, {"orderId": name, "total": 40, **extra})
        waiting = server.saga("approval", WAIT_DEFINITION)
        server.sfn.start_execution(stateMachineArn=waiting, name="order-8849")
        page.goto(server.local_link())
        page.goto(server.url + "/console/executions")
        _shoot(page, out, "executions")
        arn = saga.replace(":stateMachine:", ":execution:") + ":order-8840"
        page.goto(server.url + "/console/execution?arn=" + quote(arn))
        page.locator('svg.graph .state[data-state="BookShipment"]').click()
        _shoot(page, out, "execution", full=False)
        page.goto(server.url + "/console/state-machines")
        _shoot(page, out, "state-machines")
        page.goto(server.url + "/console/state-machine?arn=" + quote(saga))
        _shoot(page, out, "state-machine", full=False)
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto(server.url + "/console/execution?arn=" + quote(arn))
        page.click("#redrive")
        page.goto(server.url + "/console/audit")
        _shoot(page, out, "audit")


def shop_pages(page: Page, out: Path, tmp: Path) -> None:
    with shop_engine(tmp) as (link, _):
        page.goto(link)
        page.goto(link.split("/console/")[0] + "/console/dead-letters")
        _shoot(page, out, "dead-letters")
        page.goto(link.split("/console/")[0] + "/console/order?id=o-1")
        _shoot(page, out, "order")


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        shop = Path(tmp) / "shop"
        parking = threading.Thread(target=park, args=(shop, "AuthorizePayment"))
        parking.start()
        parking.join()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            generic_pages(page, out, Path(tmp))
            shop_pages(page, out, shop)
            browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/console"))
