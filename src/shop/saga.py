"""The order saga, declared once with Sagaway's saga builder. ``statemachines/order-saga.asl.json``
is this definition checked in (a test keeps the two equal)."""

from __future__ import annotations

from typing import Any

from sagaway import DeadLetter, RetryPolicy, Saga, lambda_arn
from shop.errors import TRANSIENT

SAGA_NAME = "OrderSaga"
STATE_MACHINE_ARN = f"arn:aws:states:us-east-1:111111111111:stateMachine:{SAGA_NAME}"
TRANSIENT_RETRY = RetryPolicy(TRANSIENT, interval_seconds=1, max_attempts=3, backoff_rate=2.0)
COURIER_RETRY = RetryPolicy(("CourierTimeout",), interval_seconds=1, max_attempts=2)
COMPENSATION_RETRY = RetryPolicy(("States.ALL",), interval_seconds=1, max_attempts=4)


PUT_EVENTS = "arn:aws:states:::events:putEvents"
PUBLISH_RETRY = RetryPolicy(("States.ALL",), interval_seconds=1, max_attempts=6)


class OrderSaga(Saga):
    """The saga with the steps that announce its outcome: ``OrderConfirmed`` after
    ConfirmOrder and ``OrderFailed`` after CancelOrder are ``events:putEvents`` Tasks, so
    the engine commits each event in its journal's outbox in the same transaction as the
    step that records it, and the journal's relay hands it to the bus (never an event for
    a step that was not journaled, nor a journaled step without its event)."""

    __slots__ = ()

    def to_definition(self) -> dict[str, Any]:
        definition = super().to_definition()
        states = definition["States"]
        _announce(states, "ConfirmOrder", "OrderConfirmed",
                  {"status": "CONFIRMED", "total.$": "$.order.total"})  # fmt: skip
        _announce(states, "CancelOrder", "OrderFailed",
                  {"status": "CANCELLED_COMPENSATED", "error.$": "$.error.Error"})  # fmt: skip
        return definition


def _announce(states: dict[str, Any], after: str, event: str, detail: dict[str, Any]) -> None:
    """Insert ``Publish<event>`` between the step ``after`` and the state it went to."""
    name = f"Publish{event}"
    entry = {"Source": "shop.orders", "DetailType": event,
             "Detail": {"orderId.$": "$.order.orderId", **detail}}  # fmt: skip
    states[name] = {"Type": "Task", "Resource": PUT_EVENTS, "Parameters": {"Entries": [entry]},
                    "ResultPath": None, "Retry": [PUBLISH_RETRY.to_asl()],
                    "Next": states[after]["Next"]}  # fmt: skip
    states[after]["Next"] = name


def order_saga() -> Saga:
    saga = OrderSaga(
        SAGA_NAME,
        comment="Order saga (DESIGN.md section 6): each step a local transaction in its own "
        "service; a failure compensates exactly the completed steps in reverse order; a step "
        "that exhausts its retries is dead-lettered and the order parks in NEEDS_REVIEW.",
        dead_letter=DeadLetter(lambda_arn("ParkOrder")),
        succeeded_state="OrderConfirmed",
        failed_state="OrderFailed",
        failed_error="OrderFailed",
    )
    for name, undo in [
        ("CreateOrder", "CancelOrder"),
        ("ReserveInventory", "ReleaseInventory"),
        ("AuthorizePayment", "RefundPayment"),
        ("BurnLoyaltyPoints", "RestoreLoyaltyPoints"),
    ]:
        saga.step(name, lambda_arn(name), compensation=undo, compensation_resource=lambda_arn(undo),
                  retry=[TRANSIENT_RETRY], compensation_retry=[COMPENSATION_RETRY])  # fmt: skip
    # Seed 001: a courier that keeps timing out is a failed order (compensate), not a parked one.
    saga.step("BookShipment", lambda_arn("BookShipment"), compensation="CancelShipment",
              compensation_resource=lambda_arn("CancelShipment"),
              retry=[TRANSIENT_RETRY, COURIER_RETRY], park_on=TRANSIENT,
              compensation_retry=[COMPENSATION_RETRY])  # fmt: skip
    # Past this point nothing is undone: any failure parks the order for an operator.
    for name in ("ConfirmOrder", "SendConfirmation"):
        saga.step(name, lambda_arn(name), retry=[TRANSIENT_RETRY], park_on=["States.ALL"])
    return saga


def resume_name(message: dict[str, Any]) -> str:
    """The execution that resumes a dead-lettered saga: ``<order>-redrive-<n>``, one more
    than the parked execution's own number, so a saga parked again after a redrive gets a new
    name next time, while a redelivered redrive event maps to the same one (started once)."""
    parked = str(message["execution"]).rsplit(":", 1)[-1]
    base, marker, number = parked.rpartition("-redrive-")
    if marker and number.isdigit():
        return f"{base}-redrive-{int(number) + 1}"
    return f"{parked}-redrive-1"
