"""Where each service keeps its data and how the simulated world behaves."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from shop.sql import is_postgres, schema_url, search_path

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
    # A PostgreSQL URL (``postgresql://host/db``): the engine's journal and the bus in it, and
    # each service and third party in a schema of its own (see :meth:`url`). Empty: SQLite
    # files in ``workdir``. ``urls`` still overrides any one of them.
    db: str = ""

    def without_faults(self) -> ShopConfig:
        """The same shop with every injected failure switched off (the operator's fix)."""
        return ShopConfig(self.workdir, dict(self.urls), self.seed, threads=self.threads,
                          db=self.db)  # fmt: skip

    @property
    def on_postgres(self) -> bool:
        return is_postgres(self.db)

    def url(self, name: str) -> str:
        """Where ``name`` keeps its data: ``urls[name]``; else, with ``db``, that database
        with its search_path set to the schema ``shop_<name>`` (``<base>_<name>`` when ``db``
        itself names a schema ``<base>``); else ``WORKDIR/<name>.db``."""
        if self.urls.get(name):
            return self.urls[name]
        if self.db:
            return schema_url(self.db, f"{search_path(self.db) or 'shop'}_{name}")
        return f"sqlite:///{self.workdir / (name + '.db')}"

    @property
    def journal_url(self) -> str:
        return self.urls.get("journal") or self.db or f"sqlite:///{self.workdir / 'sagaway.db'}"

    @property
    def bus_url(self) -> str:
        return self.urls.get("bus") or self.db or f"sqlite:///{self.workdir / 'bus.db'}"
