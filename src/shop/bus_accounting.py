"""Does the shop's bus account for every event? Read from its ledger
(:mod:`sagaway.messaging.ledger`, kept with the bus's stores): every event published is
matched by some rule or by none, and every delivery a rule target was routed is delivered
or dead-lettered. The cluster demo checks it once the system is quiet."""

from __future__ import annotations

from dataclasses import dataclass

from sagaway.messaging.stores import open_ledger
from shop.config import ShopConfig

BUS = "shop"  # the name ShopRuntime gives its bus


@dataclass(frozen=True, slots=True)
class BusAccount:
    published: int  # events the bus received (each id once)
    unmatched: int  # of those, events no rule matched (OrderConfirmed, OrderFailed)
    routed: int  # deliveries to rule targets
    delivered: int
    dead_lettered: int

    @property
    def balanced(self) -> bool:
        """Nothing in flight nor lost: each delivery ended delivered or dead-lettered."""
        return self.routed == self.delivered + self.dead_lettered

    def describe(self) -> str:
        return (f"{self.published} published ({self.unmatched} for no rule); "
                f"{self.routed} routed = {self.delivered} delivered + "
                f"{self.dead_lettered} dead-lettered")  # fmt: skip


def bus_account(config: ShopConfig) -> BusAccount:
    ledger = open_ledger(config.bus_url)
    try:
        account = ledger.accounting(BUS)
    finally:
        ledger.close()
    targets = account.targets
    # Every event is either matched or not, and each matched one was routed (no orphans).
    routed = sum(t.matched for t in targets)
    if account.published != account.matched + account.unmatched:
        routed = -1  # cannot balance: an event the ledger cannot place
    return BusAccount(account.published, account.unmatched, routed,
                      sum(t.delivered for t in targets),
                      sum(t.dead_lettered for t in targets))  # fmt: skip
