"""Lambda-style handlers for examples/order-saga.asl.json (no-op stand-ins for services).

Each handler takes ``(event, context)`` like an AWS Lambda function; raising an exception
fails the Task with the exception's class name as the ASL error.
"""

from typing import Any


class PaymentDeclined(Exception):
    pass


class CourierUnavailable(Exception):
    pass


def reserve_inventory(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"reservationId": f"r-{event['orderId']}", "items": event.get("items", [])}


def authorize_payment(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("total", 0) > 1000:
        raise PaymentDeclined(f"card declined for {event['total']}")
    return {"authorizationId": f"a-{event['orderId']}", "idempotencyKey": context.idempotency_key}


def book_shipment(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("address") is None:
        raise CourierUnavailable("no address to ship to")
    return {"trackingNumber": f"t-{event['orderId']}"}


def refund_payment(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"refunded": event["payment"]["authorizationId"]}


def release_inventory(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"released": event["reservation"]["reservationId"]}
