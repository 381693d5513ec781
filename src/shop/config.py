"""Where each service keeps its data and how the simulated world behaves."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

SERVICES = ("orders", "inventory", "payments", "loyalty", "shipping", "notifications")
THIRD_PARTIES = ("gateway", "courier")


@dataclass(slots=True)
class ShopConfig:
    workdir: Path
    urls: dict[str, str] = field(default_factory=dict)  # per service; default: a file each
    seed: int = 7
    transient_rate: float = 0.0
    poison_rate: float = 0.0
    gateway_latency: tuple[float, float] = (0.0, 0.0)
    gateway_error_rate: float = 0.0
    gateway_timeout_rate: float = 0.0
    courier_latency: tuple[float, float] = (0.0, 0.0)
    courier_timeout_rate: float = 0.0
    courier_outage: float = 0.0
    # Steps whose downstream is down for every call (any execution) until the config changes:
    # how a test parks an order, then "fixes the fault" by starting with an empty tuple.
    outages: tuple[str, ...] = ()
    threads: int = 32

    def without_faults(self) -> ShopConfig:
        """The same shop with every injected failure switched off (the operator's fix)."""
        return ShopConfig(self.workdir, dict(self.urls), self.seed, threads=self.threads)

    def url(self, name: str) -> str:
        return self.urls.get(name) or f"sqlite:///{self.workdir / (name + '.db')}"

    @property
    def journal_url(self) -> str:
        return self.urls.get("journal") or f"sqlite:///{self.workdir / 'sagaway.db'}"

    @property
    def bus_url(self) -> str:
        return self.urls.get("bus") or f"sqlite:///{self.workdir / 'bus.db'}"
