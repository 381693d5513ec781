"""The order saga's steps as Lambda entry points: what ``sagaway export sam --functions
shop.lambdas`` deploys. Each function builds the shop's services once per Lambda
environment, their databases named by ``SHOP_URL_<SERVICE>`` variables (e.g.
``SHOP_URL_ORDERS=postgresql://…``), or all by ``SHOP_DB=postgresql://host/db`` (a schema
per service, see :meth:`shop.config.ShopConfig.url`; default: SQLite files under
``SHOP_WORKDIR``) and the
third parties' API keys given by the shop's secret provider (:mod:`shop.secrets`)."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

from shop.config import ShopConfig
from shop.system import Shop


@cache
def _handlers() -> dict[str, Any]:
    urls = {
        key.removeprefix("SHOP_URL_").lower(): value
        for key, value in os.environ.items()
        if key.startswith("SHOP_URL_") and value
    }
    workdir = Path(os.environ.get("SHOP_WORKDIR", "/tmp/shop"))
    workdir.mkdir(parents=True, exist_ok=True)
    return Shop(ShopConfig(workdir, urls, db=os.environ.get("SHOP_DB", ""))).handlers()


# Named after the saga steps they run (the names the definition calls), not in snake_case.
def CreateOrder(event: Any, context: Any) -> Any:
    return _handlers()["CreateOrder"](event, context)


def CancelOrder(event: Any, context: Any) -> Any:
    return _handlers()["CancelOrder"](event, context)


def ReserveInventory(event: Any, context: Any) -> Any:
    return _handlers()["ReserveInventory"](event, context)


def ReleaseInventory(event: Any, context: Any) -> Any:
    return _handlers()["ReleaseInventory"](event, context)


def AuthorizePayment(event: Any, context: Any) -> Any:
    return _handlers()["AuthorizePayment"](event, context)


def RefundPayment(event: Any, context: Any) -> Any:
    return _handlers()["RefundPayment"](event, context)


def BurnLoyaltyPoints(event: Any, context: Any) -> Any:
    return _handlers()["BurnLoyaltyPoints"](event, context)


def RestoreLoyaltyPoints(event: Any, context: Any) -> Any:
    return _handlers()["RestoreLoyaltyPoints"](event, context)


def BookShipment(event: Any, context: Any) -> Any:
    return _handlers()["BookShipment"](event, context)


def CancelShipment(event: Any, context: Any) -> Any:
    return _handlers()["CancelShipment"](event, context)


def ConfirmOrder(event: Any, context: Any) -> Any:
    return _handlers()["ConfirmOrder"](event, context)


def SendConfirmation(event: Any, context: Any) -> Any:
    return _handlers()["SendConfirmation"](event, context)


def ParkOrder(event: Any, context: Any) -> Any:
    return _handlers()["ParkOrder"](event, context)
