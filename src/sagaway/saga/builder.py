"""Compile a saga (forward steps, each with a compensation and a retry policy) to plain ASL.

The output is an ordinary Step Functions definition that AWS would accept as it is: every
forward Task has a Catch that enters the compensation chain at the compensation of the last
step that *completed*, and each compensation's Next is the one before it, so exactly the
completed steps are undone, in reverse order. Errors a step retries and still gets after its
last attempt are not a business "no": they go to that step's dead-letter Task and the
execution ends in ``NeedsReview`` so an operator can look before anything is undone.

A leading Choice (``Resume``) lets a new execution start at any step with a saved document:
that is how a dead-lettered saga is redriven without re-running what already succeeded.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sagaway.saga.compile import compile_saga

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "111111111111"


def lambda_arn(name: str, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> str:
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """One ASL retrier."""

    errors: tuple[str, ...] = ("States.ALL",)
    interval_seconds: int = 1
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: int | None = None
    jitter: bool = False

    def to_asl(self) -> dict[str, Any]:
        retrier: dict[str, Any] = {
            "ErrorEquals": list(self.errors),
            "IntervalSeconds": self.interval_seconds,
            "MaxAttempts": self.max_attempts,
            "BackoffRate": self.backoff_rate,
        }
        if self.max_delay_seconds is not None:
            retrier["MaxDelaySeconds"] = self.max_delay_seconds
        if self.jitter:
            retrier["JitterStrategy"] = "FULL"
        return retrier


@dataclass(frozen=True, slots=True)
class SagaStep:
    """A forward step. ``park_on`` lists the errors that, once retries are spent, dead-letter
    the order instead of compensating (default: the errors the step retries)."""

    name: str
    resource: str
    compensation: str | None = None
    compensation_resource: str | None = None
    retry: tuple[RetryPolicy, ...] = ()
    park_on: tuple[str, ...] | None = None
    timeout_seconds: int | None = None
    compensation_retry: tuple[RetryPolicy, ...] = (RetryPolicy(max_attempts=4),)

    def parked_errors(self) -> list[str]:
        if self.park_on is not None:
            return list(self.park_on)
        return sorted({e for policy in self.retry for e in policy.errors} - {"States.ALL"})


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """The Task that records a parked step (its queue is ``<step>-dlq``)."""

    resource: str
    retry: RetryPolicy = RetryPolicy(max_attempts=6)
    state_suffix: str = "DeadLetter"


@dataclass(slots=True)
class Saga:
    name: str
    comment: str = ""
    dead_letter: DeadLetter | None = None
    succeeded_state: str = "SagaSucceeded"
    failed_state: str = "SagaCompensated"
    failed_error: str = "SagaCompensated"
    review_state: str = "NeedsReview"
    resumable: bool = True
    steps: list[SagaStep] = field(default_factory=list)

    def step(
        self,
        name: str,
        resource: str,
        *,
        compensation: str | None = None,
        compensation_resource: str | None = None,
        retry: Sequence[RetryPolicy] = (),
        park_on: Sequence[str] | None = None,
        timeout_seconds: int | None = None,
        compensation_retry: Sequence[RetryPolicy] | None = None,
    ) -> Saga:
        if compensation is not None and compensation_resource is None:
            raise ValueError(f"step {name}: a compensation needs a resource")
        extra = (
            {} if compensation_retry is None else {"compensation_retry": tuple(compensation_retry)}
        )
        self.steps.append(
            SagaStep(name, resource, compensation, compensation_resource, tuple(retry),
                     None if park_on is None else tuple(park_on), timeout_seconds, **extra)
        )  # fmt: skip
        return self

    def to_definition(self) -> dict[str, Any]:
        return compile_saga(self)

    def to_json(self) -> str:
        return json.dumps(self.to_definition(), indent=2) + "\n"
