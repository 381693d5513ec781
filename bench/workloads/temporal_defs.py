"""Workflow and activities of the order saga for Temporal (imported by temporal_saga.py).

A module of its own because Temporal's workflow sandbox re-imports the module that defines
a workflow; the script that drives the benchmark must not be that module.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    import harness as h

NO_RETRY = RetryPolicy(maximum_attempts=1)
TIMEOUT = timedelta(seconds=30)


def _make_activity(name: str) -> Any:
    @activity.defn(name=name)
    async def step(order: dict[str, Any]) -> dict[str, Any]:
        if name == h.FAIL_AT and order["fail"]:
            raise ApplicationError(
                f"{name} failed for {order['orderId']}", type="StepFailed", non_retryable=True
            )
        return h.noop_result(name, order)

    return step


ACTIVITIES = [_make_activity(s) for s in [*h.FORWARD, *h.COMPENSATION.values()]]


async def _call(name: str, order: dict[str, Any], local: bool) -> Any:
    if local:
        return await workflow.execute_local_activity(
            name, order, start_to_close_timeout=TIMEOUT, retry_policy=NO_RETRY
        )
    return await workflow.execute_activity(
        name, order, start_to_close_timeout=TIMEOUT, retry_policy=NO_RETRY
    )


@workflow.defn(name="OrderSaga")
class OrderSaga:
    @workflow.run
    async def run(self, order: dict[str, Any], local: bool) -> dict[str, Any]:
        done: list[str] = []
        results: dict[str, Any] = {}
        for name in h.FORWARD:
            try:
                results[name] = await _call(name, order, local)
            except ActivityError:
                for prev in reversed(done):
                    await _call(h.COMPENSATION[prev], order, local)
                raise ApplicationError(
                    "order cancelled and compensated", type="OrderCancelled", non_retryable=True
                )
            done.append(name)
        return results


@workflow.defn(name="WaitingSaga")
class WaitingSaga:
    @workflow.run
    async def run(self, order: dict[str, Any], local: bool) -> dict[str, Any]:
        if not workflow.unsafe.is_replaying():
            h.ARMED[0] += 1  # observed by the driver only, to know when all timers are armed
        await asyncio.sleep(3600)  # a durable timer, kept by the server
        return await _call("CreateOrder", order, local)
