"""The shop assembled: services, third parties, the saga's handlers, and the runtime (engine,
bus, outbox relays and rules) that runs them in one process."""

from __future__ import annotations

import asyncio
import json
from functools import partial
from pathlib import Path
from typing import Any

import uvicorn
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette

from sagaway import (
    REDRIVE_TYPE,
    Engine,
    EventBus,
    FunctionRegistry,
    Rule,
    StartExecutionTarget,
    open_journal,
)
from sagaway.api import ApiSecurity, attach_app
from sagaway.api.app import console_of
from sagaway.engine.cluster import member_identity
from sagaway.engine.integrations import ResourceRouter
from sagaway.engine.observer import Observer
from sagaway.messaging.journal_relay import JournalRelay
from sagaway.messaging.put_events import ServerBus
from sagaway.messaging.stores import open_bus_stores
from shop.config import ShopConfig
from shop.courier import Courier
from shop.faults import FaultPlan
from shop.gateway import PaymentGateway, ThirdPartyBehaviour
from shop.lock import EngineLock
from shop.metrics import StepMetrics
from shop.outbox import ShopOutboxRelay
from shop.saga import SAGA_NAME, order_saga, resume_name
from shop.secrets import SecretError, SecretProvider, secrets_from_environment
from shop.services.inventory import InventoryService
from shop.services.loyalty import LoyaltyService
from shop.services.notifications import NotificationsService
from shop.services.orders import OrdersService
from shop.services.payments import PaymentsService
from shop.services.shipping import ShippingService
from shop.sql import is_postgres

STATEMACHINE = Path(__file__).resolve().parents[2] / "statemachines" / "order-saga.asl.json"


GATEWAY_KEY = "gateway-api-key"
COURIER_KEY = "courier-api-key"


def issued_key(issued: SecretProvider, name: str) -> str:
    """The key a simulated third party checks: the one it issued to the shop."""
    key = issued.get(name)
    if key is None:
        variable = "SHOP_" + name.upper().replace("-", "_")
        raise SecretError(f"the shop needs the secret {name} (${variable}, a file in "
                          "$SHOP_SECRETS_DIR or Vault)")  # fmt: skip
    return key


class Shop:
    """``secrets`` gives the services their third parties' API keys (default: the
    environment, a folder or Vault, see :mod:`shop.secrets`). ``issued`` configures the
    simulated gateway and courier with the keys they accept (default: the same provider,
    as a real gateway accepts the key it issued to the shop)."""

    def __init__(
        self,
        config: ShopConfig,
        secrets: SecretProvider | None = None,
        issued: SecretProvider | None = None,
    ) -> None:
        self.config = config
        c = config
        secrets = secrets or secrets_from_environment()
        issued = issued or secrets
        self.gateway = PaymentGateway(c.url("gateway"), ThirdPartyBehaviour(
            c.gateway_latency, c.gateway_error_rate, c.gateway_timeout_rate, c.seed),
            api_key=issued_key(issued, GATEWAY_KEY))  # fmt: skip
        self.courier = Courier(c.url("courier"), ThirdPartyBehaviour(
            c.courier_latency, 0.0, c.courier_timeout_rate, c.seed + 1),
            api_key=issued_key(issued, COURIER_KEY), outage=c.courier_outage)  # fmt: skip
        gateway_key = secrets.get(GATEWAY_KEY)
        self.tokenize = partial(self.gateway.tokenize, api_key=gateway_key)
        self.orders = OrdersService(c.url("orders"), self.tokenize)
        self.inventory = InventoryService(c.url("inventory"))
        self.payments = PaymentsService(c.url("payments"), self.gateway, gateway_key)
        self.loyalty = LoyaltyService(c.url("loyalty"))
        self.shipping = ShippingService(c.url("shipping"), self.courier, secrets.get(COURIER_KEY))
        self.notifications = NotificationsService(c.url("notifications"))

    def close(self) -> None:
        """Close every database connection of the services and third parties."""
        for service in (self.orders, self.inventory, self.payments, self.loyalty,
                        self.shipping, self.notifications):  # fmt: skip
            service.db.close()
        self.gateway.close()
        self.courier.close()

    def handlers(self) -> dict[str, Any]:
        return {
            "CreateOrder": self.orders.create_order, "CancelOrder": self.orders.cancel_order,
            "ReserveInventory": self.inventory.reserve, "ReleaseInventory": self.inventory.release,
            "AuthorizePayment": self.payments.authorize, "RefundPayment": self.payments.refund,
            "BurnLoyaltyPoints": self.loyalty.burn, "RestoreLoyaltyPoints": self.loyalty.restore,
            "BookShipment": self.shipping.book, "CancelShipment": self.shipping.cancel,
            "ConfirmOrder": self.orders.confirm_order,
            "SendConfirmation": self.notifications.send_confirmation,
            "ParkOrder": self.orders.park,
        }  # fmt: skip

    def registry(self, metrics: StepMetrics | None = None) -> FunctionRegistry:
        c = self.config
        faults = FaultPlan(c.transient_rate, c.poison_rate, c.seed, tuple(c.outages))
        registry = FunctionRegistry()
        for name, handler in self.handlers().items():
            if name != "ParkOrder":  # parking is how failures are recorded: not failed on purpose
                handler = faults.wrap(name, handler)
            if metrics is not None:
                handler = metrics.wrap(name, handler)
            registry.register(name, handler)
        return registry


