"""ASL failures as values, and the Retry / Catch rules that decide what happens next."""

from __future__ import annotations

import random
from dataclasses import dataclass

from sagaway.asl.model import Catcher, Retrier

ALL = "States.ALL"
# States.ALL matches everything but States.Runtime (recorded AWS runs show it does catch
# States.DataLimitExceeded raised for an oversized Task result).
NOT_MATCHED_BY_ALL = frozenset({"States.Runtime"})
TASK_FAILED = "States.TaskFailed"
TIMEOUT = "States.Timeout"
# AWS reports a missed heartbeat as States.Timeout (the recorded histories and executions
# say so); the name States.HeartbeatTimeout exists only inside Retry and Catch.
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
# Errors States.TaskFailed stands for (it matches every error a Task itself reports,
# not the States.* errors the interpreter raises).
_INTERPRETER_ERRORS = frozenset(
    {
        "States.Runtime",
        "States.DataLimitExceeded",
        "States.QueryEvaluationError",
        "States.NoChoiceMatched",
        "States.ParameterPathFailure",
        "States.ResultPathMatchFailure",
        "States.IntrinsicFailure",
        "States.ExceedToleratedFailureThreshold",
        "States.BranchFailed",
        "States.ItemReaderFailed",
        "States.ResultWriterFailed",
    }
)


@dataclass(frozen=True, slots=True)
class Failure:
    """An ASL error: its name and optional cause (house rule 7: failures are values)."""

    error: str | None  # None: a Fail state or SendTaskFailure that names no error
    cause: str | None = None
    heartbeat: bool = False  # a missed heartbeat: Retry / Catch may name HEARTBEAT_TIMEOUT
    timed_out: bool = False  # a Task that ran out of time (or heartbeats)

    def as_output(self) -> dict[str, str | None]:
        """The error output a Catch hands on: ``{"Error": ..., "Cause": ...}``. A failure
        without an error name (SendTaskFailure with neither) hands both on as null, as AWS
        does; a timed-out Task's, which has no cause in its events, hands on an empty one
        (AWS's recorded runs)."""
        out: dict[str, str | None] = {"Error": self.error}
        if self.cause is not None or self.error is None:
            out["Cause"] = self.cause
        elif self.timed_out:
            out["Cause"] = ""
        return out


def matches(error_equals: tuple[str, ...], error: str | None, heartbeat: bool = False) -> bool:
    for name in error_equals:
        if name == error or (heartbeat and name == HEARTBEAT_TIMEOUT):
            return True
        if name == ALL and error not in NOT_MATCHED_BY_ALL:
            return True
        if name == TASK_FAILED and error not in _INTERPRETER_ERRORS and error != TIMEOUT:
            return True
    return False


def pick_retrier(
    retriers: tuple[Retrier, ...], error: str | None, heartbeat: bool = False
) -> int | None:
    """Index of the first retrier whose ErrorEquals names ``error``, as AWS picks it."""
    for i, retrier in enumerate(retriers):
        if matches(retrier.error_equals, error, heartbeat):
            return i
    return None


def pick_catcher(
    catchers: tuple[Catcher, ...], error: str | None, heartbeat: bool = False
) -> Catcher | None:
    for catcher in catchers:
        if matches(catcher.error_equals, error, heartbeat):
            return catcher
    return None


def retry_delay(retrier: Retrier, attempt: int, seed: int) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based), with AWS's backoff,
    MaxDelaySeconds cap and FULL jitter (seeded: the interpreter stays deterministic)."""
    delay = retrier.interval_seconds * (retrier.backoff_rate**attempt)
    if retrier.max_delay_seconds is not None:
        delay = min(delay, retrier.max_delay_seconds)
    if retrier.jitter_strategy == "FULL":
        delay = random.Random(seed).uniform(0, delay)
    return float(delay)