class ShopRuntime:
    """The engine process: the engine, the bus with its rules, the outbox relays.

    On SQLite (the default) one engine process runs per working directory
    (``WORKDIR/engine.lock``). On PostgreSQL (``ShopConfig.db``) any number run on one
    database, each a cluster member named ``member`` (default: host, pid and a random
    suffix) that claims executions by lease; all share the bus's stores (a rule's target
    starts an execution named after the event: once, whichever member relays it), and one
    member at a time relays each outbox (the journal's and the orders database's)."""

    def __init__(
        self,
        config: ShopConfig,
        metrics_registry: CollectorRegistry | None = None,
        api_port: int | None = None,
        api_security: ApiSecurity | None = None,
        observer: Observer | None = None,
        shop: Shop | None = None,
        member: str | None = None,
    ) -> None:
        self.shop = shop or Shop(config)
        metrics = StepMetrics(metrics_registry or CollectorRegistry())
        cluster = config.on_postgres or is_postgres(config.journal_url)
        self.member = (member or member_identity()) if cluster else None
        self.journal = open_journal(config.journal_url, owner=self.member)
        self.stores = open_bus_stores(config.bus_url)
        self.bus = EventBus("shop", archive=self.stores.archive, inbox=self.stores.inbox,
                            dead_letter=self.stores.dead_letters)  # fmt: skip
        # putEvents Tasks (the saga's OrderConfirmed / OrderFailed) commit their events in
        # the journal's outbox with their step; its relay hands them to this bus.
        # (Only their relay runs: no PutEvents reaches the shop's bus outside a step.)
        self.server_bus = ServerBus(config.bus_url, bus=self.bus)
        self.journal_relay = JournalRelay(self.journal, self.bus.put_events)
        router = ResourceRouter(bus=self.server_bus)
        self.engine = Engine(self.journal, self.shop.registry(metrics), threads=config.threads,
                             observer=observer, router=router)  # fmt: skip
        self.relays: list[ShopOutboxRelay] = []
        self.machine_arn = ""
        # One engine per workdir on SQLite; a cluster on PostgreSQL has no such limit.
        self.lock = None if cluster else EngineLock(config.workdir)
        self.api_port = api_port
        self.api_security = api_security
        self._api: uvicorn.Server | None = None
        self.console_link: str | None = None  # the console's one-time sign-in URL
        self._serving: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Raises :class:`shop.lock.EngineBusy` if another engine runs on the workdir."""
        if self.lock is not None:
            self.lock.acquire()
        definition = order_saga().to_json()
        self.machine_arn = self.engine.create_state_machine(SAGA_NAME, definition).arn
        api = None
        if self.api_port is not None:  # before the engine starts: see attach_app
            from shop.console_pages import ShopPages  # the console's shop pages need the shop

            api = attach_app(self.engine, self.shop.config.journal_url,
                             security=self.api_security,
                             extension=ShopPages(self.shop).extension())  # fmt: skip
        await self.engine.start()
        if api is not None and self.api_port is not None:
            await self._serve_api(api, self.api_port)
        submitted = StartExecutionTarget("start-saga", self.engine, self.machine_arn,
                                         name_path="$.detail.orderId", input_path="$.detail")  # fmt: skip  # noqa: E501
        # Each event reaches each rule once in effect: both targets start an execution
        # named after the event (the order; the redrive), which starts once however often
        # the event is relayed (by whichever member). Not the inbox: it records an event
        # before the delivery, so a member killed in between would drop it.
        self.bus.put_rule(Rule("order-submitted", {"source": ["shop.orders"],
                               "detail-type": ["OrderSubmitted"]}, [submitted]))  # fmt: skip
        resume = StartExecutionTarget("resume-saga", self.engine, self.machine_arn,
                                      name_path="$.id", input_path="$.detail.resume")  # fmt: skip
        self.bus.put_rule(Rule("dead-letter-redriven", {"detail-type": [REDRIVE_TYPE]},
                               [_ResumeTarget(resume, self)]))  # fmt: skip
        self.relays = [ShopOutboxRelay(self.shop.config.url("orders"), self.bus.put_events)]
        for relay in self.relays:
            relay.start()
        self.journal_relay.start()

    async def _serve_api(self, api: Starlette, port: int) -> None:
        """The Step Functions API over this engine, for exploring with boto3 or the AWS CLI."""
        config = uvicorn.Config(api, host="127.0.0.1", port=port, log_level="warning")
        self._api = uvicorn.Server(config)
        self._serving = asyncio.create_task(self._api.serve())
        while not self._api.started:
            if self._serving.done():  # e.g. the port is taken: say so rather than hang
                self._serving.result()
                raise RuntimeError(f"the Step Functions API did not start on port {port}")
            await asyncio.sleep(0.02)
        local = console_of(api).local
        if local is not None:  # the demo reads this line from the engine's log and shows it
            self.console_link = f"http://127.0.0.1:{port}{local.path()}"
            print(f"console: sign in at {self.console_link}", flush=True)

    async def stop(self) -> None:
        if self._api is not None and self._serving is not None:
            self._api.should_exit = True
            await self._serving
        for relay in self.relays:
            await relay.stop()
        await self.journal_relay.stop()
        await self.server_bus.stop()
        await self.engine.close()
        self.bus.close()  # the dead-letter queues and ledger the bus opened itself
        self.stores.close()
        if self.lock is not None:
            self.lock.release()
        else:  # a cluster member leaves: its relay lock and lease connections go with it
            self.journal.close()


class _ResumeTarget:
    """Turns a redriven dead letter into a saga execution that resumes at the parked step,
    named by :func:`shop.saga.resume_name` (so a redelivered redrive starts nothing twice).
    The order leaves NEEDS_REVIEW just before, and only while that execution does not exist
    yet: a late redelivery must not un-park an order whose resumed saga parked it again."""

    def __init__(self, inner: StartExecutionTarget, runtime: ShopRuntime) -> None:
        self.name = inner.name
        self.inner = inner
        self.runtime = runtime

    async def deliver(self, event: dict[str, Any]) -> None:
        detail = event["detail"]
        message = detail["message"]
        document = dict(message["document"])
        document["resume"] = message["step"]
        name = resume_name(message)
        found = self.runtime.journal.find_execution(self.runtime.machine_arn, name)
        if found is None:
            order_id = document["order"]["orderId"]
            await asyncio.to_thread(self.runtime.shop.orders.unpark, order_id, document)
        resumed = {**event, "id": name, "detail": {**detail, "resume": document}}
        await self.inner.deliver(json.loads(json.dumps(resumed)))
